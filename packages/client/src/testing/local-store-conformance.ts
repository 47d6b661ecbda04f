// The conformance suite every LocalStore adapter runs (like Replicache's runAll): each adapter's
// test file is one call. It checks every guarantee the port states: atomic write() calls (an item
// that fails midway leaves nothing of its call), read-after-write, outbox order by seq, entity id
// order with tombstones, meta set and clear, clearEntities sparing outbox, conflicts and meta,
// exact round trips, many rows, two writers on one storage (a shared outbox sequence, a shared
// revision for compare-and-set, exclusive sections, change notices), and — for persistent
// adapters — the same after close and reopen.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LocalStoreChangedError,
  type ConflictRow,
  type EntityRow,
  type LocalStore,
  type OutboxRow,
  type StorageWrite,
} from '../core/ports.js';
import { InvalidStorageWriteError, LocalStoreClosedError } from '../store/validate-write.js';
import { runQueryConformance } from './local-store-query-conformance.js';

export interface LocalStoreFactories {
  /** Creates a new, empty store each call. */
  open: () => Promise<LocalStore>;
  /**
   * A second instance on the storage of the store `open` created last, while that one is still
   * open: another tab on the same IndexedDB database, another connection to the same SQLite
   * file. An adapter whose storage only one object can reach (memoryStorage) returns that object:
   * its writers then share one instance.
   */
  twin: () => Promise<LocalStore>;
  /**
   * For persistent adapters: opens again the storage of the store `open` created last (after it
   * was closed), as an app restarting would.
   */
  reopen?: () => Promise<LocalStore>;
}

