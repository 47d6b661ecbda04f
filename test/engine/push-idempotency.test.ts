// Property: however often and in whatever order batches are re-delivered, each mutation is applied
// at most once, repeats answer DUPLICATE with the first outcome, and versions and the feed stay dense.
import fc from 'fast-check';
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Change } from '@syncline/protocol';
import { createSqliteSyncStore } from '../../packages/server/src/store/index.js';
import type { Actor } from '../../packages/server/src/engine/actor.js';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';
import type { SyncStore } from '../../packages/server/src/engine/ports.js';
import { createSyncEngine } from '../../packages/server/src/engine/sync-engine.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647);
console.log(`push idempotency properties: fast-check seed ${seed}`);

const crypto = {
  sha256Hex: (text: string) => createHash('sha256').update(text).digest('hex'),
  newId: () => randomUUID(),
};
const actor: Actor = { tenant: 't', userId: 'u', role: 'user', claims: {} };
const stores: SyncStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

const changeArb = fc.record({
  entityId: fc.constantFrom('e1', 'e2', 'e3'),
  operation: fc.constantFrom('CREATE', 'UPDATE', 'UPDATE', 'DELETE'),
  clientVersion: fc.integer({ min: 1, max: 4 }),
  value: fc.integer({ min: 0, max: 3 }),
  conflictStrategy: fc.constantFrom(
    'SERVER_WINS',
    'CLIENT_WINS',
    'LAST_WRITE_WINS',
    'MERGE',
    'MANUAL',
  ),
});

describe('push idempotency', () => {
  it('applies each mutation at most once under any re-delivery', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(changeArb, { minLength: 1, maxLength: 5 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        async (batchSpecs, deliveryPicks) => {
          const store = await createSqliteSyncStore({ file: ':memory:' });
          stores.push(store);
          const engine = createSyncEngine({
            store,
            collections: createCollectionRegistry({ presets: false }),
            compileSchema: () => () => [],
            crypto,
          });
          let n = 0;
          const batches = batchSpecs.map((specs) =>
            specs.map((s): Change => ({
              mutationId: `m${++n}`,
              entityType: 'thing',
              entityId: s.entityId,
              operation: s.operation as Change['operation'],
              clientVersion: s.operation === 'CREATE' ? 1 : s.clientVersion,
              timestamp: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
              conflictStrategy: s.conflictStrategy as NonNullable<Change['conflictStrategy']>,
              ...(s.operation === 'DELETE' ? {} : { payload: { [`f${s.value}`]: n } }),
            })),
          );
          // Every batch is delivered once in order, then random batches again.
          const deliveries = [...batches.keys(), ...deliveryPicks.map((p) => p % batches.length)];
          const first = new Map<string, string>();
          for (const index of deliveries) {
            const response = await engine.push(actor, {
              deviceId: 'd1',
              changes: batches[index] ?? [],
            });
            for (const result of response.results) {
              const earlier = first.get(result.mutationId);
              if (earlier === undefined) first.set(result.mutationId, result.status);
              else if (earlier !== 'REJECTED') {
                expect(result.status).toBe('DUPLICATE');
                expect(result.originalStatus).toBe(earlier);
              }
            }
          }
          const feed = await store.forTenant('t').readFeed({ afterSeq: 0, limit: 10_000 });
          expect(feed.map((row) => row.seq)).toEqual(feed.map((_, i) => i + 1));
          const perMutation = new Map<string, number>();
          for (const row of feed)
            if (row.mutationId)
              perMutation.set(row.mutationId, (perMutation.get(row.mutationId) ?? 0) + 1);
          expect([...perMutation.values()].every((count) => count === 1)).toBe(true);
          for (const id of ['e1', 'e2', 'e3']) {
            const versions = feed.filter((row) => row.entityId === id).map((row) => row.version);
            expect(versions).toEqual(versions.map((_, i) => i + 1));
            const entity = await store.forTenant('t').getEntity('thing', id);
            expect(entity?.version ?? 0).toBe(versions.length);
          }
        },
      ),
      { seed, numRuns: 60 },
    );
  });
});
