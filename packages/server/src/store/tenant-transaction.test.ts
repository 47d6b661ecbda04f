// The one tenant-transaction rule on SQLite: every writer of the store (sync writes, offline
// operations, pruning) holds SQLite's write lock from BEGIN to COMMIT, so another process (e.g.
// `syncline migrate`) waits instead of slipping a write in between a read and a write.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { offlineConfigDefaults } from '../replay/policy.js';
import { createKyselyOfflineOperationStore } from './kysely-offline-operation-store.js';
import type { KyselySyncStore } from './kysely-sync-store.js';
import { createSqliteSyncStore } from './sqlite/sqlite-sync-store.js';

let dir: string;
let file: string;
let store: KyselySyncStore;
let other: BetterSqlite3.Database;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncline-tenant-tx-'));
  file = join(dir, 'syncline.db');
  store = await createSqliteSyncStore({ file });
  // Another connection, as another process would have: it must not get the write lock.
  other = new BetterSqlite3(file);
  other.pragma('busy_timeout = 0');
  // The tenant row exists, so no writer below needs to write to take its lock.
  await store.forTenant('shop').transact(async () => undefined);
});

afterEach(async () => {
  other.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Whether another connection could begin a write right now. */
function otherCanWrite(): boolean {
  try {
    other.exec('begin immediate');
    other.exec('rollback');
    return true;
  } catch (error) {
    expect((error as { code?: string }).code).toBe('SQLITE_BUSY');
    return false;
  }
}

describe('the tenant transaction on SQLite', () => {
  it('holds the write lock from the start in sync, offline-operation and pruning writers', async () => {
    expect(otherCanWrite()).toBe(true);
    const seen: Record<string, boolean> = {};
    await store.forTenant('shop').transact(async () => {
      seen.sync = otherCanWrite();
    });
    await createKyselyOfflineOperationStore(store)
      .forTenant('shop')
      .transact(async () => {
        seen.offline = otherCanWrite();
      });
    await store.inTenantTransaction('shop', { createTenant: false }, async (_conn, locked) => {
      expect(locked).toEqual({ seq: 0, epoch: 0, prunedSeq: 0 });
      seen.maintenance = otherCanWrite();
    });
    expect(seen).toEqual({ sync: false, offline: false, maintenance: false });
    expect(otherCanWrite()).toBe(true);
  });

  it('rolls back what a failing writer wrote and releases the lock', async () => {
    const offline = createKyselyOfflineOperationStore(store).forTenant('shop');
    await expect(
      offline.transact(async (tx) => {
        await tx.putConfig({ ...offlineConfigDefaults, updatedAt: null, updatedBy: null });
        throw new Error('refused half-way');
      }),
    ).rejects.toThrow('refused half-way');
    expect(await offline.getConfig()).toBeUndefined();
    expect(otherCanWrite()).toBe(true);
  });

  it('without a tenant row, maintenance runs without creating one', async () => {
    const answer = await store.inTenantTransaction(
      'nobody',
      { createTenant: false },
      async (_conn, locked) => locked ?? 'no row',
    );
    expect(answer).toBe('no row');
    expect(await store.forTenant('nobody').getTenantState()).toMatchObject({ seq: 0 });
    const rows = other.prepare('select count(*) as n from tenants where tenant = ?').get('nobody');
    expect(rows).toEqual({ n: 0 });
  });
});