export function runLocalStoreConformance(
  name: string,
  { open, twin, reopen }: LocalStoreFactories,
): void {
  describe(`LocalStore conformance: ${name}`, () => {
    const opened: LocalStore[] = [];
    const fresh = async () => {
      const store = await open();
      opened.push(store);
      return store;
    };
    const again = async () => {
      const store = await reopen!();
      opened.push(store);
      return store;
    };
    /** Two writers on one new storage. */
    const pair = async (): Promise<[LocalStore, LocalStore]> => {
      const first = await fresh();
      const second = await twin();
      opened.push(second);
      return [first, second];
    };
    afterEach(async () => {
      // close() twice must be harmless: some tests close their store themselves.
      for (const store of opened.splice(0)) await store.close();
    });

    runQueryConformance(fresh, twin, reopen ? again : undefined);

    describe('an empty store', () => {
      it('has no meta, entities, outbox rows or conflicts', async () => {
        const store = await fresh();
        expect(await store.getMeta('cursor')).toBeUndefined();
        expect(await store.getEntity('task', 't1')).toBeUndefined();
        expect(await store.listEntities('task')).toEqual([]);
        expect(await store.listOutbox()).toEqual([]);
        expect(await store.listConflicts()).toEqual([]);
      });

      it('accepts an empty write', async () => {
        const store = await fresh();
        await store.write([]);
        expect(await store.listOutbox()).toEqual([]);
      });
    });

    describe('round trips', () => {
      it('returns entity rows exactly as written, tombstones included', async () => {
        const store = await fresh();
        const rows = [
          entity('task', 't1', { version: 3, body: JSON.stringify(trickyData) }),
          entity('task', 't2', { version: 0, body: '' }),
          entity('task', 't3', { version: Number.MAX_SAFE_INTEGER, deleted: true, body: null }),
          entity('task', 't4', { body: 'x'.repeat(300_000) }),
          entity('a:b/c', 'é 漢字 "quoted" id', { body: '{"emoji":"🚑"}' }),
        ];
        await store.write(rows.map(putEntity));
        for (const row of rows) {
          expect(await store.getEntity(row.type, row.id)).toStrictEqual(row);
        }
        expect(await store.listEntities('a:b/c')).toStrictEqual([rows[4]]);
      });

      it('returns outbox rows exactly as written', async () => {
        const store = await fresh();
        const rows = [
          outbox(1, { body: JSON.stringify(trickyData) }),
          outbox(2, { operation: 'UPDATE', baseVersion: 7, body: '{"title":"patched"}' }),
          outbox(3, {
            operation: 'DELETE',
            body: null,
            attempts: 5,
            state: 'FAILED',
            error: '{"code":"VALIDATION_FAILED","message":"title: expected string"}',
          }),
        ];
        await store.write(rows.map(putOutbox));
        expect(await store.listOutbox()).toStrictEqual(rows);
      });

      it('returns conflicts and meta exactly as written', async () => {
        const store = await fresh();
        const rows = [conflict('c1', JSON.stringify(trickyData)), conflict('c2', '')];
        await store.write([
          ...rows.map(putConflict),
          setMeta('cursor', 'token-1'),
          setMeta('empty', ''),
          setMeta('unicode', 'é 漢字 🚑'),
        ]);
        expect(await store.listConflicts()).toStrictEqual(rows);
        expect(await store.getMeta('cursor')).toBe('token-1');
        expect(await store.getMeta('empty')).toBe('');
        expect(await store.getMeta('unicode')).toBe('é 漢字 🚑');
      });

      it('keeps the same id apart under different types', async () => {
        const store = await fresh();
        await store.write([
          putEntity(entity('task', 'x', { body: '"task"' })),
          putEntity(entity('asset', 'x', { body: '"asset"' })),
        ]);
        expect((await store.getEntity('task', 'x'))?.body).toBe('"task"');
        expect((await store.getEntity('asset', 'x'))?.body).toBe('"asset"');
        await store.write([{ kind: 'removeEntity', type: 'task', id: 'x' }]);
        expect(await store.getEntity('task', 'x')).toBeUndefined();
        expect((await store.getEntity('asset', 'x'))?.body).toBe('"asset"');
      });

      it('hands out copies: changing a row read or written does not change the store', async () => {
        const store = await fresh();
        const row = entity('task', 't1', { body: '"original"' });
        await store.write([putEntity(row), putOutbox(outbox(1))]);
        row.body = '"changed after write"';
        const read = (await store.getEntity('task', 't1'))!;
        read.body = '"changed after read"';
        (await store.listOutbox())[0]!.attempts = 99;
        expect((await store.getEntity('task', 't1'))?.body).toBe('"original"');
        expect((await store.listOutbox())[0]?.attempts).toBe(0);
      });
    });

    describe('puts and removes', () => {
      it('replaces a row put again under the same key', async () => {
        const store = await fresh();
        await store.write([
          putEntity(entity('task', 't1', { version: 1, body: '"v1"' })),
          putOutbox(outbox(1)),
          putConflict(conflict('c1', '"first"')),
        ]);
        const failed = outbox(1, { attempts: 5, state: 'FAILED', error: '{"code":"X"}' });
        const tombstone = entity('task', 't1', { version: 2, deleted: true, body: null });
        await store.write([
          putEntity(tombstone),
          putOutbox(failed),
          putConflict(conflict('c1', '"second"')),
        ]);
        expect(await store.getEntity('task', 't1')).toStrictEqual(tombstone);
        expect(await store.listOutbox()).toStrictEqual([failed]);
        expect(await store.listConflicts()).toStrictEqual([conflict('c1', '"second"')]);
      });

      it('removes rows, and removing a missing row changes nothing', async () => {
        const store = await fresh();
        await store.write([
          putEntity(entity('task', 't1')),
          putEntity(entity('task', 't2')),
          putOutbox(outbox(1)),
          putOutbox(outbox(2)),
          putConflict(conflict('c1')),
          putConflict(conflict('c2')),
        ]);
        await store.write([
          { kind: 'removeEntity', type: 'task', id: 't1' },
          { kind: 'removeOutbox', seq: 1 },
          { kind: 'removeConflict', id: 'c1' },
          { kind: 'removeEntity', type: 'task', id: 'missing' },
          { kind: 'removeEntity', type: 'missing-type', id: 't2' },
          { kind: 'removeOutbox', seq: 404 },
          { kind: 'removeConflict', id: 'missing' },
        ]);
        expect(await store.listEntities('task')).toStrictEqual([entity('task', 't2')]);
        expect(await store.listOutbox()).toStrictEqual([outbox(2)]);
        expect(await store.listConflicts()).toStrictEqual([conflict('c2')]);
      });

      it('applies the items of one write in order', async () => {
        const store = await fresh();
        await store.write([
          putEntity(entity('task', 'gone')),
          { kind: 'removeEntity', type: 'task', id: 'gone' },
          { kind: 'removeEntity', type: 'task', id: 'back' },
          putEntity(entity('task', 'back', { version: 1 })),
          putEntity(entity('task', 'back', { version: 2 })),
          setMeta('k', 'first'),
          setMeta('k', null),
          setMeta('k2', 'first'),
          setMeta('k2', 'last'),
          putOutbox(outbox(1)),
          { kind: 'removeOutbox', seq: 1 },
        ]);
        expect(await store.listEntities('task')).toStrictEqual([
          entity('task', 'back', { version: 2 }),
        ]);
        expect(await store.getMeta('k')).toBeUndefined();
        expect(await store.getMeta('k2')).toBe('last');
        expect(await store.listOutbox()).toEqual([]);
      });

      it('applies concurrent write() calls in the order they were made', async () => {
        const store = await fresh();
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.write([
              putEntity(entity('task', 't1', { version: i })),
              setMeta('last', String(i)),
              putOutbox(outbox(i + 1)),
            ]),
          ),
        );
        expect((await store.getEntity('task', 't1'))?.version).toBe(19);
        expect(await store.getMeta('last')).toBe('19');
        expect((await store.listOutbox()).map((row) => row.seq)).toEqual(range(1, 20));
      });
    });

    describe('order', () => {
      it('lists the outbox by seq as a number, whatever the insertion order', async () => {
        const store = await fresh();
        for (const seq of [10, 2, 33, 1, 100, 9]) await store.write([putOutbox(outbox(seq))]);
        expect((await store.listOutbox()).map((row) => row.seq)).toEqual([1, 2, 9, 10, 33, 100]);
      });

      it("lists one type's entities in id order, tombstones included, other types left out", async () => {
        const store = await fresh();
        const ids = ['b', 'a', 'B', '10', '9', 'a-b', 'a_b', 'é', 'z', 'A', '漢'];
        await store.write([
          ...ids.map((id, i) =>
            putEntity(
              i % 3 === 0
                ? entity('task', id, { deleted: true, body: null })
                : entity('task', id, { body: JSON.stringify(id) }),
            ),
          ),
          putEntity(entity('tasks', 'aa')),
          putEntity(entity('tas', 'aa')),
        ]);
        const listed = await store.listEntities('task');
        expect(listed.map((row) => row.id)).toEqual([...ids].sort());
        expect(listed.filter((row) => row.deleted).map((row) => row.id)).toEqual(
          ids.filter((_, i) => i % 3 === 0).sort(),
        );
        expect(await store.listEntities('unknown')).toEqual([]);
      });

      it('lists conflicts in id order', async () => {
        const store = await fresh();
        await store.write(['c3', 'c1', 'c2'].map((id) => putConflict(conflict(id))));
        expect((await store.listConflicts()).map((row) => row.id)).toEqual(['c1', 'c2', 'c3']);
      });
    });

    describe('meta', () => {
      it('sets, overwrites and clears a value with null', async () => {
        const store = await fresh();
        await store.write([setMeta('cursor', 'a'), setMeta('other', 'kept')]);
        await store.write([setMeta('cursor', 'b')]);
        expect(await store.getMeta('cursor')).toBe('b');
        await store.write([setMeta('cursor', null), setMeta('never-set', null)]);
        expect(await store.getMeta('cursor')).toBeUndefined();
        expect(await store.getMeta('never-set')).toBeUndefined();
        expect(await store.getMeta('other')).toBe('kept');
      });
    });

    describe('clearEntities', () => {
      it('removes every entity of every type and keeps outbox, conflicts and meta', async () => {
        const store = await fresh();
        await store.write([
          putEntity(entity('task', 't1')),
          putEntity(entity('asset', 'a1', { deleted: true, body: null })),
          putOutbox(outbox(1)),
          putConflict(conflict('c1')),
          setMeta('cursor', 'token'),
        ]);
        await store.write([{ kind: 'clearEntities' }, putEntity(entity('task', 'after'))]);
        expect(await store.listEntities('task')).toStrictEqual([entity('task', 'after')]);
        expect(await store.listEntities('asset')).toEqual([]);
        expect(await store.getEntity('task', 't1')).toBeUndefined();
        expect(await store.listOutbox()).toStrictEqual([outbox(1)]);
        expect(await store.listConflicts()).toStrictEqual([conflict('c1')]);
        expect(await store.getMeta('cursor')).toBe('token');
      });
    });

    describe('atomicity', () => {
      // Each bad item is a row the contract refuses; it comes after valid items of every kind, so
      // an adapter that applied items one by one without a transaction would leave them behind.
      const badItems: Array<[string, StorageWrite]> = [
        ['an entity with a negative version', putEntity(entity('task', 'bad', { version: -1 }))],
        [
          'an entity whose body is not a string',
          putEntity({ ...entity('task', 'bad'), body: 42 as unknown as string }),
        ],
        ['a tombstone with a body', putEntity(entity('task', 'bad', { deleted: true }))],
        ['an entity without an id', putEntity(entity('task', ''))],
        [
          'an outbox row with an unknown operation',
          putOutbox({ ...outbox(9), operation: 'UPSERT' as OutboxRow['operation'] }),
        ],
        ['an outbox row with a fractional seq', putOutbox(outbox(1.5))],
        [
          'a conflict without a body',
          putConflict({ id: 'c9', body: undefined as unknown as string }),
        ],
        ['a meta value that is a number', setMeta('n', 1 as unknown as string)],
        ['a meta key the storage keeps for itself', setMeta('syncline.store.revision', '0')],
        [
          'an appended row that names its own seq',
          { kind: 'appendOutbox', row: outbox(7) } as unknown as StorageWrite,
        ],
        ['an unknown kind', { kind: 'dropEverything' } as unknown as StorageWrite],
      ];

      const before = [
        putEntity(entity('task', 'kept', { version: 1, body: '"before"' })),
        putEntity(entity('asset', 'kept', { version: 1 })),
        putOutbox(outbox(1)),
        putConflict(conflict('c1', '"before"')),
        setMeta('cursor', 'before'),
      ];
      const changes = (bad: StorageWrite): StorageWrite[] => [
        putEntity(entity('task', 'kept', { version: 2, body: '"after"' })),
        putEntity(entity('task', 'new')),
        { kind: 'removeEntity', type: 'asset', id: 'kept' },
        putOutbox(outbox(1, { attempts: 3 })),
        putOutbox(outbox(2)),
        { kind: 'removeConflict', id: 'c1' },
        putConflict(conflict('c2')),
        setMeta('cursor', 'after'),
        setMeta('new', 'value'),
        { kind: 'clearEntities' },
        putEntity(entity('task', 'after-clear')),
        bad,
      ];

      const expectUnchanged = async (store: LocalStore) => {
        expect(await store.listEntities('task')).toStrictEqual([
          entity('task', 'kept', { version: 1, body: '"before"' }),
        ]);
        expect(await store.listEntities('asset')).toStrictEqual([
          entity('asset', 'kept', { version: 1 }),
        ]);
        expect(await store.listOutbox()).toStrictEqual([outbox(1)]);
        expect(await store.listConflicts()).toStrictEqual([conflict('c1', '"before"')]);
        expect(await store.getMeta('cursor')).toBe('before');
        expect(await store.getMeta('new')).toBeUndefined();
      };

      for (const [what, bad] of badItems) {
        it(`refuses a write ending in ${what} and keeps nothing of it`, async () => {
          const store = await fresh();
          await store.write(before);
          await expect(store.write(changes(bad))).rejects.toBeInstanceOf(InvalidStorageWriteError);
          await expectUnchanged(store);
        });
      }

      it('refuses a write that fails in its middle or at its start', async () => {
        const store = await fresh();
        await store.write(before);
        const bad = putEntity(entity('task', 'bad', { version: -1 }));
        const valid = changes(bad).slice(0, -1);
        const middle = [...valid.slice(0, 5), bad, ...valid.slice(5)];
        await expect(store.write(middle)).rejects.toBeInstanceOf(InvalidStorageWriteError);
        await expect(store.write([bad, ...valid])).rejects.toBeInstanceOf(InvalidStorageWriteError);
        await expectUnchanged(store);
      });

      it('keeps working after a refused write', async () => {
        const store = await fresh();
        await store.write(before);
        await expect(
          store.write(changes(putEntity(entity('task', 'bad', { version: -1 })))),
        ).rejects.toThrow();
        await store.write([putEntity(entity('task', 'next')), setMeta('cursor', 'next')]);
        expect((await store.listEntities('task')).map((row) => row.id)).toEqual(['kept', 'next']);
        expect(await store.getMeta('cursor')).toBe('next');
      });

      it('keeps a refused write from reaching concurrent writes before and after it', async () => {
        const store = await fresh();
        const results = await Promise.allSettled([
          store.write([putOutbox(outbox(1))]),
          store.write([putOutbox(outbox(2)), putOutbox(outbox(-3))]),
          store.write([putOutbox(outbox(4))]),
        ]);
        expect(results.map((result) => result.status)).toEqual([
          'fulfilled',
          'rejected',
          'fulfilled',
        ]);
        expect((await store.listOutbox()).map((row) => row.seq)).toEqual([1, 4]);
      });
    });

    describe('many rows', () => {
      it('writes and lists thousands of rows in one call and across many calls', async () => {
        const store = await fresh();
        const n = 3000;
        // A fixed scramble of 0..n-1 (n and 7919 are coprime), so insertion order is not id order.
        const ids = range(0, n - 1).map((i) => `e${String((i * 7919) % n).padStart(5, '0')}`);
        await store.write(
          ids.map((id, i) => putEntity(entity('item', id, { version: i, body: `{"i":${i}}` }))),
        );
        for (let batch = 0; batch < 50; batch += 1) {
          await store.write(
            range(1, 10).map((k) => putOutbox(outbox(batch * 10 + k, { body: `{"b":${batch}}` }))),
          );
        }
        const listed = await store.listEntities('item');
        expect(listed).toHaveLength(n);
        expect(listed.map((row) => row.id)).toEqual([...ids].sort());
        expect(listed[0]).toStrictEqual(entity('item', 'e00000', { version: 0, body: '{"i":0}' }));
        expect((await store.listOutbox()).map((row) => row.seq)).toEqual(range(1, 500));
      });
    });

    describe('any sequence of writes', () => {
      it('leaves the store equal to a model that applies each accepted write whole', async () => {
        const seed = Number(globalThis.process?.env?.LOCAL_STORE_SEED) || Date.now() % 2 ** 31;
        console.log(`${name}: random writes with seed ${seed} (replay: LOCAL_STORE_SEED=${seed})`);
        await fc.assert(
          fc.asyncProperty(fc.array(writeCall, { maxLength: 8 }), async (calls) => {
            const store = await open();
            try {
              const model = new StoreModel();
              for (const call of calls) {
                const outcome = await store.write(call.items).then(
                  () => 'written',
                  (error: unknown) => error,
                );
                if (call.refused) {
                  expect(outcome).toBeInstanceOf(InvalidStorageWriteError);
                } else {
                  expect(outcome).toBe('written');
                  for (const item of call.items) model.apply(item);
                }
                await model.expectEqual(store);
              }
            } finally {
              await store.close();
            }
          }),
          { seed, numRuns: 25 },
        );
      });
    });

    describe('appendOutbox', () => {
      it('gives each appended row the next seq, in item order, and says which', async () => {
        const store = await fresh();
        const first = await store.write([appendOutbox('a'), appendOutbox('b')]);
        const second = await store.write([putEntity(entity('task', 't1')), appendOutbox('c')]);
        expect(first.appended).toEqual([1, 2]);
        expect(second.appended).toEqual([3]);
        expect(await store.listOutbox()).toStrictEqual([
          outbox(1, appendedFields('a')),
          outbox(2, appendedFields('b')),
          outbox(3, appendedFields('c')),
        ]);
      });

      it('never gives a seq twice: not after its row is gone, not below a seq put by hand', async () => {
        const store = await fresh();
        const { appended } = await store.write([appendOutbox('a')]);
        await store.write([{ kind: 'removeOutbox', seq: appended[0]! }]);
        expect((await store.write([appendOutbox('b')])).appended).toEqual([2]);
        await store.write([putOutbox(outbox(40))]);
        expect((await store.write([appendOutbox('c')])).appended).toEqual([41]);
        await store.write([
          { kind: 'removeOutbox', seq: 41 },
          { kind: 'removeOutbox', seq: 40 },
        ]);
        expect((await store.write([appendOutbox('d')])).appended).toEqual([42]);
      });
    });

    describe('revision', () => {
      it('moves by one with every write that writes something, and only then', async () => {
        const store = await fresh();
        // 0 for a new storage, unless the layer over it wrote its own settings (encryption).
        const start = await store.revision();
        expect(Number.isSafeInteger(start) && start >= 0).toBe(true);
        expect((await store.write([setMeta('k', 'v')])).revision).toBe(start + 1);
        expect(await store.write([])).toStrictEqual({ revision: start + 1, appended: [] });
        const both = await store.write([putOutbox(outbox(1)), setMeta('k', null)]);
        expect(both.revision).toBe(start + 2);
        await expect(store.write([putEntity(entity('task', ''))])).rejects.toThrow();
        expect(await store.revision()).toBe(start + 2);
      });

      it('applies a write made ifRevision the current one, and refuses one made on an older', async () => {
        const store = await fresh();
        await store.write(someRows());
        const revision = await store.revision();
        await store.write([setMeta('cursor', 'moved on')]);
        await expect(
          store.write([putEntity(entity('task', 'late')), appendOutbox('late')], {
            ifRevision: revision,
          }),
        ).rejects.toBeInstanceOf(LocalStoreChangedError);
        expect(await store.getEntity('task', 'late')).toBeUndefined();
        expect(await store.listOutbox()).toStrictEqual([]);
        expect(await store.revision()).toBe(revision + 1);
        const current = await store.write([setMeta('k', 'v')], { ifRevision: revision + 1 });
        expect(current.revision).toBe(revision + 2);
      });
    });

    describe('two writers on one storage', () => {
      it('sees through one instance what the other wrote, as soon as its write resolved', async () => {
        const [a, b] = await pair();
        await a.write([
          putEntity(entity('task', 't1', { version: 2 })),
          putConflict(conflict('c1')),
          setMeta('cursor', 'from a'),
          appendOutbox('a1'),
        ]);
        expect(await b.getEntity('task', 't1')).toStrictEqual(entity('task', 't1', { version: 2 }));
        expect(await b.listConflicts()).toStrictEqual([conflict('c1')]);
        expect(await b.getMeta('cursor')).toBe('from a');
        expect(await b.listOutbox()).toStrictEqual([outbox(1, appendedFields('a1'))]);
        expect(await b.revision()).toBe(await a.revision());
      });

      it('loses no appended row when both append at once: seqs are distinct and in commit order', async () => {
        const [a, b] = await pair();
        const writes = range(1, 40).flatMap((i) => [
          a.write([appendOutbox(`a${i}`)]),
          b.write(
            i % 3 === 0 ? [appendOutbox(`b${i}`), appendOutbox(`b${i}+`)] : [appendOutbox(`b${i}`)],
          ),
        ]);
        const results = await Promise.all(writes);
        const given = results.flatMap((result) => result.appended);
        expect(new Set(given).size).toBe(given.length);
        for (const store of [a, b]) {
          const rows = await store.listOutbox();
          expect(rows).toHaveLength(40 + 40 + 13);
          expect(rows.map((row) => row.seq)).toEqual([...given].sort((x, y) => x - y));
          expect(new Set(rows.map((row) => row.mutationId)).size).toBe(rows.length);
        }
        // A later write's rows come after an earlier write's: the seq is given at commit.
        const revisions = results.map((result) => result.revision);
        const byRevision = results
          .map((result, i) => ({ result, revision: revisions[i]! }))
          .sort((x, y) => x.revision - y.revision)
          .flatMap(({ result }) => result.appended);
        expect(byRevision).toEqual([...given].sort((x, y) => x - y));
      });

      it('lets exactly one of two writers that read the same revision commit', async () => {
        const [a, b] = await pair();
        await a.write([setMeta('balance', '10')]);
        const seen = await b.revision();
        expect(await a.revision()).toBe(seen);
        const outcomes = await Promise.allSettled([
          a.write([setMeta('balance', '11'), appendOutbox('from a')], { ifRevision: seen }),
          b.write([setMeta('balance', '12'), appendOutbox('from b')], { ifRevision: seen }),
        ]);
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(LocalStoreChangedError);
        const winner = outcomes[0]!.status === 'fulfilled' ? 'from a' : 'from b';
        expect((await b.listOutbox()).map((row) => row.mutationId)).toEqual([`m-${winner}`]);
        expect(await a.getMeta('balance')).toBe(winner === 'from a' ? '11' : '12');
      });

      it('runs exclusive sections of one name one at a time across instances, others meanwhile', async () => {
        const [a, b] = await pair();
        const log: string[] = [];
        const section = (who: string, store: LocalStore) =>
          store.exclusive('sync', async () => {
            log.push(`${who} in`);
            await new Promise((resolve) => setTimeout(resolve, 15));
            log.push(`${who} out`);
            return who;
          });
        let release!: () => void;
        const holding = a.exclusive('sync', async () => {
          log.push('holder in');
          await new Promise<void>((resolve) => (release = resolve));
          log.push('holder out');
        });
        await vi.waitFor(() => expect(log).toEqual(['holder in']));
        const waiting = [section('b1', b), section('a1', a), section('b2', b)];
        // Another name does not wait for the holder.
        expect(await b.exclusive('other', async () => 'other')).toBe('other');
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(log).toEqual(['holder in']);
        release();
        await holding;
        expect((await Promise.all(waiting)).sort()).toEqual(['a1', 'b1', 'b2']);
        // Never two inside at once: every "in" is followed by its own "out".
        for (let i = 0; i < log.length; i += 2) {
          expect(log[i]?.replace(' in', '')).toBe(log[i + 1]?.replace(' out', ''));
        }
        expect(log).toHaveLength(8);
      });

      it('lets the next one in after a section that threw', async () => {
        const [a, b] = await pair();
        await expect(
          a.exclusive('sync', async () => {
            throw new Error('failed inside');
          }),
        ).rejects.toThrow('failed inside');
        expect(await b.exclusive('sync', async () => 'next')).toBe('next');
      });

      it("tells one instance's watchers of a write made through the other", async () => {
        const [a, b] = await pair();
        let told = 0;
        const unwatch = b.watch(() => (told += 1));
        await a.write([setMeta('cursor', 'from a')]);
        await vi.waitFor(() => expect(told).toBeGreaterThan(0), { timeout: 5_000 });
        unwatch();
      });
    });

    describe('close', () => {
      it('refuses reads and writes once closed', async () => {
        const store = await fresh();
        await store.close();
        await expect(store.getMeta('cursor')).rejects.toBeInstanceOf(LocalStoreClosedError);
        await expect(store.listOutbox()).rejects.toBeInstanceOf(LocalStoreClosedError);
        await expect(store.write([setMeta('cursor', 'x')])).rejects.toBeInstanceOf(
          LocalStoreClosedError,
        );
      });
    });

    const durability = reopen
      ? 'durability across close and reopen'
      : 'durability across close and reopen (skipped: an adapter without reopen keeps nothing)';
    describe.skipIf(!reopen)(durability, () => {
      it('finds everything a resolved write stored after the store is reopened', async () => {
        const first = await fresh();
        const rows = {
          entities: [
            entity('task', 't1', { version: 4, body: JSON.stringify(trickyData) }),
            entity('task', 't2', { deleted: true, body: null }),
          ],
          outbox: [outbox(2, { body: '"two"' }), outbox(1, { state: 'FAILED', error: '"e"' })],
          conflicts: [conflict('c1', JSON.stringify(trickyData))],
        };
        await first.write([
          ...rows.entities.map(putEntity),
          ...rows.outbox.map(putOutbox),
          ...rows.conflicts.map(putConflict),
          setMeta('cursor', 'token-7'),
        ]);
        await first.close();

        const second = await again();
        expect(await second.listEntities('task')).toStrictEqual(rows.entities);
        expect(await second.listOutbox()).toStrictEqual([rows.outbox[1], rows.outbox[0]]);
        expect(await second.listConflicts()).toStrictEqual(rows.conflicts);
        expect(await second.getMeta('cursor')).toBe('token-7');
      });

      it('keeps nothing of a refused write and keeps removals and clears after reopen', async () => {
        const first = await fresh();
        await first.write([
          putEntity(entity('task', 't1')),
          putEntity(entity('asset', 'a1')),
          putOutbox(outbox(1)),
          putOutbox(outbox(2)),
          setMeta('cursor', 'kept'),
        ]);
        await first.write([{ kind: 'clearEntities' }, { kind: 'removeOutbox', seq: 1 }]);
        await expect(
          first.write([
            putEntity(entity('task', 'refused')),
            setMeta('cursor', 'refused'),
            putOutbox(outbox(-1)),
          ]),
        ).rejects.toBeInstanceOf(InvalidStorageWriteError);
        await first.close();

        const second = await again();
        expect(await second.listEntities('task')).toEqual([]);
        expect(await second.listEntities('asset')).toEqual([]);
        expect(await second.listOutbox()).toStrictEqual([outbox(2)]);
        expect(await second.getMeta('cursor')).toBe('kept');
        await second.write([putEntity(entity('task', 'after-reopen'))]);
        await second.close();

        const third = await again();
        expect((await third.listEntities('task')).map((row) => row.id)).toEqual(['after-reopen']);
      });
    });
  });
}

