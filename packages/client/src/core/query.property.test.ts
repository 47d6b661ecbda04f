// Property: find({ where, orderBy, limit, offset }) equals a naive filter and sort over every
// entity find() returns, for confirmed rows (answered from the storage's indexes) mixed with
// queued local changes (judged on their rebased view), in memory and in a SQLite file. The seed
// is printed; replay with FC_SEED.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '@syncline/protocol';

type JsonValue = JsonObject[string];
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStorage } from '../store/index.js';
import { sqliteStorage } from '../store/sqlite/sqlite-store.js';
import type { LocalStore } from './ports.js';
import type { FieldCondition, Query } from './query.js';
import { SyncCore, type Entity } from './sync-client.js';
import type { Transport } from './sync-ports.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-query-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const never: Transport = {
  push: () => Promise.reject(new Error('offline')),
  delta: () => Promise.reject(new Error('offline')),
};

// ---- the naive model, written apart from core/query.ts ---------------------------------------
type Scalar = string | number | boolean | null;
const scalar = (v: unknown): Scalar =>
  v === null || ['string', 'boolean'].includes(typeof v) || (typeof v === 'number' && isFinite(v))
    ? (v as Scalar)
    : null;
const rank = (v: Scalar) =>
  v === null ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'number' ? 2 : 3;
const compare = (a: Scalar, b: Scalar) =>
  rank(a) - rank(b) || (a === b ? 0 : (a as never) < (b as never) ? -1 : 1);
const holds = (condition: FieldCondition, v: Scalar): boolean => {
  if (condition === null || typeof condition !== 'object') return compare(condition, v) === 0;
  if ('eq' in condition) return compare(condition.eq, v) === 0;
  if ('in' in condition) return condition.in.some((x) => compare(x, v) === 0);
  const { gt, gte, lt, lte } = condition;
  const kind = typeof (gt ?? gte ?? lt ?? lte);
  if (typeof v !== kind) return false;
  const n = v as number | string;
  return (
    (gt === undefined || n > gt) &&
    (gte === undefined || n >= gte) &&
    (lt === undefined || n < lt) &&
    (lte === undefined || n <= lte)
  );
};
function naive(all: Array<Entity<JsonObject>>, query: Query): string[] {
  const field = (item: JsonObject, name: string) => scalar(item[name]);
  const kept = all.filter((item) =>
    Object.entries(query.where ?? {}).every(([name, c]) => holds(c, field(item, name))),
  );
  const order = typeof query.orderBy === 'string' ? { field: query.orderBy } : query.orderBy;
  kept.sort((a, b) => {
    const c =
      (order ? compare(field(a, order.field), field(b, order.field)) : 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return order?.direction === 'desc' ? -c : c;
  });
  const start = query.offset ?? 0;
  return kept
    .slice(start, query.limit === undefined ? undefined : start + query.limit)
    .map((item) => item.id);
}

// ---- generators -------------------------------------------------------------------------------
const value: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom('a', 'b', 'ab', ''),
  fc.constant({ nested: 1 }),
);
const data = fc
  .record({ f: value, g: value, note: fc.string({ maxLength: 3 }) })
  .map((d) => JSON.parse(JSON.stringify(d)) as JsonObject);
const slot = fc.integer({ min: 0, max: 9 });
const local = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), slot, data }),
  fc.record({ kind: fc.constant('update' as const), slot, data }),
  fc.record({ kind: fc.constant('delete' as const), slot }),
);
const bound = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.constantFrom('a', 'ab', 'b'));
const condition: fc.Arbitrary<FieldCondition> = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, 'a', 'b'),
  fc.record({ in: fc.array(fc.constantFrom(null, true, 0, 2, 'a', 'ab'), { maxLength: 3 }) }),
  bound.chain((b) =>
    fc
      .record(
        {
          gt: fc.constant(b),
          lte: typeof b === 'number' ? fc.integer({ min: b, max: 3 }) : fc.constant('c'),
        },
        { requiredKeys: [] },
      )
      .filter((r) => Object.keys(r).length > 0),
  ),
  bound.map((b) => ({ gte: b })),
);
const query: fc.Arbitrary<Query> = fc
  .record(
    {
      where: fc.record({ f: condition, g: condition }, { requiredKeys: [] }),
      orderBy: fc.oneof(
        fc.constantFrom('f', 'g'),
        fc.record({ field: fc.constantFrom('f', 'g'), direction: fc.constantFrom('asc', 'desc') }),
      ) as fc.Arbitrary<Query['orderBy']>,
      limit: fc.integer({ min: 0, max: 5 }),
      offset: fc.integer({ min: 0, max: 3 }),
    },
    { requiredKeys: ['where'] },
  )
  .map((q) => q as Query);

let files = 0;
const storages: Record<string, () => LocalStore> = {
  memory: () => memoryStorage(),
  sqlite: () => sqliteStorage(join(dir, `q-${(files += 1)}.db`)),
};

describe.each(Object.keys(storages))('find(query) over %s', (name) => {
  it('equals a naive filter, sort and page over every entity', async () => {
    const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`find(query) property (${name}): seed ${seed} (replay with FC_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(slot, data), { maxLength: 10 }),
        fc.array(local, { maxLength: 8 }),
        fc.array(query, { minLength: 1, maxLength: 4 }),
        async (confirmed, changes, queries) => {
          const storage = storages[name]!();
          // Confirmed rows written as a pull would, before any index was declared: the core
          // indexes them on open.
          await storage.write(
            confirmed.map(([s, d]) => ({
              kind: 'putEntity',
              row: {
                type: 'item',
                id: `e${s}`,
                version: 1,
                deleted: false,
                body: JSON.stringify(d),
              },
            })),
          );
          let counter = 0;
          const core = await SyncCore.open({
            storage,
            transport: never,
            deviceId: 'd',
            batchSize: 10,
            pullPageSize: 10,
            maxAttempts: 5,
            maxBatchBytes: 1 << 20,
            collections: { item: { indexes: ['f', 'g'] } },
            newId: () => `m-${(counter += 1)}`,
            now: () => new Date('2026-01-01T00:00:00Z'),
            events: { change: () => undefined, conflict: () => undefined, counts: () => undefined },
          });
          try {
            const items = core.collection('item');
            for (const change of changes) {
              const id = `e${change.slot}`;
              await (
                change.kind === 'create'
                  ? items.create(change.data, { id })
                  : change.kind === 'update'
                    ? items.update(id, change.data)
                    : items.delete(id)
              ).catch(() => undefined);
            }
            const all = await items.find();
            for (const q of queries) {
              expect((await items.find(q)).map((item) => item.id)).toEqual(naive(all, q));
            }
          } finally {
            core.close();
            await storage.close();
          }
        },
      ),
      { seed, numRuns: 60 },
    );
  });
});
