// Migration 0009 on SQLite, on a database that already holds seed 003's operations and changes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRequestMutationsMigrationSuite } from '../../testing/request-mutations-migration-suite.js';
import { createSqliteSyncStore } from '../index.js';

runRequestMutationsMigrationSuite('0009_request_mutations on SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'syncline-0009-'));
  const store = await createSqliteSyncStore({ file: join(dir, 'syncline.db'), migrate: false });
  return {
    store,
    async dispose() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
