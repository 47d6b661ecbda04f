// Read-only queries behind the admin dashboard and /metrics: activity over time, sync history
// and audit rows with filters, entity search, and server-wide totals. They aggregate across a
// tenant's rows, which the engine's per-change port does not offer, so they live beside it. Every
// per-tenant method takes the tenant first and filters by it: the wall holds here as everywhere.
import { sql, type Kysely } from 'kysely';
import type { JsonObject } from '../engine/ports.js';
import type { KyselySyncStore } from './kysely-sync-store.js';
import { changesOnly } from './mutation-kinds.js';
import type { Database } from './schema.js';

export type ActivityBucketSize = 'hour' | 'day';

/** One bucket of the sync history: requests and what they carried. */
export interface ActivityBucket {
  /** Start of the bucket, ISO (UTC). */
  start: string;
  syncs: number;
  pushed: number;
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  pulled: number;
  /** Sync requests that failed as a whole or in part (outcome `partial` or `error`). */
  failedSyncs: number;
}

export interface SyncHistoryRow {
  id: number;
  userId: string;
  deviceId: string | null;
  route: string;
  pushed: number;
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  pulled: number;
  durationMs: number;
  outcome: 'ok' | 'partial' | 'error';
  networkType: string | null;
  createdAt: string;
}

export interface AuditRow {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  details: JsonObject | null;
  createdAt: string;
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
  /** Only rows with a smaller id: the next page after the last row seen. */
  before?: number;
  limit: number;
}

export interface EntitySummary {
  entityType: string;
  entityId: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
  deviceId: string | null;
  deletedAt: string | null;
}

/** Server-wide figures for the /metrics gauges: no tenant, no device, bounded cardinality. */
export interface ServerTotals {
  pendingConflicts: number;
  failedMutations: number;
  /** Registered devices that synced at or after `activeSince`. */
  activeDevices: number;
}

/** `YYYY-MM-DDTHH` (hour) or `YYYY-MM-DD` (day): ISO text cut to its bucket, the same in both dialects. */
const bucketLength: Record<ActivityBucketSize, number> = { hour: 13, day: 10 };

/** LIKE with `!` as the escape character (SQLite has no default one). */
const likeEscape = (text: string) => text.replace(/[!%_]/g, (c) => `!${c}`);

const num = (value: unknown) => Number(value ?? 0);

export class DashboardQueries {
  private readonly db: Kysely<Database>;

  constructor(store: KyselySyncStore) {
    this.db = store.db;
  }

  /** Sync history summed per bucket since `from` (ISO), oldest first; empty buckets are absent. */
  async activity(
    tenant: string,
    options: { from: string; bucket: ActivityBucketSize },
  ): Promise<ActivityBucket[]> {
    const key = sql<string>`substr(created_at, 1, ${sql.lit(bucketLength[options.bucket])})`;
    const failed = sql<number>`case when outcome = 'ok' then 0 else 1 end`;
    const rows = await this.db
      .selectFrom('sync_history')
      .select((eb) => [
        key.as('bucket'),
        eb.fn.countAll().as('syncs'),
        eb.fn.sum('pushed').as('pushed'),
        eb.fn.sum('applied').as('applied'),
        eb.fn.sum('duplicates').as('duplicates'),
        eb.fn.sum('conflicts').as('conflicts'),
        eb.fn.sum('rejected').as('rejected'),
        eb.fn.sum('pulled').as('pulled'),
        eb.fn.sum(failed).as('failedSyncs'),
      ])
      .where('tenant', '=', tenant)
      .where('created_at', '>=', options.from)
      .groupBy(key)
      .orderBy(key)
      .execute();
    return rows.map((r) => ({
      start: bucketStart(r.bucket, options.bucket),
      syncs: num(r.syncs),
      pushed: num(r.pushed),
      applied: num(r.applied),
      duplicates: num(r.duplicates),
      conflicts: num(r.conflicts),
      rejected: num(r.rejected),
      pulled: num(r.pulled),
      failedSyncs: num(r.failedSyncs),
    }));
  }

