// Queries of the background jobs (cleanup, pruning, alert statistics) and the tenant settings
// store, on the same Kysely layer and tables as the sync store. They work across a tenant's rows
// in bulk, which the engine's per-change port does not offer, so they live beside it.
import type { Kysely } from 'kysely';
import type { AuditRecord } from '../engine/ports.js';
import type { KyselySyncStore } from './kysely-sync-store.js';
import { changesOnly } from './mutation-kinds.js';
import type { Database } from './schema.js';

export interface PruneCutoffs {
  /** Older versions committed before this (ISO) go, the latest version of every entity stays. */
  historyBefore?: string;
  /** Entities deleted before this (ISO) go entirely: the tombstone and every version. */
  tombstonesBefore?: string;
}

export interface PruneResult {
  tombstones: number;
  versions: number;
  /** The tenant's prune horizon after this run: sync tokens below it answer `reset`. */
  prunedSeq: number;
}

export interface DeviceFailures {
  deviceId: string;
  total: number;
  failed: number;
}

export interface ActiveAlert {
  kind: string;
  subject: string;
  value: number;
  raisedAt: string;
}

export interface StoredSettings {
  settings: unknown;
  updatedBy: string;
  updatedAt: string;
}

/** Rows one prune run removes at most per tenant; the next run continues. */
export const pruneBatchDefaults = { tombstones: 1000, versions: 5000 } as const;

const DELETE_CHUNK = 500;

export class MaintenanceQueries {
  private readonly db: Kysely<Database>;

  constructor(private readonly store: KyselySyncStore) {
    this.db = store.db;
  }

  /** Every tenant that has written anything. */
  async listTenants(): Promise<string[]> {
    const rows = await this.db.selectFrom('tenants').select('tenant').orderBy('tenant').execute();
    return rows.map((r) => r.tenant);
  }

  /** Tenants with at least one mutation in this status. */
  async tenantsWithMutations(status: 'FAILED' | 'SYNCED'): Promise<string[]> {
    const rows = await this.db
      .selectFrom('mutations')
      .select('tenant')
      .distinct()
      .where(changesOnly)
      .where('status', '=', status)
      .orderBy('tenant')
      .execute();
    return rows.map((r) => r.tenant);
  }

