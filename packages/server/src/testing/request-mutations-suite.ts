// Seed 003's requests and the engine's changes in one mutations table, on a real store: separate
// key spaces for the same device and id, one arrival order per tenant, and each reader of changes
// (seed 001's queue and stats, lookups, updates, the cleanup and retry queries, the metrics)
// blind to requests. Each store's test file is one call.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MutationRecord } from '../engine/ports.js';
import type { NewOfflineOperation, OfflineOperationStore } from '../replay/ports.js';
import { DashboardQueries } from '../store/dashboard-queries.js';
import { createKyselyOfflineOperationStore } from '../store/kysely-offline-operation-store.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { MaintenanceQueries } from '../store/maintenance-queries.js';
import { offlineRequest } from './offline-request.js';

const at = (minute: number) => `2024-02-03T18:${String(minute).padStart(2, '0')}:00.000Z`;

const change = (over: Partial<MutationRecord> = {}): MutationRecord => ({
  deviceId: 'till-1',
  mutationId: 'sale-1',
  userId: 'cashier',
  entityType: 'sale',
  entityId: 'e-1',
  operation: 'CREATE',
  payload: { total: 1 },
  clientVersion: 1,
  clientTimestamp: at(0),
  status: 'SYNCED',
  attempts: 1,
  result: { status: 'APPLIED', version: 1 },
  error: null,
  conflictId: null,
  conflictStrategy: null,
  createdAt: at(1),
  updatedAt: at(1),
  ...over,
});

/** Synced on its first attempt, by default. */
const request = (over: Partial<NewOfflineOperation> = {}): NewOfflineOperation =>
  offlineRequest(at(2), {
    status: 'synced',
    syncAttempts: 1,
    statusCode: 201,
    serverResponse: { id: 'srv-1' },
    serverId: 'srv-1',
    networkType: 'wifi',
    lastAttemptAt: at(2),
    syncedAt: at(2),
    ...over,
  });

