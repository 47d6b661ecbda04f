// The seed endpoints' queue reads use the 0002 indexes (SQLite's query plan names them).
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteSyncStore, type KyselySyncStore } from '../index.js';

let store: KyselySyncStore | undefined;
afterEach(async () => {
  await store?.close();
});

async function planOf(query: string): Promise<string> {
  const rows = await sql.raw<{ detail: string }>(`explain query plan ${query}`).execute(store!.db);
  return rows.rows.map((r) => r.detail).join('\n');
}

describe('0002_attendance_healthcare', () => {
  it('serves counts per user and status, and queue ids, from indexes', async () => {
    store = await createSqliteSyncStore({ file: ':memory:' });
    expect(
      await planOf(
        "select status, count(*) from mutations where tenant = 't' and user_id = 'u' group by status",
      ),
    ).toContain('mutations_user_status_idx');
    expect(
      await planOf("select * from mutations where tenant = 't' and mutation_id in ('x')"),
    ).toContain('mutations_id_idx');
  });
});
