// Property: whatever the app does, reads equal the app's own history of writes applied in order,
// through restarts (a new core on the same storage), failed storage writes (a write that throws
// changes nothing) and pushes the server acknowledges (the confirmed store then holds what the
// outbox showed). The seed is printed; replay with FC_SEED.
import type { PushRequest, PushResponse } from '@syncline/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../store/index.js';
import { applyMergePatch, type JsonObject } from '@syncline/protocol';
import type { LocalStore, StorageWrite, WriteOptions } from './ports.js';
import { SyncCore } from './sync-client.js';
import type { Transport } from './sync-ports.js';

type Command =
  | { kind: 'create'; slot: number; data: JsonObject }
  | { kind: 'update'; slot: number; patch: JsonObject }
  | { kind: 'delete'; slot: number }
  | { kind: 'restart' }
  | { kind: 'failNextWrite' }
  | { kind: 'sync' };

const value = fc.oneof(
  fc.integer({ min: 0, max: 9 }),
  fc.constantFrom('a', 'b'),
  fc.constant(null),
);
const fields = fc.dictionary(fc.constantFrom('x', 'y', 'z'), value, { maxKeys: 3 });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('create' as const), slot: fc.nat(4), data: fields }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('update' as const), slot: fc.nat(4), patch: fields }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), slot: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'failNextWrite' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'sync' as const }) },
);

/** The real memoryStorage behind a switch that makes the next write fail, as a full disk would. */
function failingStorage(inner: LocalStore) {
  let failNext = false;
  const storage: LocalStore = {
    getMeta: (key) => inner.getMeta(key),
    getEntity: (type, id) => inner.getEntity(type, id),
    listEntities: (type) => inner.listEntities(type),
    queryEntities: (type, query) => inner.queryEntities(type, query),
    listOutbox: () => inner.listOutbox(),
    listConflicts: () => inner.listConflicts(),
    revision: () => inner.revision(),
    async write(writes: readonly StorageWrite[], options?: WriteOptions) {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      return inner.write(writes, options);
    },
    exclusive: (name, fn) => inner.exclusive(name, fn),
    watch: (listener) => inner.watch(listener),
    close: () => inner.close(),
  };
  return { storage, failNextWrite: () => (failNext = true) };
}

/**
 * Acknowledges every change as applied, keeping each entity's version as a server does, and
 * checks that every change names the version it was made on (what the server's conflict check
 * relies on). A resend after a lost acknowledgement is answered like the first delivery.
 */
function acknowledging(): Transport {
  const versions = new Map<string, number>();
  const answered = new Map<string, number>();
  return {
    async push(request: PushRequest): Promise<PushResponse> {
      const results = request.changes.map((change) => {
        const mutationId = change.mutationId ?? '';
        let version = answered.get(mutationId);
        if (version === undefined) {
          const held = versions.get(change.entityId) ?? 0;
          if (change.operation !== 'CREATE') expect(change.clientVersion).toBe(held);
          version = change.operation === 'CREATE' ? 1 : held + 1;
          versions.set(change.entityId, version);
          answered.set(mutationId, version);
        }
        return {
          mutationId,
          entityType: change.entityType,
          entityId: change.entityId,
          status: 'APPLIED' as const,
          version,
        };
      });
      return {
        syncToken: 'v1.0.0.000000000000',
        changes: [],
        hasMore: false,
        results,
        conflicts: [],
        serverTime: '2026-01-01T00:00:00.000Z',
      };
    },
    async delta() {
      return { changes: [], nextPageToken: null, hasMore: false, syncToken: 'v1.0.0.000000000000' };
    },
  };
}

describe('outbox and rebase', () => {
  it('reads equal the writes applied in order, through restarts, failed writes and acknowledgements', async () => {
    const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(
      `outbox and rebase properties: fast-check seed ${seed} (replay with FC_SEED=${seed})`,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (commands) => {
        const { storage, failNextWrite } = failingStorage(memoryStorage());
        const transport = acknowledging();
        let counter = 0;
        const open = () =>
          SyncCore.open({
            storage,
            transport,
            deviceId: 'd',
            batchSize: 3,
            pullPageSize: 10,
            maxAttempts: 5,
            maxBatchBytes: 10 * 1024 * 1024,
            newId: () => `m-${String(++counter).padStart(4, '0')}`,
            now: () => new Date('2026-01-01T00:00:00Z'),
            events: { change: () => undefined, conflict: () => undefined, counts: () => undefined },
          });
        let core = await open();
        const model = new Map<string, JsonObject>();
        for (const step of commands) {
          const items = core.collection('item');
          const id = 'slot' in step ? `e${step.slot}` : '';
          let wrote = false;
          try {
            if (step.kind === 'create') {
              await items.create(step.data, { id });
              wrote = true;
              model.set(id, structuredClone(step.data));
            } else if (step.kind === 'update') {
              await items.update(id, step.patch);
              wrote = true;
              model.set(id, applyMergePatch(model.get(id), step.patch) as JsonObject);
            } else if (step.kind === 'delete') {
              await items.delete(id);
              wrote = true;
              model.delete(id);
            } else if (step.kind === 'restart') {
              core = await open();
            } else if (step.kind === 'failNextWrite') {
              failNextWrite();
            } else {
              await core.sync().catch(() => undefined);
            }
          } catch (error) {
            // Refused locally: create on a live id, update or delete of a missing one, a failed write.
            expect(wrote).toBe(false);
            void error;
          }
          const expected = [...model.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([entityId, data]) => ({ ...data, id: entityId }));
          expect(await core.collection('item').find()).toEqual(expected);
        }
        // Every change reaches the server in the end and nothing is left behind.
        failNextWrite();
        await core.sync().catch(() => undefined);
        await core.sync();
        expect(core.pendingCount).toBe(0);
        const reopened = await open();
        expect(reopened.pendingCount).toBe(0);
        expect(await reopened.collection('item').find()).toEqual(
          await core.collection('item').find(),
        );
      }),
      { numRuns: 150, seed },
    );
  });
});
