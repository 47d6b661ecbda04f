// Seed 003's requests beside the engine's changes in PostgreSQL's mutations table, in a schema
// of its own per run (dropped afterwards).
import { randomBytes } from 'node:crypto';
import { afterAll, describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../testing/env.js';
import { runRequestMutationsSuite } from '../testing/request-mutations-suite.js';
import { createPostgresSyncStore, dropPostgresSchema } from './postgres/postgres-sync-store.js';

const schema = `syncline_requests_${randomBytes(5).toString('hex')}`;

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    afterAll(() => dropPostgresSchema(testPgUrl ?? '', schema));
    runRequestMutationsSuite('PostgreSQL', () =>
      createPostgresSyncStore({ url: testPgUrl ?? '', schema, max: 2 }),
    );
  },
);