// Few keys, so that random writes keep landing on rows that exist.
const modelTypes = ['a', 'b'];
const modelMetaKeys = ['k1', 'k2'];
const body = fc.option(fc.string({ maxLength: 12 }), { nil: null });
const validItem: fc.Arbitrary<StorageWrite> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        type: fc.constantFrom(...modelTypes),
        id: fc.constantFrom('x', 'y', 'z'),
        version: fc.nat(3),
        deleted: fc.boolean(),
        text: fc.string({ maxLength: 12 }),
      })
      .map(({ text, ...row }) => putEntity({ ...row, body: row.deleted ? null : text })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ type: fc.constantFrom(...modelTypes), id: fc.constantFrom('x', 'y', 'z') })
      .map(({ type, id }): StorageWrite => ({ kind: 'removeEntity', type, id })),
  },
  { weight: 1, arbitrary: fc.constant<StorageWrite>({ kind: 'clearEntities' }) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        seq: fc.integer({ min: 1, max: 5 }),
        attempts: fc.nat(5),
        failed: fc.boolean(),
        body,
      })
      .map(({ seq, attempts, failed, body }) =>
        putOutbox(
          outbox(seq, {
            attempts,
            body,
            state: failed ? 'FAILED' : 'PENDING',
            error: failed ? '"e"' : null,
          }),
        ),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: 1, max: 5 })
      .map((seq): StorageWrite => ({ kind: 'removeOutbox', seq })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ id: fc.constantFrom('c1', 'c2'), text: fc.string({ maxLength: 12 }) })
      .map(({ id, text }) => putConflict(conflict(id, text))),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('c1', 'c2')
      .map((id): StorageWrite => ({ kind: 'removeConflict', id })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ key: fc.constantFrom(...modelMetaKeys), value: body })
      .map(({ key, value }) => setMeta(key, value)),
  },
);
/** A write() call; a refused one carries a malformed item somewhere among valid ones. */
const writeCall = fc
  .record({
    items: fc.array(validItem, { maxLength: 6 }),
    bad: fc.option(fc.nat(6), { nil: undefined }),
  })
  .map(({ items, bad }) =>
    bad === undefined
      ? { items, refused: false }
      : {
          items: [
            ...items.slice(0, bad),
            putEntity(entity('a', 'x', { version: -1 })),
            ...items.slice(bad),
          ],
          refused: true,
        },
  );

