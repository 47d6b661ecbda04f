// The set-based push path decides exactly as one change at a time would: a batch's changes to one
// entity see each other, repeats inside a batch answer DUPLICATE, conflicts resolve the same, and
// the feed, entities and commit events come out as if each change had been pushed on its own.
import fc from 'fast-check';
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Change, ChangeResult } from '@syncline/protocol';
import type { Actor } from '../../packages/server/src/engine/actor.js';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';
import type { CommitEvent } from '../../packages/server/src/engine/commit-events.js';
import type { SyncStore } from '../../packages/server/src/engine/ports.js';
import { createSyncEngine } from '../../packages/server/src/engine/sync-engine.js';
import { createSqliteSyncStore } from '../../packages/server/src/store/index.js';
import { faultyCheckerEngine } from './engine-fixture.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647);
console.log(`push batch properties: fast-check seed ${seed}`);

const crypto = {
  sha256Hex: (text: string) => createHash('sha256').update(text).digest('hex'),
  newId: () => randomUUID(),
};
const actor: Actor = { tenant: 't', userId: 'u', role: 'user', claims: { sites: ['a', 'b'] } };
const stores: SyncStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function newEngine(events: CommitEvent[] = []) {
  const store = await createSqliteSyncStore({ file: ':memory:' });
  stores.push(store);
  const engine = createSyncEngine({
    store,
    collections: createCollectionRegistry({
      presets: false,
      collections: { thing: { access: { field: 'site', claim: 'sites' } } },
    }),
    compileSchema: () => () => [],
    crypto,
    onCommitted: (event) => events.push(event),
  });
  return { store, engine };
}

const changeArb = fc.record({
  entityId: fc.constantFrom('e1', 'e2'),
  operation: fc.constantFrom('CREATE', 'UPDATE', 'UPDATE', 'DELETE'),
  clientVersion: fc.integer({ min: 1, max: 4 }),
  value: fc.integer({ min: 0, max: 2 }),
  site: fc.constantFrom('a', 'b'),
  repeat: fc.integer({ min: 0, max: 5 }),
  conflictStrategy: fc.constantFrom('SERVER_WINS', 'CLIENT_WINS', 'LAST_WRITE_WINS', 'MERGE'),
});

/** What a result says, without the conflict's server-made id. */
const outcome = ({ conflictId, ...rest }: ChangeResult) => ({ ...rest, conflict: !!conflictId });

async function stateOf(store: SyncStore) {
  const tenant = store.forTenant('t');
  const feed = await tenant.readFeed({ afterSeq: 0, limit: 10_000 });
  const entities = await Promise.all(['e1', 'e2'].map((id) => tenant.getEntity('thing', id)));
  return {
    feed: feed.map((r) => [r.seq, r.entityId, r.version, r.operation, r.payload, r.mutationId]),
    entities: entities.map((e) => e && [e.version, e.payload, e.deletedAt !== null, e.seq]),
    mutations: (await tenant.listMutations({ limit: 1000 })).map((m) => [
      m.mutationId,
      m.status,
      m.attempts,
    ]),
  };
}

/** An engine whose checker throws on a `boom` payload, on its own in-memory store. */
async function faultyEngine() {
  const store = await createSqliteSyncStore({ file: ':memory:' });
  stores.push(store);
  const logged: object[] = [];
  return { store, engine: faultyCheckerEngine(store, logged), logged };
}

/** A `thing` change of device d1's, a CREATE of { n: 1 } unless `over` says otherwise. */
const thingChange = (mutationId: string, entityId: string, over: Partial<Change>): Change => ({
  mutationId,
  entityType: 'thing',
  entityId,
  operation: 'CREATE',
  clientVersion: 1,
  timestamp: new Date(Date.UTC(2026, 0, 1)).toISOString(),
  payload: { n: 1 },
  ...over,
});

