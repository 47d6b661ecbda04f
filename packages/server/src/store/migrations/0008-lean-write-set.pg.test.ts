// Migration 0008 on PostgreSQL (a schema of its own, dropped afterwards), on a database that
// already holds entities and mutations.
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../testing/env.js';
import { runLeanWriteSetMigrationSuite } from '../../testing/lean-write-set-migration-suite.js';
import { createPostgresSyncStore, dropPostgresSchema } from '../index.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    const url = testPgUrl ?? '';
    runLeanWriteSetMigrationSuite('0008_lean_write_set on PostgreSQL', async () => {
      const schema = `syncline_0008_${randomBytes(5).toString('hex')}`;
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
