// Offline operations replayed against a real upstream, on PostgreSQL, in a schema of its own
// (dropped afterwards): the tenant-row lock is what keeps concurrent claims and queueing apart.
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../testing/env.js';
import { runOfflineReplaySuite } from '../testing/offline-replay-suite.js';
import { createPostgresSyncStore, dropPostgresSchema } from '../store/index.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    const url = testPgUrl ?? '';
    runOfflineReplaySuite('request replay on PostgreSQL', async () => {
      const schema = `syncline_replay_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
      const store = await createPostgresSyncStore({ url, schema, max: 4 });
      return {
        store,
        async dispose() {
          await store.close();
          await dropPostgresSchema(url, schema);
        },
      };
    });
  },
);