export function runRequestMutationsSuite(name: string, openStore: () => Promise<KyselySyncStore>) {
  describe(`request and change mutations on ${name}`, () => {
    let store: KyselySyncStore;
    let offline: OfflineOperationStore;
    let tenantCounter = 0;
    let tenant: string;

    beforeEach(async () => {
      store = await openStore();
      offline = createKyselyOfflineOperationStore(store);
      tenant = `shop-${++tenantCounter}-${Date.now().toString(36)}`;
    });
    afterEach(async () => {
      await store.close();
    });

    const queueRequest = (over: Partial<NewOfflineOperation> = {}) =>
      offline.forTenant(tenant).transact((tx) => tx.insertOperation(request(over)));
    const insertChanges = (...records: MutationRecord[]) =>
      store.forTenant(tenant).transact((tx) => tx.insertMutations(records));
    const arrivals = async () =>
      (
        await store.db
          .selectFrom('mutations')
          .select(['kind', 'mutation_id', 'arrival'])
          .where('tenant', '=', tenant)
          .orderBy('arrival')
          .execute()
      ).map((r) => `${r.kind}:${r.mutation_id}@${Number(r.arrival)}`);

    it('a request and a change with the same device and id coexist, each in its own key space', async () => {
      await insertChanges(change());
      const id = await queueRequest();
      // A change after the request continues the tenant's one arrival order.
      await insertChanges(change({ mutationId: 'sale-2', entityId: 'e-2' }));
      expect(await arrivals()).toEqual(['change:sale-1@1', 'request:sale-1@2', 'change:sale-2@3']);

      const reads = store.forTenant(tenant);
      const requests = offline.forTenant(tenant);
      expect(await reads.getMutation('till-1', 'sale-1')).toEqual(change());
      expect(await requests.findByOperationId('till-1', 'sale-1')).toEqual({ id, ...request() });

      // An update of one never touches the other.
      await reads.transact((tx) =>
        tx.updateMutation('till-1', 'sale-1', { status: 'FAILED', attempts: 5 }),
      );
      await requests.transact((tx) =>
        tx.updateOperation(id, { status: 'conflict', conflictData: { theirs: { total: 3 } } }),
      );
      expect(await reads.getMutation('till-1', 'sale-1')).toMatchObject({
        status: 'FAILED',
        attempts: 5,
        payload: { total: 1 },
      });
      expect(await requests.getOperation(id)).toEqual({
        id,
        ...request({ status: 'conflict', conflictData: { theirs: { total: 3 } } }),
      });
      // The push path's set lookup sees the change alone.
      const found = await reads.transact((tx) => tx.getMutations('till-1', ['sale-1', 'sale-2']));
      expect(found.map((m) => m.entityId).sort()).toEqual(['e-1', 'e-2']);
    });

    it('seed 001 queue listings and stats list changes only', async () => {
      await queueRequest({ status: 'pending', nextAttemptAt: at(3) });
      await queueRequest({ operationId: 'sale-9', status: 'failed' });
      await insertChanges(change({ mutationId: 'sale-3', status: 'PENDING' }));
      const reads = store.forTenant(tenant);

      const ids = (found: MutationRecord[]) => found.map((m) => m.mutationId);
      expect(ids(await reads.listMutations({}))).toEqual(['sale-3']);
      expect(ids(await reads.listMutations({ deviceId: 'till-1', userId: 'cashier' }))).toEqual([
        'sale-3',
      ]);
      expect(await reads.listMutations({ statuses: ['FAILED'] })).toEqual([]);
      expect(await reads.listMutations({ mutationIds: ['sale-1', 'sale-9'] })).toEqual([]);
      expect(await reads.countMutations({ userId: 'cashier' })).toEqual({
        PENDING: 1,
        SYNCING: 0,
        SYNCED: 0,
        CONFLICT: 0,
        FAILED: 0,
      });
      await expect(
        reads.transact((tx) => tx.updateMutation('till-1', 'sale-9', { attempts: 2 })),
      ).rejects.toThrow(/no mutation/);
      expect(await offline.forTenant(tenant).countByStatus({})).toMatchObject({
        pending: 1,
        failed: 1,
      });
    });

    it('the cleanup, retry, alert and metrics queries leave requests out', async () => {
      await queueRequest({ syncedAt: at(1), updatedAt: at(1) });
      await queueRequest({ operationId: 'sale-2', status: 'failed', updatedAt: at(1) });
      await insertChanges(change({ mutationId: 'sale-3', updatedAt: at(1) }));
      const queries = new MaintenanceQueries(store);

      expect(await queries.tenantsWithMutations('FAILED')).not.toContain(tenant);
      expect(await queries.deleteSyncedMutations(tenant, at(59), 100)).toBe(1);
      const requests = offline.forTenant(tenant);
      expect((await requests.listOperations({})).map((o) => o.operationId)).toEqual([
        'sale-1',
        'sale-2',
      ]);
      expect(await queries.tenantsWithMutations('SYNCED')).not.toContain(tenant);
      expect(await queries.deviceFailures(tenant, at(0))).toEqual([]);
      expect((await queries.syncDelays(tenant, at(0))).size).toBe(0);
      const totals = await new DashboardQueries(store).serverTotals(at(0));
      const failedRequests = await store.db
        .selectFrom('mutations')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('status', '=', 'FAILED')
        .executeTakeFirstOrThrow();
      expect(Number(failedRequests.n)).toBeGreaterThan(totals.failedMutations);

      // Seed 003's own cleanup removes its synced requests, and no change.
      await insertChanges(change({ mutationId: 'sale-4', updatedAt: at(1) }));
      expect(await requests.transact((tx) => tx.deleteSyncedBefore(at(59), {}, 100))).toBe(1);
      expect(await store.forTenant(tenant).getMutation('till-1', 'sale-4')).toBeDefined();
      expect((await requests.listOperations({})).map((o) => o.operationId)).toEqual(['sale-2']);
    });
  });
}
