// The OfflineOperationStore port on the same Kysely database as the sync store (SQLite or
// PostgreSQL). Tables come from migrations 0003 and 0005; JSON columns hold JSON text as
// everywhere else. Queue and history ids are numbered per business (offline_counters), so that
// an id tells a business nothing about another's volume.
import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  DueOperation,
  NewOfflineOperation,
  NewOfflineSyncHistory,
  OfflineConfigRecord,
  OfflineOperationRecord,
  OfflineOperationStatus,
  OfflineOperationStore,
  OfflineSyncHistoryRecord,
  OfflineTenantReads,
  OfflineTenantStore,
  OfflineTenantTx,
  OperationFilter,
} from '../replay/ports.js';
import type { AuditRecord } from '../engine/ports.js';
import type { KyselySyncStore } from './kysely-sync-store.js';
import type { Database } from './schema.js';

type Text = string | null;

interface OfflineOperationsTable {
  tenant: string;
  id: number;
  user_id: string;
  device_id: string;
  operation_type: string;
  operation_id: string;
  idempotency_key: string;
  endpoint: string;
  method: string;
  request_body: Text;
  status: string;
  sync_attempts: number;
  attempt_limit: number;
  status_code: number | null;
  server_response: Text;
  server_id: Text;
  conflict_type: Text;
  conflict_data: Text;
  resolution_strategy: Text;
  overwrite_key: Text;
  resolved_at: Text;
  resolved_by: Text;
  error_category: Text;
  error_message: Text;
  network_type: Text;
  next_attempt_at: Text;
  claimed_at: Text;
  last_attempt_at: Text;
  synced_at: Text;
  failed_at: Text;
  created_at: string;
  updated_at: string;
}

interface OfflineSyncHistoryTable {
  tenant: string;
  id: number;
  queue_id: number;
  user_id: string;
  device_id: Text;
  attempt: number;
  status: string;
  status_code: number | null;
  duration_ms: number;
  network_type: Text;
  error_category: Text;
  error_message: Text;
  created_at: string;
}

interface OfflineConfigsTable {
  tenant: string;
  config: string;
  updated_at: Text;
  updated_by: Text;
}

/** The last queue id and history id each business was given (never handed out again). */
interface OfflineCountersTable {
  tenant: string;
  last_queue_id: number;
  last_history_id: number;
}

type OfflineTables = {
  offline_operations: OfflineOperationsTable;
  offline_sync_history: OfflineSyncHistoryTable;
  offline_configs: OfflineConfigsTable;
  offline_counters: OfflineCountersTable;
};

type Db = Kysely<Database & OfflineTables>;

const jsonColumns = new Set(['request_body', 'server_response', 'conflict_data']);
const intColumns = new Set(['id', 'sync_attempts', 'attempt_limit', 'status_code']);
const columnOf = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const keyOf = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function encodeOperation(patch: Partial<OfflineOperationRecord>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || key === 'id') continue;
    const column = columnOf(key);
    row[column] = jsonColumns.has(column) && value !== null ? JSON.stringify(value) : value;
  }
  return row;
}

function decodeOperation(row: Record<string, unknown>): OfflineOperationRecord {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (column === 'tenant') continue;
    record[keyOf(column)] =
      value === null || value === undefined
        ? null
        : jsonColumns.has(column)
          ? (JSON.parse(value as string) as unknown)
          : intColumns.has(column)
            ? Number(value)
            : value;
  }
  return record as unknown as OfflineOperationRecord;
}

function decodeHistory(row: OfflineSyncHistoryTable & { id: number }): OfflineSyncHistoryRecord {
  return {
    id: Number(row.id),
    queueId: Number(row.queue_id),
    userId: row.user_id,
    deviceId: row.device_id,
    attempt: Number(row.attempt),
    status: row.status as OfflineSyncHistoryRecord['status'],
    statusCode: row.status_code === null ? null : Number(row.status_code),
    durationMs: Number(row.duration_ms),
    networkType: row.network_type,
    errorCategory: row.error_category as OfflineSyncHistoryRecord['errorCategory'],
    errorMessage: row.error_message,
    createdAt: row.created_at,
  };
}