  /** Deletes the tenant's SYNCED mutations last touched before `before`; resolves to how many. */
  /** Deletes up to `limit` SYNCED mutations last changed before `before`, oldest first. */
  async deleteSyncedMutations(tenant: string, before: string, limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('mutations')
      .where('tenant', '=', tenant)
      .where('arrival', 'in', (eb) =>
        eb
          .selectFrom('mutations')
          .select('arrival')
          .where('tenant', '=', tenant)
          .where(changesOnly)
          .where('status', '=', 'SYNCED')
          .where('updated_at', '<', before)
          .orderBy('updated_at')
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Prunes history and tombstones under the tenant's write lock, so no writer adds a version
   * in between, and raises the prune horizon in the same transaction. An old version goes only
   * when the version after it is old too: the feed reader looks one version back to decide
   * whether a change left a reader's view, and the horizon (the highest seq such a lookup may
   * need) then stays as old as the cutoff, so only tokens older than that must pull afresh. A
   * version a conflict under review was made on (its base for MERGE), and an entity with a
   * conflict under review, are kept.
   */
  async prune(tenant: string, cutoffs: PruneCutoffs): Promise<PruneResult> {
    return this.withTenantLock(tenant, async (db, prunedSeq) => {
      let horizon = prunedSeq;
      let tombstones = 0;
      let versions = 0;

      if (cutoffs.tombstonesBefore !== undefined) {
        const gone = await db
          .selectFrom('entities as e')
          .select(['e.entity_type', 'e.entity_id', 'e.seq'])
          .where('e.tenant', '=', tenant)
          .where('e.deleted_at', 'is not', null)
          .where('e.deleted_at', '<', cutoffs.tombstonesBefore)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('conflicts as c')
                  .select('c.id')
                  .whereRef('c.tenant', '=', 'e.tenant')
                  .whereRef('c.entity_type', '=', 'e.entity_type')
                  .whereRef('c.entity_id', '=', 'e.entity_id')
                  .where('c.status', '=', 'PENDING_REVIEW'),
              ),
            ),
          )
          .orderBy('e.seq')
          .limit(pruneBatchDefaults.tombstones)
          .execute();
        for (const row of gone) {
          const deleted = await db
            .deleteFrom('entity_history')
            .where('tenant', '=', tenant)
            .where('entity_type', '=', row.entity_type)
            .where('entity_id', '=', row.entity_id)
            .executeTakeFirst();
          await db
            .deleteFrom('entities')
            .where('tenant', '=', tenant)
            .where('entity_type', '=', row.entity_type)
            .where('entity_id', '=', row.entity_id)
            .execute();
          versions += Number(deleted.numDeletedRows);
          tombstones += 1;
          horizon = Math.max(horizon, Number(row.seq));
        }
      }

      if (cutoffs.historyBefore !== undefined) {
        const before = cutoffs.historyBefore;
        const old = await db
          .selectFrom('entity_history as h')
          .innerJoin('entity_history as n', (join) =>
            join
              .onRef('n.tenant', '=', 'h.tenant')
              .onRef('n.entity_type', '=', 'h.entity_type')
              .onRef('n.entity_id', '=', 'h.entity_id')
              .on((eb) => eb('n.version', '=', eb('h.version', '+', 1))),
          )
          .select(['h.seq as seq', 'n.seq as nextSeq'])
          .where('h.tenant', '=', tenant)
          .where('h.committed_at', '<', before)
          .where('n.committed_at', '<', before)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('conflicts as c')
                  .select('c.id')
                  .whereRef('c.tenant', '=', 'h.tenant')
                  .whereRef('c.entity_type', '=', 'h.entity_type')
                  .whereRef('c.entity_id', '=', 'h.entity_id')
                  .whereRef('c.client_version', '=', 'h.version')
                  .where('c.status', '=', 'PENDING_REVIEW'),
              ),
            ),
          )
          .orderBy('h.seq')
          .limit(pruneBatchDefaults.versions)
          .execute();
        const seqs = old.map((r) => Number(r.seq));
        for (let i = 0; i < seqs.length; i += DELETE_CHUNK) {
          const deleted = await db
            .deleteFrom('entity_history')
            .where('tenant', '=', tenant)
            .where('seq', 'in', seqs.slice(i, i + DELETE_CHUNK))
            .executeTakeFirst();
          versions += Number(deleted.numDeletedRows);
        }
        for (const row of old) horizon = Math.max(horizon, Number(row.nextSeq));
      }

      if (horizon > prunedSeq) {
        await db
          .updateTable('tenants')
          .set({ pruned_seq: horizon })
          .where('tenant', '=', tenant)
          .execute();
      }
      return { tombstones, versions, prunedSeq: horizon };
    });
  }

  /** Per device: mutations that arrived since `since` (ISO), and how many of them are FAILED. */
  async deviceFailures(tenant: string, since: string): Promise<DeviceFailures[]> {
    const rows = await this.db
      .selectFrom('mutations')
      .select((eb) => [
        'device_id',
        eb.fn.countAll().as('total'),
        eb.fn
          .sum<number | string>(eb.case().when('status', '=', 'FAILED').then(1).else(0).end())
          .as('failed'),
      ])
      .where('tenant', '=', tenant)
      .where(changesOnly)
      .where('created_at', '>=', since)
      .groupBy('device_id')
      .orderBy('device_id')
      .execute();
    return rows.map((r) => ({
      deviceId: r.device_id,
      total: Number(r.total),
      failed: Number(r.failed),
    }));
  }

  async countPendingConflicts(tenant: string): Promise<number> {
    const row = await this.db
      .selectFrom('conflicts')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant', '=', tenant)
      .where('status', '=', 'PENDING_REVIEW')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Per device, the longest time a change made since `since` waited on the device before it
   * reached the server (arrival minus the device's edit time), over the newest `limit` mutations.
   */
  async syncDelays(tenant: string, since: string, limit = 5000): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('mutations')
      .select(['device_id', 'client_timestamp', 'created_at'])
      .where('tenant', '=', tenant)
      .where(changesOnly)
      .where('created_at', '>=', since)
      .orderBy('arrival', 'desc')
      .limit(limit)
      .execute();
    const delays = new Map<string, number>();
    for (const row of rows) {
      const delay = Date.parse(row.created_at) - Date.parse(row.client_timestamp);
      if (!Number.isFinite(delay)) continue;
      delays.set(row.device_id, Math.max(delays.get(row.device_id) ?? 0, delay));
    }
    return delays;
  }

  async listAlerts(tenant: string): Promise<ActiveAlert[]> {
    const rows = await this.db
      .selectFrom('job_alerts')
      .selectAll()
      .where('tenant', '=', tenant)
      .orderBy('kind')
      .orderBy('subject')
      .execute();
    return rows.map((r) => ({
      kind: r.kind,
      subject: r.subject,
      value: Number(r.value),
      raisedAt: r.raised_at,
    }));
  }

  /**
   * Records the alert as raised; resolves to false when it already was (by this run or another
   * instance's), so that each alert is announced once.
   */
  async raiseAlert(tenant: string, alert: ActiveAlert): Promise<boolean> {
    const result = await this.db
      .insertInto('job_alerts')
      .values({
        tenant,
        kind: alert.kind,
        subject: alert.subject,
        value: alert.value,
        raised_at: alert.raisedAt,
      })
      .onConflict((oc) => oc.columns(['tenant', 'kind', 'subject']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** Resolves to false when the alert was not raised. */
  async clearAlert(tenant: string, kind: string, subject: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('job_alerts')
      .where('tenant', '=', tenant)
      .where('kind', '=', kind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getSettings(tenant: string): Promise<StoredSettings | undefined> {
    const row = await this.db
      .selectFrom('tenant_settings')
      .selectAll()
      .where('tenant', '=', tenant)
      .executeTakeFirst();
    return (
      row && {
        settings: JSON.parse(row.settings) as unknown,
        updatedBy: row.updated_by,
        updatedAt: row.updated_at,
      }
    );
  }

  /** Every tenant's stored overrides (for a job run over all tenants). */
  async listSettings(): Promise<Map<string, unknown>> {
    const rows = await this.db
      .selectFrom('tenant_settings')
      .select(['tenant', 'settings'])
      .execute();
    return new Map(rows.map((r) => [r.tenant, JSON.parse(r.settings) as unknown]));
  }

  /**
   * Reads the stored settings, computes the next ones and stores them with an audit row, in one
   * transaction that holds the settings row (PostgreSQL: FOR UPDATE), so that two admins'
   * concurrent changes apply one after the other. `next` may throw to change nothing.
   */
  async updateSettings(
    tenant: string,
    next: (stored: unknown) => { settings: unknown; audit: AuditRecord },
  ): Promise<void> {
    const pg = this.store.dialect === 'postgres';
    await this.db.transaction().execute(async (trx) => {
      const q = trx.selectFrom('tenant_settings').select('settings').where('tenant', '=', tenant);
      const current = await (pg ? q.forUpdate() : q).executeTakeFirst();
      const { settings, audit } = next(
        current ? (JSON.parse(current.settings) as unknown) : undefined,
      );
      const row = {
        tenant,
        settings: JSON.stringify(settings),
        updated_by: audit.actor,
        updated_at: audit.createdAt,
      };
      await trx
        .insertInto('tenant_settings')
        .values(row)
        .onConflict((oc) =>
          oc.column('tenant').doUpdateSet({
            settings: row.settings,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
          }),
        )
        .execute();
      await insertAudit(trx, tenant, audit);
    });
  }

  /** Deletes a tenant's audit rows of one action older than `before` (job-run rows). */
  async deleteAuditBefore(tenant: string, actionPrefix: string, before: string): Promise<number> {
    const result = await this.db
      .deleteFrom('audit_log')
      .where('tenant', '=', tenant)
      .where('action', 'like', `${actionPrefix}%`)
      .where('created_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** An audit row outside any sync transaction (job runs, alerts): append-only, so no lock. */
  async insertAudit(tenant: string, record: AuditRecord): Promise<void> {
    await insertAudit(this.db, tenant, record);
  }

  /**
   * Runs `fn` in one transaction holding the tenant's write lock, the same lock every sync write
   * takes (BEGIN IMMEDIATE on SQLite, the tenant row FOR UPDATE on PostgreSQL). A tenant without
   * a row has written nothing, so there is nothing to do and `fn` is not called.
   */
  private withTenantLock(
    tenant: string,
    fn: (db: Kysely<Database>, prunedSeq: number) => Promise<PruneResult>,
  ): Promise<PruneResult> {
    return this.store.inTenantTransaction(tenant, { createTenant: false }, (conn, locked) =>
      locked
        ? fn(conn, locked.prunedSeq)
        : Promise.resolve({ tombstones: 0, versions: 0, prunedSeq: 0 }),
    );
  }
}

async function insertAudit(
  db: Kysely<Database>,
  tenant: string,
  record: AuditRecord,
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      tenant,
      actor: record.actor,
      action: record.action,
      target: record.target,
      details: record.details === null ? null : JSON.stringify(record.details),
      created_at: record.createdAt,
    })
    .execute();
}
