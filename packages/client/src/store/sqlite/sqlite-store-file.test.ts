// What the SQLite adapter promises about its file, beyond the LocalStore contract.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStorage } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-client-sqlite-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqliteStorage file', () => {
  it('journals in WAL mode and commits each write before it resolves, seen by another connection', async () => {
    const path = join(dir, 'wal.db');
    const store = sqliteStorage(path);
    await store.write([
      {
        kind: 'putEntity',
        row: { type: 'task', id: 't1', version: 1, deleted: false, body: '{}' },
      },
    ]);
    const other = new BetterSqlite3(path, { readonly: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(other.prepare('SELECT id FROM entities').all()).toEqual([{ id: 't1' }]);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('refuses a file written by a newer schema with a clear error', () => {
    const path = join(dir, 'newer.db');
    const db = new BetterSqlite3(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => sqliteStorage(path)).toThrow(/schema 99.*reads schema 1/);
  });
});