  /** Newest first. */
  async syncHistory(
    tenant: string,
    filter: { deviceId?: string; userId?: string; limit: number },
  ): Promise<SyncHistoryRow[]> {
    let q = this.db.selectFrom('sync_history').selectAll().where('tenant', '=', tenant);
    if (filter.deviceId !== undefined) q = q.where('device_id', '=', filter.deviceId);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      userId: r.user_id,
      deviceId: r.device_id,
      route: r.route,
      pushed: num(r.pushed),
      applied: num(r.applied),
      duplicates: num(r.duplicates),
      conflicts: num(r.conflicts),
      rejected: num(r.rejected),
      pulled: num(r.pulled),
      durationMs: num(r.duration_ms),
      outcome: r.outcome,
      networkType: r.network_type,
      createdAt: r.created_at,
    }));
  }

  /** Newest first (by id, the order rows were written). */
  async audit(tenant: string, filter: AuditFilter): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_log').selectAll().where('tenant', '=', tenant);
    if (filter.action !== undefined) q = q.where('action', '=', filter.action);
    if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
    if (filter.target !== undefined) q = q.where('target', '=', filter.target);
    if (filter.before !== undefined) q = q.where('id', '<', filter.before);
    const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: r.details === null ? null : (JSON.parse(r.details) as JsonObject),
      createdAt: r.created_at,
    }));
  }

  /** The actions the tenant's audit log holds, for a filter's choices. */
  async auditActions(tenant: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .select('action')
      .distinct()
      .where('tenant', '=', tenant)
      .orderBy('action')
      .limit(200)
      .execute();
    return rows.map((r) => r.action);
  }

  /** Entities of a type (or any) whose id contains `idContains`, most recently changed first. */
  async searchEntities(
    tenant: string,
    filter: { entityType?: string; idContains?: string; limit: number },
  ): Promise<EntitySummary[]> {
    let q = this.db
      .selectFrom('entities')
      .select([
        'entity_type',
        'entity_id',
        'version',
        'updated_at',
        'updated_by',
        'device_id',
        'deleted_at',
      ])
      .where('tenant', '=', tenant);
    if (filter.entityType !== undefined) q = q.where('entity_type', '=', filter.entityType);
    if (filter.idContains !== undefined && filter.idContains !== '') {
      const pattern = `%${likeEscape(filter.idContains)}%`;
      q = q.where(sql<boolean>`entity_id like ${pattern} escape '!'`);
    }
    const rows = await q.orderBy('seq', 'desc').limit(filter.limit).execute();
    return rows.map((r) => ({
      entityType: r.entity_type,
      entityId: r.entity_id,
      version: num(r.version),
      updatedAt: r.updated_at,
      updatedBy: r.updated_by,
      deviceId: r.device_id,
      deletedAt: r.deleted_at,
    }));
  }

  /** The entity types the tenant holds, with how many entities of each. */
  async entityTypes(tenant: string): Promise<{ entityType: string; count: number }[]> {
    const rows = await this.db
      .selectFrom('entities')
      .select((eb) => ['entity_type', eb.fn.countAll().as('n')])
      .where('tenant', '=', tenant)
      .groupBy('entity_type')
      .orderBy('entity_type')
      .execute();
    return rows.map((r) => ({ entityType: r.entity_type, count: num(r.n) }));
  }

  /** Figures across every tenant, for the /metrics gauges. */
  async serverTotals(activeSince: string): Promise<ServerTotals> {
    const [conflicts, failed, devices] = await Promise.all([
      this.db
        .selectFrom('conflicts')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('status', '=', 'PENDING_REVIEW')
        .executeTakeFirst(),
      this.db
        .selectFrom('mutations')
        .select((eb) => eb.fn.countAll().as('n'))
        .where(changesOnly)
        .where('status', '=', 'FAILED')
        .executeTakeFirst(),
      this.db
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('is_active', '=', 1)
        .where('last_sync_at', '>=', activeSince)
        .executeTakeFirst(),
    ]);
    return {
      pendingConflicts: num(conflicts?.n),
      failedMutations: num(failed?.n),
      activeDevices: num(devices?.n),
    };
  }
}

function bucketStart(key: string, bucket: ActivityBucketSize): string {
  return bucket === 'hour' ? `${key}:00:00.000Z` : `${key}T00:00:00.000Z`;
}