/** What a LocalStore should hold: the reference the random writes are checked against. */
class StoreModel {
  entities = new Map<string, EntityRow>();
  readonly outbox = new Map<number, OutboxRow>();
  readonly conflicts = new Map<string, ConflictRow>();
  readonly meta = new Map<string, string>();

  apply(write: StorageWrite): void {
    switch (write.kind) {
      case 'putEntity':
        this.entities.set(`${write.row.type}\u0000${write.row.id}`, { ...write.row });
        return;
      case 'removeEntity':
        this.entities.delete(`${write.type}\u0000${write.id}`);
        return;
      case 'clearEntities':
        this.entities = new Map();
        return;
      case 'putOutbox':
        this.outbox.set(write.row.seq, { ...write.row });
        return;
      case 'removeOutbox':
        this.outbox.delete(write.seq);
        return;
      case 'putConflict':
        this.conflicts.set(write.row.id, { ...write.row });
        return;
      case 'removeConflict':
        this.conflicts.delete(write.id);
        return;
      case 'setMeta':
        if (write.value === null) this.meta.delete(write.key);
        else this.meta.set(write.key, write.value);
        return;
    }
  }

  async expectEqual(store: LocalStore): Promise<void> {
    for (const type of modelTypes) {
      const rows = [...this.entities.values()].filter((row) => row.type === type);
      rows.sort((a, b) => (a.id < b.id ? -1 : 1));
      expect(await store.listEntities(type)).toStrictEqual(rows);
    }
    expect(await store.listOutbox()).toStrictEqual(
      [...this.outbox.values()].sort((a, b) => a.seq - b.seq),
    );
    expect(await store.listConflicts()).toStrictEqual(
      [...this.conflicts.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    for (const key of modelMetaKeys) expect(await store.getMeta(key)).toBe(this.meta.get(key));
  }
}

/** Data with what commonly breaks text storage. */
const trickyData = {
  unicode: 'é ü 漢字 🚑 "quotes" \\backslash\\ \n newline \t tab',
  nested: { list: [1, 2.5, -3e-7, 9007199254740991, null, true] },
  emptyString: '',
};

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function entity(type: string, id: string, over: Partial<EntityRow> = {}): EntityRow {
  return { type, id, version: 1, deleted: false, body: `{"id":${JSON.stringify(id)}}`, ...over };
}

function outbox(seq: number, over: Partial<OutboxRow> = {}): OutboxRow {
  return {
    seq,
    mutationId: `m-${seq}`,
    type: 'task',
    id: `t-${seq}`,
    operation: 'CREATE',
    baseVersion: 0,
    timestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, seq)).toISOString(),
    attempts: 0,
    state: 'PENDING',
    error: null,
    body: `{"seq":${seq}}`,
    ...over,
  };
}

