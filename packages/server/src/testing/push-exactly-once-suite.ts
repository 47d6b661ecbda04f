// Exactly-once past pruning and a savepoint per change, run on a real store (SQLite and
// PostgreSQL each call this once): a replay after the mutations were pruned applies nothing
// twice, and one change that fails unexpectedly fails alone while its batch commits.
import type { Change, PushRequest, ServerChange } from '@syncline/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../engine/actor.js';
import { createCollectionRegistry } from '../engine/collections.js';
import type { CommitEvent } from '../engine/commit-events.js';
import type { SyncEngine } from '../engine/engine-api.js';
import type {
  BatchWrites,
  EntityRecord,
  HistoryRecord,
  Logger,
  NewHistoryRecord,
  SyncStore,
  TenantStore,
  TenantTx,
} from '../engine/ports.js';
import { createSyncEngine } from '../engine/sync-engine.js';
import { createSchemaCompiler } from '../http/ajv-schema-compiler.js';
import { nodeCrypto } from '../http/node-crypto.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { MaintenanceQueries } from '../store/maintenance-queries.js';
import { presetCollections } from '../seeds/presets.js';

const TENANT = 'clinic';
const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);
const DAY = 24 * 60 * 60_000;

/**
 * The store with one fault: writing the entity `failingId` fails with a real database error
 * (a second copy of the history row just written violates its unique key).
 */
