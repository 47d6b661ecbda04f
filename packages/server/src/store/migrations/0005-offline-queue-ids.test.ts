// Migration 0005 on SQLite, on a database that already holds seed 003's operations.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOfflineIdsMigrationSuite } from '../../testing/offline-ids-migration-suite.js';
import { createSqliteSyncStore } from '../index.js';

runOfflineIdsMigrationSuite('0005_offline_queue_ids on SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'syncline-0005-'));
  const store = await createSqliteSyncStore({ file: join(dir, 'syncline.db'), migrate: false });
  return {
    store,
    async dispose() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
