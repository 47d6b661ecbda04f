// Migration 0005 on PostgreSQL (a schema of its own, dropped afterwards), on a database that
// already holds seed 003's operations.
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../testing/env.js';
import { runOfflineIdsMigrationSuite } from '../../testing/offline-ids-migration-suite.js';
import { createPostgresSyncStore, dropPostgresSchema } from '../index.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    const url = testPgUrl ?? '';
    runOfflineIdsMigrationSuite('0005_offline_queue_ids on PostgreSQL', async () => {
      const schema = `syncline_0005_${randomBytes(5).toString('hex')}`;
      const store = await createPostgresSyncStore({ url, schema, max: 2, migrate: false });
      return {
        store,
        migrationTableSchema: schema,
        async dispose() {
          await store.close();
          await dropPostgresSchema(url, schema);
        },
      };
    });
  },
);
