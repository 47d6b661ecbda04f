// Each background job's effect on PostgreSQL, in a schema of its own per test (dropped after).
import { randomBytes } from 'node:crypto';
import { afterAll, describe } from 'vitest';
import {
  createPostgresSyncStore,
  dropPostgresSchema,
} from '../store/postgres/postgres-sync-store.js';
import { pgSkipReason, testPgUrl } from '../testing/env.js';
import { runMaintenanceSuite } from '../testing/maintenance-suite.js';

const schemas: string[] = [];

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'background jobs (PostgreSQL)' : `background jobs (skipped: ${pgSkipReason})`,
  () => {
    afterAll(async () => {
      for (const schema of schemas) await dropPostgresSchema(testPgUrl ?? '', schema);
    });
    runMaintenanceSuite('PostgreSQL', () => {
      const schema = `syncline_jobs_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return createPostgresSyncStore({ url: testPgUrl ?? '', schema, max: 4 });
    });
  },
);
