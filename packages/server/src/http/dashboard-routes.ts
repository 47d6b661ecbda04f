// The admin dashboard's read routes under /api/sync/admin: overview figures, activity over time,
// alerts, the audit log, devices with their health, the conflict inbox, the mutation queue,
// entity search and the collections' conflict defaults. Tenant admins only, each within the
// caller's tenant; the dashboard's actions use the canonical routes (resolve, revoke, restore).
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import {
  conflictSchema,
  decodeSyncToken,
  deviceIdSchema,
  entityTypeSchema,
  isoTimestampSchema,
  jsonObjectSchema,
  limitsDefaults,
  type MutationStatus,
} from '@syncline/protocol';
import type { Actor } from '../engine/actor.js';
import { requireAdmin } from '../engine/authorize.js';
import type { AccessRule, CollectionRegistry } from '../engine/collections.js';
import type { SyncEngine } from '../engine/engine-api.js';
import { SyncError } from '../engine/errors.js';
import type { ConflictRecord, DeviceRecord } from '../engine/ports.js';
import { toWireConflict } from '../engine/wire.js';
import { firingAlerts } from '../jobs/maintenance-jobs.js';
import {
  tenantSettingsDefaults,
  type AlertSettings,
  type TenantSettingsService,
} from '../jobs/tenant-settings.js';
import { DashboardQueries, type ActivityBucket } from '../store/dashboard-queries.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { MaintenanceQueries } from '../store/maintenance-queries.js';
import { actorOf } from './auth.js';
import { mutationCountsSchema, withErrors } from './schemas.js';

export interface DashboardRoutesOptions {
  store: KyselySyncStore;
  engine: SyncEngine;
  collections: CollectionRegistry;
  /** The tenant's alert thresholds; the server defaults without it. */
  tenantSettings?: TenantSettingsService | undefined;
  clock?: { now(): Date };
}

const count = Type.Integer({ minimum: 0 });
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const closed = { additionalProperties: false } as const;
const limitQuery = (max: number) => Type.Optional(Type.Integer({ minimum: 1, maximum: max }));
const userIdSchema = Type.String({ minLength: 1, maxLength: 256 });

const alertSchema = Type.Object({
  kind: Type.String(),
  /** A device id, or `tenant`. */
  subject: Type.String(),
  value: Type.Number(),
  threshold: Type.Number(),
  message: Type.String(),
  /** When the alerts job first recorded it; null when it has not run since it began firing. */
  raisedAt: nullable(isoTimestampSchema),
});

const alertsSchema = Type.Object({
  alerts: Type.Array(alertSchema),
  evaluatedAt: isoTimestampSchema,
});

const deviceHealthSchema = Type.Object({
  deviceId: Type.String(),
  userId: Type.String(),
  deviceName: nullable(Type.String()),
  platform: nullable(Type.String()),
  appVersion: nullable(Type.String()),
  /** The app's local schema versions as it last sent them (`assets=1,visits=3`). */
  schemaVersions: nullable(Type.String()),
  lastSyncAt: nullable(isoTimestampSchema),
  isActive: Type.Boolean(),
  createdAt: isoTimestampSchema,
  /** Feed changes committed after the device's last pull; null before its first pull. */
  changesBehind: nullable(count),
  /** Active, and no sync within the tenant's sync-delay threshold. */
  lagging: Type.Boolean(),
  /** Mutations the device sent within the alert window, and how many of them FAILED. */
  mutations: count,
  failed: count,
  failureRatePercent: nullable(Type.Number()),
});

const overviewSchema = Type.Object({
  tenant: Type.String(),
  userId: Type.String(),
  serverTime: isoTimestampSchema,
  pendingConflicts: count,
  mutations: mutationCountsSchema,
  devices: Type.Object({ total: count, active: count, lagging: count, revoked: count }),
  alerts: Type.Array(alertSchema),
  /** The window the failure rates look back over, and the lag threshold. */
  thresholds: Type.Object({ windowHours: count, syncDelayMinutes: count }),
});

const activityQuery = Type.Object(
  {
    bucket: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])),
    /** Buckets to return, ending with the current one (default 24 hours or 30 days). */
    buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: 744 })),
  },
  closed,
);
const activityBucketSchema = Type.Object({
  start: isoTimestampSchema,
  syncs: count,
  pushed: count,
  applied: count,
  duplicates: count,
  conflicts: count,
  rejected: count,
  pulled: count,
  failedSyncs: count,
});
const activitySchema = Type.Object({
  bucket: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  from: isoTimestampSchema,
  to: isoTimestampSchema,
  series: Type.Array(activityBucketSchema),
  totals: Type.Omit(activityBucketSchema, ['start']),
});

const auditQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    actor: Type.Optional(userIdSchema),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: limitsDefaults.maxRowId })),
    limit: limitQuery(500),
  },
  closed,
);
const auditSchema = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      actor: Type.String(),
      action: Type.String(),
      target: nullable(Type.String()),
      details: nullable(jsonObjectSchema),
      createdAt: isoTimestampSchema,
    }),
  ),
  /** Every action in the tenant's log, for the filter. */
  actions: Type.Array(Type.String()),
  /** Pass as `before` for the next page; null on the last page. */
  nextBefore: nullable(Type.Integer()),
});

const syncHistorySchema = Type.Object({
  id: Type.Integer(),
  userId: Type.String(),
  deviceId: nullable(Type.String()),
  route: Type.String(),
  pushed: count,
  applied: count,
  duplicates: count,
  conflicts: count,
  rejected: count,
  pulled: count,
  durationMs: count,
  outcome: Type.Union([Type.Literal('ok'), Type.Literal('partial'), Type.Literal('error')]),
  networkType: nullable(Type.String()),
  createdAt: isoTimestampSchema,
});

const adminConflictSchema = Type.Composite([
  conflictSchema,
  Type.Object({ userId: Type.String() }),
]);
const conflictsQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('PENDING_REVIEW'), Type.Literal('RESOLVED'), Type.Literal('ALL')]),
    ),
    entityType: Type.Optional(entityTypeSchema),
    userId: Type.Optional(userIdSchema),
    deviceId: Type.Optional(deviceIdSchema),
    limit: limitQuery(1000),
  },
  closed,
);

const mutationStatusSchema = Type.Union(
  (['PENDING', 'SYNCING', 'SYNCED', 'CONFLICT', 'FAILED'] as const).map((s) => Type.Literal(s)),
);
const mutationsQuery = Type.Object(
  {
    status: Type.Optional(mutationStatusSchema),
    deviceId: Type.Optional(deviceIdSchema),
    userId: Type.Optional(userIdSchema),
    limit: limitQuery(1000),
  },
  closed,
);
const errorBody = Type.Object({ code: Type.String(), message: Type.String() });
const mutationSchema = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  userId: Type.String(),
  entityType: Type.String(),
  entityId: Type.String(),
  operation: Type.String(),
  payload: nullable(jsonObjectSchema),
  clientVersion: Type.Integer(),
  clientTimestamp: Type.String(),
  status: mutationStatusSchema,
  attempts: count,
  error: nullable(errorBody),
  conflictId: nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const entitiesQuery = Type.Object(
  {
    entityType: Type.Optional(entityTypeSchema),
    /** Part of an entity id. */
    q: Type.Optional(Type.String({ maxLength: 256 })),
    limit: limitQuery(200),
  },
  closed,
);
const entitiesSchema = Type.Object({
  entities: Type.Array(
    Type.Object({
      entityType: Type.String(),
      entityId: Type.String(),
      version: Type.Integer(),
      updatedAt: Type.String(),
      updatedBy: Type.String(),
      deviceId: nullable(Type.String()),
      deletedAt: nullable(Type.String()),
    }),
  ),
  types: Type.Array(Type.Object({ entityType: Type.String(), count: count })),
});

const strategySchema = Type.String();
const collectionsSchema = Type.Object({
  defaultStrategy: strategySchema,
  strict: Type.Boolean(),
  collections: Type.Array(
    Type.Object({
      name: Type.String(),
      conflictStrategy: strategySchema,
      /** True when the collection names its own strategy, false when it takes the default. */
      ownStrategy: Type.Boolean(),
      access: Type.String(),
      mergePolicy: Type.Record(Type.String(), Type.String()),
      timeDetector: nullable(
        Type.Object({ fields: Type.Array(Type.String()), toleranceMs: count }),
      ),
      clientWinsAdminOnly: Type.Boolean(),
      hasSchema: Type.Boolean(),
    }),
  ),
});

type DeviceHealth = Static<typeof deviceHealthSchema>;

const HOUR_MS = 60 * 60_000;
const bucketMs = { hour: HOUR_MS, day: 24 * HOUR_MS } as const;

/** The route's guard already refused users; this keeps the queries safe if it ever moves. */
function adminOf(request: { actor: Actor | null }): Actor {
  const actor = actorOf(request);
  requireAdmin(actor);
  return actor;
}