const statuses: OfflineOperationStatus[] = ['pending', 'syncing', 'synced', 'conflict', 'failed'];

class Reads implements OfflineTenantReads {
  constructor(
    protected readonly db: Db | Transaction<Database & OfflineTables>,
    protected readonly tenant: string,
  ) {}

  async getConfig(): Promise<OfflineConfigRecord | undefined> {
    const row = await this.db
      .selectFrom('offline_configs')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      ...(JSON.parse(row.config) as OfflineConfigRecord),
      updatedAt: row.updated_at,
      updatedBy: row.updated_by,
    };
  }

  async getOperation(id: number): Promise<OfflineOperationRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const row = await this.db
      .selectFrom('offline_operations')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decodeOperation(row);
  }

  async findByOperationId(deviceId: string, operationId: string) {
    const row = await this.db
      .selectFrom('offline_operations')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('device_id', '=', deviceId)
      .where('operation_id', '=', operationId)
      .executeTakeFirst();
    return row && decodeOperation(row);
  }

  async listOperations(filter: OperationFilter): Promise<OfflineOperationRecord[]> {
    if (filter.statuses?.length === 0 || filter.ids?.length === 0) return [];
    let q = this.db.selectFrom('offline_operations').selectAll().where('tenant', '=', this.tenant);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    if (filter.statuses !== undefined) q = q.where('status', 'in', [...filter.statuses]);
    if (filter.ids !== undefined) q = q.where('id', 'in', [...filter.ids]);
    const rows = await q
      .orderBy('id')
      .limit(Math.max(1, Math.min(1000, filter.limit ?? 1000)))
      .offset(Math.max(0, filter.offset ?? 0))
      .execute();
    return rows.map((row) => decodeOperation(row));
  }

  async countByStatus(filter: { userId?: string }) {
    let q = this.db
      .selectFrom('offline_operations')
      .select((eb) => ['status', eb.fn.countAll().as('n')])
      .where('tenant', '=', this.tenant);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const rows = await q.groupBy('status').execute();
    const counts = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<
      OfflineOperationStatus,
      number
    >;
    for (const row of rows) counts[row.status as OfflineOperationStatus] = Number(row.n);
    return counts;
  }

  async lastSyncedAt(filter: { userId?: string }): Promise<string | null> {
    let q = this.db
      .selectFrom('offline_operations')
      .select((eb) => eb.fn.max('synced_at').as('at'))
      .where('tenant', '=', this.tenant);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const row = await q.executeTakeFirst();
    return (row?.at as string | null | undefined) ?? null;
  }

  async listHistory(filter: { queueId: number; userId?: string; limit?: number }) {
    if (!Number.isSafeInteger(filter.queueId)) return [];
    let q = this.db
      .selectFrom('offline_sync_history')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('queue_id', '=', filter.queueId);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(Math.max(1, Math.min(1000, filter.limit ?? 100)))
      .execute();
    return rows.map((row) => decodeHistory(row as OfflineSyncHistoryTable & { id: number }));
  }
}

class Tx extends Reads implements OfflineTenantTx {
  /** The business's next id of one kind; the transaction's lock keeps two writers apart. */
  private async nextId(counter: 'last_queue_id' | 'last_history_id'): Promise<number> {
    const first = { tenant: this.tenant, last_queue_id: 0, last_history_id: 0, [counter]: 1 };
    const row = await this.db
      .insertInto('offline_counters')
      .values(first)
      .onConflict((oc) =>
        oc
          .column('tenant')
          .doUpdateSet({ [counter]: sql`offline_counters.${sql.ref(counter)} + 1` }),
      )
      .returning(counter)
      .executeTakeFirstOrThrow();
    return Number((row as Record<string, unknown>)[counter]);
  }

  async insertOperation(operation: NewOfflineOperation): Promise<number> {
    const id = await this.nextId('last_queue_id');
    await this.db
      .insertInto('offline_operations')
      .values({ tenant: this.tenant, id, ...encodeOperation(operation) } as never)
      .execute();
    return id;
  }

