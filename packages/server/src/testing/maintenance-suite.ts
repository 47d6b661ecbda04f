// What each background job does to a tenant's data, run on a real store (SQLite and PostgreSQL
// each call this once): retry, cleanup, pruning (with the reset rule for old sync tokens) and
// alert thresholds. Time is a fake clock the test moves, so "90 days later" takes no time.
import type { Change, PushRequest, ServerChange } from '@syncline/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../engine/actor.js';
import { createCollectionRegistry } from '../engine/collections.js';
import type { SyncEngine } from '../engine/engine-api.js';
import type { Logger } from '../engine/ports.js';
import { createSyncEngine } from '../engine/sync-engine.js';
import { createSchemaCompiler } from '../http/ajv-schema-compiler.js';
import { nodeCrypto } from '../http/node-crypto.js';
import { runJob, systemTenant, type JobDefinition } from '../jobs/job-registry.js';
import { maintenanceJobs } from '../jobs/maintenance-jobs.js';
import {
  createTenantSettingsService,
  type TenantSettingsService,
} from '../jobs/tenant-settings.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { createKyselyOfflineOperationStore } from '../store/kysely-offline-operation-store.js';
import { MaintenanceQueries } from '../store/maintenance-queries.js';
import { offlineRequest } from './offline-request.js';
import { presetCollections } from '../seeds/presets.js';

const DAY = 24 * 60 * 60_000;
const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);
const TENANT = 'clinic';

const silent: Logger = { info() {}, warn() {}, error() {} };

/** The entity ids of a page's changes, which the engine hands over as JSON text. */
const entityIds = (changes: readonly string[]): string[] =>
  changes.map((c) => (JSON.parse(c) as ServerChange).entityId);