const withUser = (record: ConflictRecord) => ({ ...toWireConflict(record), userId: record.userId });

export const dashboardRoutesPlugin = fp<DashboardRoutesOptions>(
  async (instance, options) => {
    const { store, engine, collections } = options;
    const clock = options.clock ?? { now: () => new Date() };
    const queries = new DashboardQueries(store);
    const maintenance = new MaintenanceQueries(store);
    const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['admin'];
    const admin = { auth: 'admin' } as const;

    /** For the routes that show sync times and history: what pulls left to note is written first. */
    async function syncedAdminOf(request: { actor: Actor | null }): Promise<Actor> {
      const actor = adminOf(request);
      await engine.flushSyncNotes(actor.tenant);
      return actor;
    }

    async function thresholdsOf(actor: Actor): Promise<AlertSettings> {
      if (!options.tenantSettings) return tenantSettingsDefaults.alerts;
      return (await options.tenantSettings.get(actor)).settings.alerts;
    }

    async function alertsOf(actor: Actor, thresholds: AlertSettings, now: Date) {
      const [firing, raised] = await Promise.all([
        firingAlerts(maintenance, actor.tenant, thresholds, now),
        maintenance.listAlerts(actor.tenant),
      ]);
      const raisedAt = new Map(raised.map((a) => [`${a.kind}\u0000${a.subject}`, a.raisedAt]));
      return firing.map((a) => ({
        ...a,
        raisedAt: raisedAt.get(`${a.kind}\u0000${a.subject}`) ?? null,
      }));
    }

    /** Every device of the tenant with its lag and failure rate over the alert window. */
    async function deviceHealth(
      actor: Actor,
      thresholds: AlertSettings,
      now: Date,
      only?: DeviceRecord,
    ): Promise<DeviceHealth[]> {
      const tenant = store.forTenant(actor.tenant);
      const since = new Date(now.getTime() - thresholds.windowHours * HOUR_MS).toISOString();
      const lagBefore = now.getTime() - thresholds.syncDelayMinutes * 60_000;
      const [devices, state, failures] = await Promise.all([
        only ? [only] : tenant.listDevices({}),
        tenant.getTenantState(),
        maintenance.deviceFailures(actor.tenant, since),
      ]);
      const failuresOf = new Map(failures.map((f) => [f.deviceId, f]));
      return devices.map((device) => {
        const cursor = device.syncToken ? decodeSyncToken(device.syncToken) : undefined;
        const usage = failuresOf.get(device.deviceId);
        const total = usage?.total ?? 0;
        const failed = usage?.failed ?? 0;
        const lastSync = device.lastSyncAt ? Date.parse(device.lastSyncAt) : undefined;
        return {
          deviceId: device.deviceId,
          userId: device.userId,
          deviceName: device.deviceName,
          platform: device.platform,
          appVersion: device.appVersion,
          schemaVersions: device.schemaVersions,
          lastSyncAt: device.lastSyncAt,
          isActive: device.isActive,
          createdAt: device.createdAt,
          changesBehind: cursor ? Math.max(0, state.seq - cursor.seq) : null,
          lagging: device.isActive && (lastSync === undefined || lastSync < lagBefore),
          mutations: total,
          failed,
          failureRatePercent: total === 0 ? null : Math.round((failed / total) * 10_000) / 100,
        };
      });
    }

    fastify.get(
      '/api/sync/admin/overview',
      {
        config: admin,
        schema: {
          tags,
          summary: 'The tenant at a glance: conflicts, queue, devices and alerts firing now',
          response: withErrors({ 200: overviewSchema }),
        },
      },
      async (request) => {
        const actor = await syncedAdminOf(request);
        const now = clock.now();
        const tenant = store.forTenant(actor.tenant);
        const thresholds = await thresholdsOf(actor);
        const [pending, mutations, devices, alerts] = await Promise.all([
          maintenance.countPendingConflicts(actor.tenant),
          tenant.countMutations({}),
          deviceHealth(actor, thresholds, now),
          alertsOf(actor, thresholds, now),
        ]);
        return {
          tenant: actor.tenant,
          userId: actor.userId,
          serverTime: now.toISOString(),
          pendingConflicts: pending,
          mutations,
          devices: {
            total: devices.length,
            active: devices.filter((d) => d.isActive && !d.lagging).length,
            lagging: devices.filter((d) => d.lagging).length,
            revoked: devices.filter((d) => !d.isActive).length,
          },
          alerts,
          thresholds: {
            windowHours: thresholds.windowHours,
            syncDelayMinutes: thresholds.syncDelayMinutes,
          },
        };
      },
    );

    fastify.get(
      '/api/sync/admin/activity',
      {
        config: admin,
        schema: {
          tags,
          summary: 'Syncs, changes, conflicts and failures per hour or per day',
          querystring: activityQuery,
          response: withErrors({ 200: activitySchema }),
        },
      },
      async (request) => {
        const actor = await syncedAdminOf(request);
        const bucket = request.query.bucket ?? 'hour';
        const size = bucketMs[bucket];
        const buckets = request.query.buckets ?? (bucket === 'hour' ? 24 : 30);
        const now = clock.now().getTime();
        const from = Math.floor(now / size) * size - (buckets - 1) * size;
        const rows = await queries.activity(actor.tenant, {
          from: new Date(from).toISOString(),
          bucket,
        });
        const byStart = new Map(rows.map((row) => [Date.parse(row.start), row]));
        const series: ActivityBucket[] = [];
        for (let start = from; start <= now; start += size) {
          series.push(byStart.get(start) ?? emptyBucket(new Date(start).toISOString()));
        }
        const { start: _start, ...zero } = emptyBucket('');
        const totals = series.reduce((sum, b) => {
          for (const key of Object.keys(zero) as (keyof typeof zero)[]) sum[key] += b[key];
          return sum;
        }, zero);
        return {
          bucket,
          from: new Date(from).toISOString(),
          to: new Date(now).toISOString(),
          series,
          totals,
        };
      },
    );

    fastify.get(
      '/api/sync/admin/alerts',
      {
        config: admin,
        schema: {
          tags,
          summary: "The tenant's alert thresholds that are exceeded now",
          response: withErrors({ 200: alertsSchema }),
        },
      },
      async (request) => {
        const actor = await syncedAdminOf(request);
        const now = clock.now();
        return {
          alerts: await alertsOf(actor, await thresholdsOf(actor), now),
          evaluatedAt: now.toISOString(),
        };
      },
    );

    fastify.get(
      '/api/sync/admin/audit',
      {
        config: admin,
        schema: {
          tags,
          summary: 'The audit log, newest first: resolves, retries, revokes, restores, config…',
          querystring: auditQuery,
          response: withErrors({ 200: auditSchema }),
        },
      },
      async (request) => {
        const actor = adminOf(request);
        const { limit = 100, ...filter } = request.query;
        const [rows, actions] = await Promise.all([
          queries.audit(actor.tenant, { ...filter, limit: limit + 1 }),
          queries.auditActions(actor.tenant),
        ]);
        const entries = rows.slice(0, limit);
        return {
          entries,
          actions,
          nextBefore: rows.length > limit ? (entries.at(-1)?.id ?? null) : null,
        };
      },
    );

    fastify.get(
      '/api/sync/admin/devices',
      {
        config: admin,
        schema: {
          tags,
          summary: "The tenant's devices with last sync, lag and failure rate",
          response: withErrors({ 200: Type.Object({ devices: Type.Array(deviceHealthSchema) }) }),
        },
      },
      async (request) => {
        const actor = await syncedAdminOf(request);
        return { devices: await deviceHealth(actor, await thresholdsOf(actor), clock.now()) };
      },
    );

    fastify.get(
      '/api/sync/admin/devices/:deviceId/history',
      {
        config: admin,
        schema: {
          tags,
          summary: "One device's health and its recent sync requests, newest first",
          params: Type.Object({ deviceId: deviceIdSchema }),
          querystring: Type.Object({ limit: limitQuery(500) }, closed),
          response: withErrors({
            200: Type.Object({
              device: deviceHealthSchema,
              history: Type.Array(syncHistorySchema),
            }),
          }),
        },
      },
      async (request) => {
        const actor = await syncedAdminOf(request);
        const { deviceId } = request.params;
        const device = await store.forTenant(actor.tenant).getDevice(deviceId);
        if (!device) throw new SyncError('NOT_FOUND', `Device ${deviceId} not found`);
        const [health] = await deviceHealth(actor, await thresholdsOf(actor), clock.now(), device);
        const history = await queries.syncHistory(actor.tenant, {
          deviceId,
          limit: request.query.limit ?? 50,
        });
        return { device: health as DeviceHealth, history };
      },
    );

    fastify.get(
      '/api/sync/admin/conflicts',
      {
        config: admin,
        schema: {
          tags,
          summary: 'The conflict inbox with the user of each change, newest first',
          querystring: conflictsQuery,
          response: withErrors({
            200: Type.Object({ conflicts: Type.Array(adminConflictSchema) }),
          }),
        },
      },
      async (request) => {
        const actor = adminOf(request);
        const { status = 'PENDING_REVIEW', limit = 200, ...filter } = request.query;
        const rows = await store.forTenant(actor.tenant).listConflicts({
          ...filter,
          ...(status !== 'ALL' ? { status } : {}),
          limit,
        });
        return { conflicts: rows.map(withUser) };
      },
    );

    fastify.get(
      '/api/sync/admin/conflicts/:id',
      {
        config: admin,
        schema: {
          tags,
          summary: 'One conflict with its base, server and device versions',
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
          response: withErrors({ 200: Type.Object({ conflict: adminConflictSchema }) }),
        },
      },
      async (request) => {
        const actor = adminOf(request);
        const conflict = await store.forTenant(actor.tenant).getConflict(request.params.id);
        if (!conflict) throw new SyncError('NOT_FOUND', `Conflict ${request.params.id} not found`);
        return { conflict: withUser(conflict) };
      },
    );

    fastify.get(
      '/api/sync/admin/mutations',
      {
        config: admin,
        schema: {
          tags,
          summary: 'The server-side sync queue (seed 001): mutations by status, in arrival order',
          querystring: mutationsQuery,
          response: withErrors({ 200: Type.Object({ mutations: Type.Array(mutationSchema) }) }),
        },
      },
      async (request) => {
        const actor = adminOf(request);
        const { status, limit = 200, ...filter } = request.query;
        const statuses: MutationStatus[] = status ? [status] : ['PENDING', 'FAILED', 'CONFLICT'];
        const rows = await engine.listMutations(actor, { ...filter, statuses, limit });
        return {
          mutations: rows.map(
            ({ mutationId, result: _result, conflictStrategy: _strategy, ...row }) => ({
              id: mutationId,
              ...row,
            }),
          ),
        };
      },
    );

    fastify.get(
      '/api/sync/admin/entities',
      {
        config: admin,
        schema: {
          tags,
          summary: 'Find entities by type and part of their id, most recently changed first',
          querystring: entitiesQuery,
          response: withErrors({ 200: entitiesSchema }),
        },
      },
      async (request) => {
        const actor = adminOf(request);
        const { entityType, q, limit = 50 } = request.query;
        const [entities, types] = await Promise.all([
          queries.searchEntities(actor.tenant, {
            ...(entityType !== undefined ? { entityType } : {}),
            ...(q !== undefined ? { idContains: q.trim() } : {}),
            limit,
          }),
          queries.entityTypes(actor.tenant),
        ]);
        return { entities, types };
      },
    );

    fastify.get(
      '/api/sync/admin/collections',
      {
        config: admin,
        schema: {
          tags,
          summary: 'Each collection with the conflict strategy and merge policy it applies',
          response: withErrors({ 200: collectionsSchema }),
        },
      },
      async (request) => {
        adminOf(request);
        return {
          defaultStrategy: collections.defaultStrategy,
          strict: collections.strict,
          collections: collections.names().map((name) => {
            const c = collections.get(name);
            return {
              name,
              conflictStrategy: c.conflictStrategy ?? collections.defaultStrategy,
              ownStrategy: c.conflictStrategy !== undefined,
              access: describeAccess(c.access),
              mergePolicy: Object.fromEntries(
                Object.entries(c.mergePolicy).map(([field, policy]) => [field, String(policy)]),
              ),
              timeDetector: c.timeDetector
                ? { fields: [...c.timeDetector.fields], toleranceMs: c.timeDetector.toleranceMs }
                : null,
              clientWinsAdminOnly: c.clientWinsAdminOnly,
              hasSchema: c.schema !== undefined,
            };
          }),
        };
      },
    );
  },
  { name: 'syncline-dashboard-routes', dependencies: ['syncline-auth'], fastify: '5.x' },
);

function emptyBucket(start: string): ActivityBucket {
  return {
    start,
    syncs: 0,
    pushed: 0,
    applied: 0,
    duplicates: 0,
    conflicts: 0,
    rejected: 0,
    pulled: 0,
    failedSyncs: 0,
  };
}

/** An access rule in words, as the settings page shows it. */
function describeAccess(rule: AccessRule): string {
  if (Array.isArray(rule)) return rule.map(describeAccess).join(' and ');
  if (typeof rule === 'string') return rule;
  return `${rule.field} in the token's ${rule.claim}`;
}
