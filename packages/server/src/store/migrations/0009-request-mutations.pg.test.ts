// Migration 0009 on PostgreSQL (a schema of its own, dropped afterwards), on a database that
// already holds seed 003's operations and changes.
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../testing/env.js';
import { runRequestMutationsMigrationSuite } from '../../testing/request-mutations-migration-suite.js';
import { createPostgresSyncStore, dropPostgresSchema } from '../index.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    const url = testPgUrl ?? '';
    runRequestMutationsMigrationSuite('0009_request_mutations on PostgreSQL', async () => {
      const schema = `syncline_0009_${randomBytes(5).toString('hex')}`;
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