export function runMaintenanceSuite(name: string, openStore: () => Promise<KyselySyncStore>) {
  describe(`background jobs on ${name}`, () => {
    let store: KyselySyncStore;
    let engine: SyncEngine;
    let queries: MaintenanceQueries;
    let settings: TenantSettingsService;
    let jobs: Map<string, JobDefinition>;
    let now: number;
    const logged: { level: string; msg: string | undefined; obj: object }[] = [];
    const clock = { now: () => new Date(now) };

    beforeEach(async () => {
      now = T0;
      logged.length = 0;
      store = await openStore();
      engine = createSyncEngine({
        store,
        collections: createCollectionRegistry({}, presetCollections),
        compileSchema: createSchemaCompiler(),
        crypto: nodeCrypto,
        clock,
      });
      queries = new MaintenanceQueries(store);
      settings = createTenantSettingsService({ queries, clock });
      const logger: Logger = {
        info: (obj, msg) => logged.push({ level: 'info', msg, obj }),
        warn: (obj, msg) => logged.push({ level: 'warn', msg, obj }),
        error: (obj, msg) => logged.push({ level: 'error', msg, obj }),
      };
      jobs = new Map(
        maintenanceJobs({ engine, store, queries, settings, logger }).map((j) => [j.name, j]),
      );
    });
    afterEach(async () => {
      await store.close();
    });

    const user = (userId: string, tenant = TENANT): Actor => ({
      tenant,
      userId,
      role: 'user',
      claims: {},
    });
    const change = (over: Partial<Change> & Pick<Change, 'entityId'>): Change => ({
      mutationId: `m-${Math.random().toString(36).slice(2)}`,
      entityType: 'note',
      operation: 'CREATE',
      payload: { text: 'hello' },
      clientVersion: 1,
      timestamp: new Date(now).toISOString(),
      ...over,
    });
    const push = (actor: Actor, deviceId: string, changes: Change[], syncToken?: string) =>
      engine.push(actor, {
        deviceId,
        changes,
        ...(syncToken ? { syncToken } : {}),
      } as PushRequest);
    const run = async (name: string) => {
      const job = jobs.get(name);
      if (!job) throw new Error(`no job ${name}`);
      return runJob(job, new Date(now - (now % job.everyMs)), {
        queries,
        logger: silent,
        now: clock.now,
      });
    };

    it('retry-failed: a FAILED mutation becomes SYNCED once its cause is gone, as its owner', async () => {
      const u1 = user('u1');
      const early = await push(u1, 'tablet', [
        change({ mutationId: 'upd', entityId: 'n1', operation: 'UPDATE', payload: { text: 'b' } }),
      ]);
      expect(early.results[0]?.status).toBe('REJECTED');
      expect((await store.forTenant(TENANT).getMutation('tablet', 'upd'))?.status).toBe('FAILED');

      // Nothing to do yet: the entity is still missing, the mutation stays FAILED.
      expect(await run('retry-failed')).toMatchObject({ retried: 1, applied: 0, stillFailed: 1 });

      await push(u1, 'phone', [change({ mutationId: 'create', entityId: 'n1' })]);
      now += 60_000;
      const details = await run('retry-failed');
      expect(details).toMatchObject({ outcome: 'ok', tenants: 1, retried: 1, applied: 1 });

      const reads = store.forTenant(TENANT);
      const mutation = await reads.getMutation('tablet', 'upd');
      expect(mutation?.status).toBe('SYNCED');
      expect(mutation?.attempts).toBe(3);
      const entity = await reads.getEntity('note', 'n1');
      expect(entity).toMatchObject({ version: 2, payload: { text: 'b' }, updatedBy: 'u1' });

      // Once SYNCED, the next run has nothing to retry.
      expect(await run('retry-failed')).toMatchObject({ tenants: 0, retried: 0 });
      const runs = await store.forTenant(systemTenant).listAudit({ action: 'job:retry-failed' });
      expect(runs).toHaveLength(3);
      expect(runs[0]?.details).toMatchObject({ slot: expect.any(String), outcome: 'ok' });
    });

    it('retry-failed: stops retrying a mutation after the attempt limit', async () => {
      const limited = maintenanceJobs(
        { engine, store, queries, settings, logger: silent },
        { retryMaxAttempts: 2 },
      ).find((j) => j.name === 'retry-failed') as JobDefinition;
      await push(user('u1'), 'tablet', [
        change({ mutationId: 'upd', entityId: 'gone', operation: 'UPDATE', payload: {} }),
      ]);
      const first = await runJob(limited, new Date(now), { queries, logger: silent });
      expect(first).toMatchObject({ retried: 1 });
      const second = await runJob(limited, new Date(now), { queries, logger: silent });
      expect(second).toMatchObject({ retried: 0 });
      expect((await store.forTenant(TENANT).getMutation('tablet', 'upd'))?.attempts).toBe(2);
    });

    it('cleanup-synced: removes only SYNCED mutations older than the tenant retention', async () => {
      const u1 = user('u1');
      await push(u1, 'tablet', [
        change({ mutationId: 'old-1', entityId: 'a' }),
        change({ mutationId: 'old-2', entityId: 'b' }),
        change({ mutationId: 'old-failed', entityId: 'x', operation: 'UPDATE', payload: {} }),
      ]);
      // Another tenant keeps its SYNCED mutations forever.
      await settings.update(
        { ...user('boss', 'shop'), role: 'admin' },
        { retention: { mutationsDays: 0 } },
      );
      await push(user('s1', 'shop'), 'till', [change({ mutationId: 'shop-old', entityId: 'a' })]);
      await run('evaluate-alerts');
      now += 31 * DAY;
      await push(u1, 'tablet', [change({ mutationId: 'recent', entityId: 'c' })]);

      // The month-old job-run row ages out too; this run's own row stays.
      expect(await run('cleanup-synced')).toMatchObject({ removed: 2, runRows: 1 });
      const runs = await store.forTenant(systemTenant).listAudit({});
      expect(runs.map((r) => r.action)).toEqual(['job:cleanup-synced']);
      const left = await store.forTenant(TENANT).listMutations({});
      expect(left.map((m) => m.mutationId).sort()).toEqual(['old-failed', 'recent']);
      expect(await store.forTenant('shop').getMutation('till', 'shop-old')).toBeDefined();
      const audit = await store.forTenant(TENANT).listAudit({ action: 'job:cleanup-synced' });
      expect(audit).toHaveLength(1);
      expect(audit[0]?.details).toMatchObject({ removed: 2 });
      // A repeat of a cleaned-up mutation is not applied twice: the entity is already there.
      const again = await push(u1, 'tablet', [
        change({ mutationId: 'old-1', entityId: 'a', timestamp: new Date(T0).toISOString() }),
      ]);
      expect(again.results[0]?.status).toBe('DUPLICATE');
      expect((await store.forTenant(TENANT).getEntity('note', 'a'))?.version).toBe(1);
    });

    it("cleanup-synced and retry-failed leave seed 003's requests alone", async () => {
      const u1 = user('u1');
      await push(u1, 'till', [change({ mutationId: 'sale-1', entityId: 'a' })]);
      // The device's own request of the same id, synced as long ago, and a failed one.
      const requests = createKyselyOfflineOperationStore(store).forTenant(TENANT);
      const old = new Date(now).toISOString();
      const queued = (operationId: string, status: 'synced' | 'failed') =>
        requests.transact((tx) =>
          tx.insertOperation(
            offlineRequest(old, {
              userId: 'u1',
              deviceId: 'till',
              operationId,
              status,
              syncAttempts: 1,
              syncedAt: status === 'synced' ? old : null,
            }),
          ),
        );
      const synced = await queued('sale-1', 'synced');
      const failed = await queued('sale-2', 'failed');
      now += 31 * DAY;

      expect(await run('cleanup-synced')).toMatchObject({ removed: 1 });
      expect(await store.forTenant(TENANT).getMutation('till', 'sale-1')).toBeUndefined();
      expect(await requests.getOperation(synced)).toMatchObject({ status: 'synced' });
      expect(await run('retry-failed')).toMatchObject({ tenants: 0, retried: 0 });
      expect(await requests.getOperation(failed)).toMatchObject({
        status: 'failed',
        syncAttempts: 1,
      });
    });

    it('prune-history: keeps the latest version and conflict bases, drops old tombstones, and old tokens answer reset', async () => {
      const u1 = user('u1');
      const u2 = user('u2');
      // n1 gets three versions; n2 is created, seen by a device, then deleted.
      await push(u1, 'tablet', [
        change({ entityId: 'n1' }),
        change({ entityId: 'n2' }),
        change({ entityId: 'n3' }),
      ]);
      const seenCreate = await engine.delta(u2, { deviceId: 'phone' });
      expect(entityIds(seenCreate.changes)).toEqual(['n1', 'n2', 'n3']);
      now += 60_000;
      await push(u1, 'tablet', [
        change({ entityId: 'n1', operation: 'UPDATE', clientVersion: 1, payload: { text: 'v2' } }),
        change({ entityId: 'n2', operation: 'DELETE', clientVersion: 1, payload: null }),
        change({ entityId: 'n3', operation: 'UPDATE', clientVersion: 1, payload: { text: 'v2' } }),
      ]);
      now += 60_000;
      await push(u1, 'tablet', [
        change({ entityId: 'n1', operation: 'UPDATE', clientVersion: 2, payload: { text: 'v3' } }),
      ]);
      // A stale edit of n3 on version 1 waits for a person: version 1 is its MERGE base.
      const stale = await push(u2, 'phone', [
        change({
          entityId: 'n3',
          operation: 'UPDATE',
          clientVersion: 1,
          payload: { other: 1 },
          conflictStrategy: 'MANUAL',
        }),
      ]);
      expect(stale.results[0]?.status).toBe('CONFLICT');
      await push(u1, 'tablet', [
        change({ entityId: 'n3', operation: 'UPDATE', clientVersion: 2, payload: { text: 'v3' } }),
      ]);
      const upToDate = await engine.delta(u2, {
        deviceId: 'phone',
        syncToken: seenCreate.syncToken,
      });
      expect(upToDate.reset).toBeUndefined();

      now += 91 * DAY;
      // A device that synced after everything above keeps its place.
      const fresh = await engine.delta(u2, { deviceId: 'laptop' });
      const details = await run('prune-history');
      expect(details).toMatchObject({ outcome: 'ok', tombstones: 1 });

      const reads = store.forTenant(TENANT);
      const versions = async (id: string) =>
        (await reads.listHistory('note', id)).map((h) => h.version).sort();
      expect(await versions('n1')).toEqual([3]);
      expect(await versions('n3')).toEqual([1, 3]);
      expect(await versions('n2')).toEqual([]);
      expect(await reads.getEntity('note', 'n2')).toBeUndefined();
      expect((await reads.getEntity('note', 'n1'))?.payload).toEqual({ text: 'v3' });

      // The phone's token predates n2's pruned delete: it must start over, or it would keep n2.
      const old = await engine.delta(u2, { deviceId: 'phone', syncToken: seenCreate.syncToken });
      expect(old.reset).toBe(true);
      expect(entityIds(old.changes).sort()).toEqual(['n1', 'n3', 'n3']);
      // A token that already saw every pruned row (the delete included) keeps its place.
      const seenAll = await engine.delta(u2, { deviceId: 'phone', syncToken: upToDate.syncToken });
      expect(seenAll.reset).toBeUndefined();
      const kept = await engine.delta(u2, { deviceId: 'laptop', syncToken: fresh.syncToken });
      expect(kept.reset).toBeUndefined();
      expect(kept.changes).toEqual([]);
      // So must a pull by a timestamp from before the pruning horizon.
      const byTime = await engine.delta(u2, {
        deviceId: 'phone',
        lastSyncTimestamp: new Date(T0 + 30_000).toISOString(),
      });
      expect(byTime.reset).toBe(true);

      // The MERGE base survives, so the person can still merge.
      const conflictId = stale.results[0]?.conflictId as string;
      expect((await reads.getConflict(conflictId))?.status).toBe('PENDING_REVIEW');
      const audit = await reads.listAudit({ action: 'job:prune-history' });
      expect(audit).toHaveLength(1);

      // A second run finds nothing more to prune and leaves the tokens as they are.
      expect(await run('prune-history')).toMatchObject({ versions: 0, tombstones: 0 });
      const again = await engine.delta(u2, { deviceId: 'laptop', syncToken: kept.syncToken });
      expect(again.reset).toBeUndefined();
    });

    it('evaluate-alerts: a device over the failure-rate threshold raises one alert, cleared when it recovers', async () => {
      const u1 = user('u1');
      await push(u1, 'flaky', [
        change({ entityId: 'ok' }),
        ...['p', 'q', 'r', 's'].map((id) =>
          change({ mutationId: `fail-${id}`, entityId: id, operation: 'UPDATE', payload: {} }),
        ),
      ]);
      await push(
        u1,
        'steady',
        [1, 2, 3, 4, 5].map((i) => change({ entityId: `s${i}` })),
      );

      const logger = {
        ...silent,
        warn: (obj: object, msg?: string) => logged.push({ level: 'warn', msg, obj }),
      };
      const alerts = maintenanceJobs({ engine, store, queries, settings, logger }).find(
        (j) => j.name === 'evaluate-alerts',
      ) as JobDefinition;
      const evaluate = () =>
        runJob(alerts, new Date(now), { queries, logger: silent, now: clock.now });

      expect(await evaluate()).toMatchObject({ raised: 1, active: 1 });
      now += 60_000;
      expect(await evaluate()).toMatchObject({ raised: 0, active: 1 });
      const reads = store.forTenant(TENANT);
      const raised = await reads.listAudit({ action: 'alert.raised' });
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({
        actor: 'system',
        target: 'flaky',
        details: { kind: 'device-failure-rate', value: 80, threshold: 10 },
      });
      expect(logged.filter((l) => l.level === 'warn')).toHaveLength(1);

      // The missing entities arrive and the retry job settles the failures.
      await push(
        u1,
        'steady',
        ['p', 'q', 'r', 's'].map((id) => change({ entityId: id })),
      );
      await run('retry-failed');
      expect(await evaluate()).toMatchObject({ raised: 0, cleared: 1, active: 0 });
      expect(await reads.listAudit({ action: 'alert.cleared' })).toHaveLength(1);
      expect(await queries.listAlerts(TENANT)).toEqual([]);
    });

    it('evaluate-alerts: pending conflicts and sync delay over the tenant thresholds', async () => {
      const boss: Actor = { ...user('boss'), role: 'admin' };
      await settings.update(boss, { alerts: { pendingConflicts: 0, syncDelayMinutes: 60 } });
      const u1 = user('u1');
      await push(u1, 'tablet', [change({ entityId: 'n1' })]);
      await push(u1, 'tablet', [
        change({ entityId: 'n1', operation: 'UPDATE', payload: { text: 'v2' } }),
      ]);
      // Made three hours ago on version 1, arriving now: a conflict, and a long sync delay.
      await push(u1, 'late', [
        change({
          entityId: 'n1',
          operation: 'UPDATE',
          clientVersion: 1,
          payload: { text: 'x' },
          conflictStrategy: 'MANUAL',
          timestamp: new Date(now - 3 * 60 * 60_000).toISOString(),
        }),
      ]);
      const details = await run('evaluate-alerts');
      expect(details).toMatchObject({ raised: 2 });
      const raised = await store.forTenant(TENANT).listAudit({ action: 'alert.raised' });
      expect(raised.map((r) => [r.target, (r.details as { kind: string }).kind]).sort()).toEqual([
        ['late', 'sync-delay'],
        ['tenant', 'pending-conflicts'],
      ]);
    });
  });
}
