// Exactly-once past pruning and a savepoint per change, on PostgreSQL, in a schema of its own per
// test (dropped after).
import { randomBytes } from 'node:crypto';
import { afterAll, describe } from 'vitest';
import {
  createPostgresSyncStore,
  dropPostgresSchema,
} from '../../packages/server/src/store/postgres/postgres-sync-store.js';
import { pgSkipReason, testPgUrl } from '../../packages/server/src/testing/env.js';
import { runPushExactlyOnceSuite } from '../../packages/server/src/testing/push-exactly-once-suite.js';

const schemas: string[] = [];

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'exactly-once pushes (PostgreSQL)' : `exactly-once pushes (skipped: ${pgSkipReason})`,
  () => {
    afterAll(async () => {
      for (const schema of schemas) await dropPostgresSchema(testPgUrl ?? '', schema);
    });
    runPushExactlyOnceSuite('PostgreSQL', () => {
      const schema = `syncline_once_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return createPostgresSyncStore({ url: testPgUrl ?? '', schema, max: 4 });
    });
  },
);