describe('set-based push', () => {
  it('decides a batch exactly as the same changes pushed one at a time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(changeArb, { minLength: 1, maxLength: 12 }), async (specs) => {
        let n = 0;
        const changes = specs.map((s): Change => {
          n++;
          // A repeat reuses an earlier change's key (and so is that change again).
          const id = s.repeat > 0 && s.repeat < n ? s.repeat : n;
          return {
            mutationId: `m${id}`,
            entityType: 'thing',
            entityId: s.entityId,
            operation: s.operation as Change['operation'],
            clientVersion: s.operation === 'CREATE' ? 1 : s.clientVersion,
            timestamp: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
            conflictStrategy: s.conflictStrategy as NonNullable<Change['conflictStrategy']>,
            ...(s.operation === 'DELETE' ? {} : { payload: { site: s.site, [`f${s.value}`]: n } }),
          };
        });
        const batchEvents: CommitEvent[] = [];
        const singleEvents: CommitEvent[] = [];
        const batched = await newEngine(batchEvents);
        const single = await newEngine(singleEvents);
        const together = await batched.engine.push(actor, { deviceId: 'd1', changes });
        const apart: ChangeResult[] = [];
        for (const change of changes) {
          const response = await single.engine.push(actor, { deviceId: 'd1', changes: [change] });
          apart.push(...response.results);
        }
        expect(together.results.map(outcome)).toEqual(apart.map(outcome));
        expect(await stateOf(batched.store)).toEqual(await stateOf(single.store));
        const changed = (events: CommitEvent[]) =>
          events.flatMap((e) => (e.kind === 'changes' ? e.changes : []));
        expect(changed(batchEvents)).toEqual(changed(singleEvents));
      }),
      { seed, numRuns: 80 },
    );
  });

  it('lets later changes in a batch build on earlier ones to the same entity', async () => {
    const { store, engine } = await newEngine();
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
    const response = await engine.push(actor, {
      deviceId: 'd1',
      changes: [
        {
          mutationId: 'c',
          entityType: 'thing',
          entityId: 'x',
          operation: 'CREATE',
          clientVersion: 1,
          timestamp: at(1),
          payload: { site: 'a', n: 1 },
        },
        {
          mutationId: 'u1',
          entityType: 'thing',
          entityId: 'x',
          operation: 'UPDATE',
          clientVersion: 1,
          timestamp: at(2),
          payload: { n: 2 },
        },
        {
          mutationId: 'u2',
          entityType: 'thing',
          entityId: 'x',
          operation: 'UPDATE',
          clientVersion: 2,
          timestamp: at(3),
          payload: { m: 3 },
        },
        {
          mutationId: 'u1',
          entityType: 'thing',
          entityId: 'x',
          operation: 'UPDATE',
          clientVersion: 1,
          timestamp: at(2),
          payload: { n: 2 },
        },
        {
          mutationId: 'd',
          entityType: 'thing',
          entityId: 'x',
          operation: 'DELETE',
          clientVersion: 3,
          timestamp: at(4),
        },
      ],
    });
    expect(response.results.map((r) => [r.status, r.version])).toEqual([
      ['APPLIED', 1],
      ['APPLIED', 2],
      ['APPLIED', 3],
      ['DUPLICATE', 2],
      ['APPLIED', 4],
    ]);
    const history = await store.forTenant('t').listHistory('thing', 'x');
    expect(history.map((h) => [h.version, h.payload])).toEqual([
      [4, null],
      [3, { site: 'a', n: 2, m: 3 }],
      [2, { site: 'a', n: 2 }],
      [1, { site: 'a', n: 1 }],
    ]);
  });

  it('fails a change whose decision throws alone, discarding only its buffered writes', async () => {
    const { store, engine, logged } = await faultyEngine();
    const response = await engine.push(actor, {
      deviceId: 'd1',
      changes: [
        thingChange('c1', 'a', {}),
        thingChange('c2', 'b', {}),
        thingChange('u1', 'a', { operation: 'UPDATE', payload: { boom: true } }),
        thingChange('u2', 'b', { operation: 'UPDATE', payload: { n: 2 } }),
      ],
    });
    expect(response.results.map((r) => [r.status, r.error?.code ?? r.version])).toEqual([
      ['APPLIED', 1],
      ['APPLIED', 1],
      ['REJECTED', 'CHANGE_FAILED'],
      ['APPLIED', 2],
    ]);
    const tenant = store.forTenant('t');
    const feed = await tenant.readFeed({ afterSeq: 0, limit: 10 });
    expect(feed.map((r) => [r.seq, r.entityId, r.version])).toEqual([
      [1, 'a', 1],
      [2, 'b', 1],
      [3, 'b', 2],
    ]);
    expect((await tenant.getEntity('thing', 'a'))?.payload).toEqual({ n: 1 });
    expect(await tenant.getMutation('d1', 'u1')).toBeUndefined();
    expect(logged).toEqual([expect.objectContaining({ mutationId: 'u1', deviceId: 'd1' })]);
  });

  it('fails a queue re-run that throws alone: the others apply, its attempt is kept', async () => {
    const { store, engine, logged } = await faultyEngine();
    // Updates of things not there yet are refused and kept FAILED for a retry.
    const early = await engine.push(actor, {
      deviceId: 'd1',
      changes: [
        thingChange('u1', 'a', { operation: 'UPDATE', payload: { boom: true } }),
        thingChange('u2', 'b', { operation: 'UPDATE', payload: { n: 2 } }),
      ],
    });
    expect(early.results.map((r) => r.status)).toEqual(['REJECTED', 'REJECTED']);
    await engine.push(actor, {
      deviceId: 'd1',
      changes: [thingChange('c1', 'a', {}), thingChange('c2', 'b', {})],
    });

    // The re-run of u1 reaches the checker's bug; u2's re-run applies all the same.
    const retried = await engine.retryQueue(actor, { deviceId: 'd1' });
    const byId = new Map(retried.results.map((r) => [r.mutationId, r]));
    expect(byId.get('u1')).toMatchObject({ status: 'REJECTED', error: { code: 'CHANGE_FAILED' } });
    expect(byId.get('u2')).toMatchObject({ status: 'APPLIED', version: 2 });
    const tenant = store.forTenant('t');
    expect((await tenant.getEntity('thing', 'a'))?.payload).toEqual({ n: 1 });
    expect((await tenant.getEntity('thing', 'b'))?.payload).toEqual({ n: 2 });
    expect(await tenant.getMutation('d1', 'u1')).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: { code: 'CHANGE_FAILED' },
    });
    // Logged each time it was re-run (again after u2's progress, in case it waited on u2).
    expect(logged.length).toBeGreaterThan(0);
    for (const entry of logged) expect(entry).toMatchObject({ mutationId: 'u1', deviceId: 'd1' });
  });

  it('writes a batch larger than one chunk with consecutive seqs', async () => {
    const events: CommitEvent[] = [];
    const { store, engine } = await newEngine(events);
    const changes = Array.from({ length: 600 }, (_, i): Change => ({
      mutationId: `m${i}`,
      entityType: 'thing',
      entityId: `e${i}`,
      operation: 'CREATE',
      clientVersion: 1,
      timestamp: new Date(Date.UTC(2026, 0, 1)).toISOString(),
      payload: { site: 'a', i },
    }));
    const response = await engine.push(actor, { deviceId: 'd1', changes });
    expect(response.results.every((r) => r.status === 'APPLIED')).toBe(true);
    const feed = await store.forTenant('t').readFeed({ afterSeq: 0, limit: 1000 });
    expect(feed.map((r) => r.seq)).toEqual(changes.map((_, i) => i + 1));
    expect(feed.map((r) => r.mutationId)).toEqual(changes.map((c) => c.mutationId));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'changes', seq: 600 });
    const queued = await store.forTenant('t').listMutations({ limit: 1000 });
    expect(queued.map((m) => m.mutationId)).toEqual(changes.map((c) => c.mutationId));
  });
});