/** The fields of the appended row `outbox(seq, appendedFields(name))` stands for. */
function appendedFields(name: string): Partial<OutboxRow> {
  return {
    mutationId: `m-${name}`,
    id: `t-${name}`,
    timestamp: '2024-01-01T00:00:00.000Z',
    body: `{"name":${JSON.stringify(name)}}`,
  };
}

function appendOutbox(name: string): StorageWrite {
  const { seq: _seq, ...row } = outbox(0, appendedFields(name));
  return { kind: 'appendOutbox', row };
}

/** A few rows of every kind, to show that a refused write keeps its hands off them. */
function someRows(): StorageWrite[] {
  return [putEntity(entity('task', 'kept')), putConflict(conflict('c1')), setMeta('cursor', 'x')];
}

function conflict(id: string, body = `{"conflict":${JSON.stringify(id)}}`): ConflictRow {
  return { id, body };
}

const putEntity = (row: EntityRow): StorageWrite => ({ kind: 'putEntity', row });
const putOutbox = (row: OutboxRow): StorageWrite => ({ kind: 'putOutbox', row });
const putConflict = (row: ConflictRow): StorageWrite => ({ kind: 'putConflict', row });
const setMeta = (key: string, value: string | null): StorageWrite => ({
  kind: 'setMeta',
  key,
  value,
});
