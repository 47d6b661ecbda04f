// A push of a full batch on PostgreSQL is a fixed handful of round trips, whatever its size: what
// a push there waits on is the network, not the statements' work. Counted at the pg client.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitsDefaults, type Change } from '@syncline/protocol';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';
import type { SyncEngine } from '../../packages/server/src/engine/engine-api.js';
import { createSyncEngine } from '../../packages/server/src/engine/sync-engine.js';
import { createSchemaCompiler } from '../../packages/server/src/http/ajv-schema-compiler.js';
import type { KyselySyncStore } from '../../packages/server/src/store/kysely-sync-store.js';
import {
  createPostgresSyncStore,
  dropPostgresSchema,
} from '../../packages/server/src/store/postgres/postgres-sync-store.js';
import { pgSkipReason, testPgUrl } from '../../packages/server/src/testing/env.js';
import { testCrypto, userOf } from './engine-fixture.js';

/** Runs `fn`, answering how many queries every pg client sent meanwhile. */
async function countQueries(fn: () => Promise<unknown>): Promise<number> {
  const query = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    count++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await fn();
  } finally {
    pg.Client.prototype.query = query;
  }
  return count;
}

const batch = limitsDefaults.maxChangesPerBatch;
const changes = (from: number, operation: Change['operation']): Change[] =>
  Array.from({ length: batch }, (_, i) => ({
    mutationId: `${operation}-${from + i}`,
    seq: from + i + 1,
    entityType: 'thing',
    entityId: `thing-${i}`,
    operation,
    clientVersion: 1,
    timestamp: new Date().toISOString(),
    payload: { n: from + i },
  }));

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'push round trips (PostgreSQL)' : `push round trips (skipped: ${pgSkipReason})`,
  () => {
    const schema = `syncline_trips_${randomBytes(6).toString('hex')}`;
    let store: KyselySyncStore;
    let engine: SyncEngine;

    beforeAll(async () => {
      store = await createPostgresSyncStore({ url: testPgUrl ?? '', schema, max: 2 });
      engine = createSyncEngine({
        store,
        collections: createCollectionRegistry({
          presets: false,
          collections: { thing: { schema: { type: 'object' } } },
        }),
        compileSchema: createSchemaCompiler(),
        crypto: testCrypto,
      });
    });
    afterAll(async () => {
      await store.close();
      await dropPostgresSchema(testPgUrl ?? '', schema);
    });

    it('creates and then updates a full batch in 14 round trips each', async () => {
      const push = (sent: Change[]) =>
        engine.push(userOf('u1'), { deviceId: 'tablet', changes: sent, omitOwnChanges: true });
      // begin, tenant lock, device, mark, savepoint, mutation keys, entities, the batch's writes,
      // release, mark raised, feed, device, sync history, commit; the first push also creates
      // the tenant row (insert, lock again).
      for (const [from, operation, most] of [
        [0, 'CREATE', 16],
        [batch, 'UPDATE', 14],
      ] as const) {
        let statuses: string[] = [];
        const trips = await countQueries(async () => {
          statuses = (await push(changes(from, operation))).results.map((r) => r.status);
        });
        expect(new Set(statuses)).toEqual(new Set(['APPLIED']));
        expect(trips).toBeLessThanOrEqual(most);
      }
      const feed = await store.forTenant('t').readFeed({ afterSeq: 0, limit: 3 * batch });
      expect(feed).toHaveLength(2 * batch);
      expect(feed.at(-1)).toMatchObject({ seq: 2 * batch, version: 2 });
    });
  },
);