function withFailingEntity(store: SyncStore, failing: { id: string | null }): SyncStore {
  const faultyTx = (tx: TenantTx): TenantTx => {
    const written = new Map<string, NewHistoryRecord>();
    // Before an entity write that includes the failing entity, its history row is written again.
    const fault = async (entities: readonly EntityRecord[]) => {
      const record = entities.some((e) => e.entityId === failing.id)
        ? written.get(failing.id ?? '')
        : undefined;
      if (record) await tx.appendHistory(record);
    };
    return new Proxy(tx, {
      get(target, property, receiver) {
        if (property === 'appendHistory') {
          return (record: NewHistoryRecord) => {
            written.set(record.entityId, record);
            return target.appendHistory(record);
          };
        }
        if (property === 'insertHistory') {
          return (records: readonly HistoryRecord[]) => {
            for (const { seq: _seq, ...record } of records) written.set(record.entityId, record);
            return target.insertHistory(records);
          };
        }
        if (property === 'putEntity') {
          return async (entity: EntityRecord) => {
            await fault([entity]);
            return target.putEntity(entity);
          };
        }
        if (property === 'putEntities') {
          return async (entities: readonly EntityRecord[]) => {
            await fault(entities);
            return target.putEntities(entities);
          };
        }
        if (property === 'writeBatch') {
          // The batch's own history row of the entity then collides with the one written first.
          return async (batch: BatchWrites) => {
            for (const { seq: _seq, ...record } of batch.history) {
              written.set(record.entityId, record);
            }
            await fault(batch.entities);
            return target.writeBatch(batch);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  };
  const faultyTenant = (inner: TenantStore): TenantStore =>
    new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'transact') {
          return <T>(fn: (tx: TenantTx) => Promise<T>) => target.transact((tx) => fn(faultyTx(tx)));
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'forTenant')
        return (tenant: string) => faultyTenant(target.forTenant(tenant));
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

export function runPushExactlyOnceSuite(name: string, openStore: () => Promise<KyselySyncStore>) {
  describe(`exactly-once pushes on ${name}`, () => {
    let store: KyselySyncStore;
    let engine: SyncEngine;
    let now: number;
    const failing = { id: null as string | null };
    const errors: { obj: object; msg: string | undefined }[] = [];
    const events: CommitEvent[] = [];
    const logger: Logger = {
      info() {},
      warn() {},
      error: (obj, msg) => errors.push({ obj, msg }),
    };
    const actor: Actor = { tenant: TENANT, userId: 'u1', role: 'user', claims: {} };

    beforeEach(async () => {
      now = T0;
      failing.id = null;
      errors.length = 0;
      events.length = 0;
      store = await openStore();
      engine = createSyncEngine({
        store: withFailingEntity(store, failing),
        collections: createCollectionRegistry({}, presetCollections),
        compileSchema: createSchemaCompiler(),
        crypto: nodeCrypto,
        clock: { now: () => new Date(now) },
        logger,
        onCommitted: (event) => events.push(event),
      });
    });
    afterEach(async () => {
      await store.close();
    });

    const change = (over: Partial<Change> & Pick<Change, 'entityId' | 'mutationId'>): Change => ({
      entityType: 'note',
      operation: 'CREATE',
      payload: { text: 'hello' },
      clientVersion: 1,
      timestamp: new Date(T0).toISOString(),
      ...over,
    });
    const push = (changes: Change[], deviceId = 'tablet') =>
      engine.push(actor, { deviceId, changes } as PushRequest);
    const reads = () => store.forTenant(TENANT);
    const versionsOf = async (entityId: string) =>
      (await reads().listHistory('note', entityId)).map((h) => h.version);

    // A device's batch: a create, an update that would win again on replay (CLIENT_WINS
    // writes a new version over a newer server copy), and a delete.
    const batch = (): Change[] => [
      change({ mutationId: 'm1', seq: 1, entityId: 'a' }),
      change({ mutationId: 'm2', seq: 2, entityId: 'b' }),
      change({
        mutationId: 'm3',
        seq: 3,
        entityId: 'a',
        operation: 'UPDATE',
        payload: { text: 'edited' },
        conflictStrategy: 'CLIENT_WINS',
      }),
      change({ mutationId: 'm4', seq: 4, entityId: 'b', operation: 'DELETE', payload: null }),
    ];

    it('replays after the mutations table was pruned apply nothing twice', async () => {
      const first = await push(batch());
      expect(first.results.map((r) => r.status)).toEqual([
        'APPLIED',
        'APPLIED',
        'APPLIED',
        'APPLIED',
      ]);
      const before = {
        state: await reads().getTenantState(),
        a: await reads().getEntity('note', 'a'),
        b: await reads().getEntity('note', 'b'),
        historyA: await versionsOf('a'),
        historyB: await versionsOf('b'),
      };
      expect(before.historyA).toEqual([2, 1]);

      // The cleanup job's own query, a month on: every SYNCED mutation record goes.
      now += 31 * DAY;
      const queries = new MaintenanceQueries(store);
      const removed = await queries.deleteSyncedMutations(
        TENANT,
        new Date(now).toISOString(),
        1000,
      );
      expect(removed).toBe(4);
      expect(await reads().listMutations({})).toEqual([]);

      // The device never heard back and sends the batch again, twice, and in pieces.
      for (const changes of [batch(), batch().reverse(), batch().slice(2)]) {
        const again = await push(changes);
        for (const result of again.results) {
          expect(result).toMatchObject({ status: 'DUPLICATE', originalStatus: 'APPLIED' });
        }
      }
      const replay = await push(batch());
      // Each answer carries the version its first delivery wrote, read from its history row.
      expect(replay.results.map((r) => r.version)).toEqual([1, 1, 2, 2]);

      expect(await reads().getTenantState()).toEqual(before.state);
      expect(await reads().getEntity('note', 'a')).toEqual(before.a);
      expect(await reads().getEntity('note', 'b')).toEqual(before.b);
      expect(await versionsOf('a')).toEqual(before.historyA);
      expect(await versionsOf('b')).toEqual(before.historyB);

      // The next new change of the device applies as usual; another device's seq 1 too.
      const next = await push([
        change({
          mutationId: 'm5',
          seq: 5,
          entityId: 'a',
          operation: 'UPDATE',
          clientVersion: 2,
          payload: { text: 'later' },
        }),
      ]);
      expect(next.results[0]).toMatchObject({ status: 'APPLIED', version: 3 });
      const phone = await push([change({ mutationId: 'm1', seq: 1, entityId: 'c' })], 'phone');
      expect(phone.results[0]).toMatchObject({ status: 'APPLIED', version: 1 });
    });

    it('keeps the mark below a change that left no record, so it may come again', async () => {
      const ahead = new Date(T0 + 60 * 60_000).toISOString();
      const first = await push([
        change({ mutationId: 'm1', seq: 1, entityId: 'a', timestamp: ahead }),
        change({ mutationId: 'm2', seq: 2, entityId: 'b' }),
      ]);
      expect(first.results.map((r) => r.status)).toEqual(['REJECTED', 'APPLIED']);
      expect(first.results[0]?.error?.code).toBe('FUTURE_TIMESTAMP');
      await new MaintenanceQueries(store).deleteSyncedMutations(
        TENANT,
        new Date(T0 + DAY).toISOString(),
        1000,
      );

      // Restamped, the refused change applies; seq 2, pruned, is still known as applied.
      const again = await push([
        change({ mutationId: 'm1', seq: 1, entityId: 'a' }),
        change({ mutationId: 'm2', seq: 2, entityId: 'b' }),
      ]);
      expect(again.results.map((r) => r.status)).toEqual(['APPLIED', 'DUPLICATE']);
      expect(await versionsOf('a')).toEqual([1]);
      expect(await versionsOf('b')).toEqual([1]);
    });

    it('changes without seq keep the mutation key as their only guard', async () => {
      const plain = change({ mutationId: 'p1', entityId: 'a' });
      expect((await push([plain])).results[0]?.status).toBe('APPLIED');
      expect((await push([plain])).results[0]?.status).toBe('DUPLICATE');
      expect(await reads().transact((tx) => tx.getMutationMark('tablet'))).toBe(0);
    });

    it('one change failing on a store error fails alone: the others commit, a retry applies', async () => {
      failing.id = 'bad';
      const changes = [
        change({ mutationId: 'm1', seq: 1, entityId: 'a' }),
        change({ mutationId: 'm2', seq: 2, entityId: 'bad' }),
        change({ mutationId: 'm3', seq: 3, entityId: 'c' }),
      ];
      const response = await push(changes);
      expect(response.results.map((r) => r.status)).toEqual(['APPLIED', 'REJECTED', 'APPLIED']);
      expect(response.results[1]?.error?.code).toBe('CHANGE_FAILED');
      // The others committed with consecutive seqs; nothing of the failed one is stored.
      expect(
        response.changes
          .map((text) => JSON.parse(text) as ServerChange)
          .map((c) => [c.entityId, c.seq]),
      ).toEqual([
        ['a', 1],
        ['c', 2],
      ]);
      expect((await reads().getTenantState()).seq).toBe(2);
      expect(await reads().getEntity('note', 'bad')).toBeUndefined();
      expect(await reads().listHistory('note', 'bad')).toEqual([]);
      expect(await reads().getMutation('tablet', 'm2')).toBeUndefined();
      expect((await reads().getMutation('tablet', 'm3'))?.status).toBe('SYNCED');
      // The operator sees why; realtime announces only what committed.
      expect(errors).toHaveLength(1);
      expect(errors[0]?.obj).toMatchObject({ mutationId: 'm2', deviceId: 'tablet' });
      const announced = events.flatMap((e) => (e.kind === 'changes' ? e.changes : []));
      expect(announced.map((c) => c.entityId)).toEqual(['a', 'c']);
      // The device's mark stayed below the failed change.
      expect(await reads().transact((tx) => tx.getMutationMark('tablet'))).toBe(1);

      // Once the fault is gone, the device's retry of the same change applies.
      failing.id = null;
      const retry = await push([changes[1] as Change]);
      expect(retry.results[0]).toMatchObject({ status: 'APPLIED', version: 1 });
      expect((await reads().getEntity('note', 'bad'))?.version).toBe(1);
      expect((await reads().getTenantState()).seq).toBe(3);
      expect(await reads().transact((tx) => tx.getMutationMark('tablet'))).toBe(2);
      // … and the whole batch again is only duplicates.
      const replay = await push(changes);
      expect(replay.results.map((r) => r.status)).toEqual(['DUPLICATE', 'DUPLICATE', 'DUPLICATE']);
      expect(await reads().transact((tx) => tx.getMutationMark('tablet'))).toBe(3);
    });
  });
}