  async updateOperation(id: number, patch: Partial<OfflineOperationRecord>): Promise<void> {
    const { userId: _u, ...rest } = patch;
    const changes = encodeOperation(rest);
    if (Object.keys(changes).length === 0) return;
    const result = await this.db
      .updateTable('offline_operations')
      .set(changes as never)
      .where('tenant', '=', this.tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new Error(`no offline operation ${id} in this tenant`);
  }

  async insertHistory(record: NewOfflineSyncHistory): Promise<void> {
    const id = await this.nextId('last_history_id');
    await this.db
      .insertInto('offline_sync_history')
      .values({
        tenant: this.tenant,
        id,
        queue_id: record.queueId,
        user_id: record.userId,
        device_id: record.deviceId,
        attempt: record.attempt,
        status: record.status,
        status_code: record.statusCode,
        duration_ms: record.durationMs,
        network_type: record.networkType,
        error_category: record.errorCategory,
        error_message: record.errorMessage,
        created_at: record.createdAt,
      })
      .execute();
  }

  async putConfig(config: OfflineConfigRecord): Promise<void> {
    const { updatedAt, updatedBy, ...settings } = config;
    const row = {
      tenant: this.tenant,
      config: JSON.stringify(settings),
      updated_at: updatedAt,
      updated_by: updatedBy,
    };
    await this.db
      .insertInto('offline_configs')
      .values(row)
      .onConflict((oc) =>
        oc.column('tenant').doUpdateSet({
          config: row.config,
          updated_at: row.updated_at,
          updated_by: row.updated_by,
        }),
      )
      .execute();
  }

  async deleteSyncedBefore(
    isoTime: string,
    filter: { userId?: string },
    limit: number,
  ): Promise<number> {
    let oldest = this.db
      .selectFrom('offline_operations')
      .select('id')
      .where('tenant', '=', this.tenant)
      .where('status', '=', 'synced')
      .where('synced_at', '<', isoTime);
    if (filter.userId !== undefined) oldest = oldest.where('user_id', '=', filter.userId);
    const result = await this.db
      .deleteFrom('offline_operations')
      .where('tenant', '=', this.tenant)
      .where('id', 'in', oldest.orderBy('id').limit(limit))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async insertAudit(record: AuditRecord): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        tenant: this.tenant,
        actor: record.actor,
        action: record.action,
        target: record.target,
        details: record.details === null ? null : JSON.stringify(record.details),
        created_at: record.createdAt,
      } as never)
      .execute();
  }
}

class TenantStore extends Reads implements OfflineTenantStore {
  constructor(
    root: Db,
    tenant: string,
    private readonly store: KyselySyncStore,
  ) {
    super(root, tenant);
  }

  transact<T>(fn: (tx: OfflineTenantTx) => Promise<T>): Promise<T> {
    // The sync store's tenant lock and queue: this business's writers of either kind take turns.
    return this.store.inTenantTransaction(this.tenant, { createTenant: true }, (conn) =>
      fn(new Tx(conn.withTables<OfflineTables>(), this.tenant)),
    );
  }
}

/** Offline operations on the sync store's own database and connections. */
export function createKyselyOfflineOperationStore(store: KyselySyncStore): OfflineOperationStore {
  const db = store.db.withTables<OfflineTables>();
  return {
    forTenant(tenant) {
      if (typeof tenant !== 'string' || tenant.length === 0) {
        throw new TypeError('forTenant needs a non-empty tenant id');
      }
      return new TenantStore(db, tenant, store);
    },
    async findDue(now, staleClaimBefore, limit): Promise<DueOperation[]> {
      const rows = await db
        .selectFrom('offline_operations')
        .select(['tenant', 'id'])
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'pending'), eb('next_attempt_at', '<=', now)]),
            eb.and([eb('status', '=', 'syncing'), eb('claimed_at', '<', staleClaimBefore)]),
          ]),
        )
        // Ids count per business: across businesses, the oldest go first.
        .orderBy('created_at')
        .orderBy('tenant')
        .orderBy('id')
        .limit(Math.max(1, Math.min(1000, limit)))
        .execute();
      return rows.map((row) => ({ tenant: row.tenant, id: Number(row.id) }));
    },
  };
}
