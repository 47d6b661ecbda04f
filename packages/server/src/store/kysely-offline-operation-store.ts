// The OfflineOperationStore port on the same Kysely database as the sync store (SQLite or
// PostgreSQL). Each operation is a mutation of kind `request` (migration 0009): the columns it
// shares with a change hold what they mean there, seed 003's own fields are JSON in `request`
// (under its column names), and the seed's lower-case statuses are stored as the canonical ones.
// Queue and history ids are numbered per business (offline_counters), so that an id tells a
// business nothing about another's volume.
import type { MutationStatus, Operation } from '@syncline/protocol';
import { sql, type Insertable, type Kysely, type RawBuilder, type Transaction } from 'kysely';
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
import { MutationKind, requestsOnly } from './mutation-kinds.js';
import type { Database, MutationsTable, StoreDialect } from './schema.js';

type Text = string | null;

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
  offline_sync_history: OfflineSyncHistoryTable;
  offline_configs: OfflineConfigsTable;
  offline_counters: OfflineCountersTable;
};

type Db = Kysely<Database & OfflineTables>;

/** The record's fields stored in a change's own columns, by column. */
const sharedColumns = {
  userId: 'user_id',
  deviceId: 'device_id',
  operationType: 'entity_type',
  operationId: 'mutation_id',
  requestBody: 'payload',
  status: 'status',
  syncAttempts: 'attempts',
  serverResponse: 'result',
  nextAttemptAt: 'next_attempt_at',
  claimedAt: 'claimed_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies Partial<Record<keyof OfflineOperationRecord, keyof MutationsTable>>;

type SharedField = keyof typeof sharedColumns;
type RequestField = Exclude<keyof OfflineOperationRecord, SharedField | 'id'>;

/** Seed 003's own fields, kept in `request` (a compile error until a new field is placed). */
const requestFieldSet: Record<RequestField, true> = {
  idempotencyKey: true,
  endpoint: true,
  method: true,
  attemptLimit: true,
  statusCode: true,
  serverId: true,
  conflictType: true,
  conflictData: true,
  resolutionStrategy: true,
  overwriteKey: true,
  resolvedAt: true,
  resolvedBy: true,
  errorCategory: true,
  errorMessage: true,
  networkType: true,
  lastAttemptAt: true,
  syncedAt: true,
  failedAt: true,
};
const requestFields = Object.keys(requestFieldSet) as RequestField[];

const selected = [
  'queue_id',
  'request',
  ...Object.values(sharedColumns),
] as const satisfies readonly (keyof MutationsTable)[];

const canonical: Record<OfflineOperationStatus, MutationStatus> = {
  pending: 'PENDING',
  syncing: 'SYNCING',
  synced: 'SYNCED',
  conflict: 'CONFLICT',
  failed: 'FAILED',
};
const statuses = Object.keys(canonical) as OfflineOperationStatus[];
const seedStatus = Object.fromEntries(statuses.map((s) => [canonical[s], s])) as Record<
  MutationStatus,
  OfflineOperationStatus
>;

const columnOf = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const jsonText = (value: unknown) => (value === null ? null : JSON.stringify(value));
const parsed = (text: Text): unknown => (text === null ? null : JSON.parse(text));

/** The canonical operation a request's HTTP method stands for. */
function operationOf(method: string): Operation {
  return method === 'POST' ? 'CREATE' : method === 'DELETE' ? 'DELETE' : 'UPDATE';
}

type MutationColumns = Partial<Insertable<MutationsTable>>;

/** The columns a patch sets (the request's JSON aside), with what follows from them. */
function encodeShared(patch: Partial<OfflineOperationRecord>): MutationColumns {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(sharedColumns)) {
    const value = patch[key as SharedField];
    if (value === undefined) continue;
    row[column] =
      key === 'requestBody' || key === 'serverResponse'
        ? jsonText(value)
        : key === 'status'
          ? canonical[value as OfflineOperationStatus]
          : value;
  }
  // Columns every mutation has, from the fields that name the same thing for a request.
  if (patch.operationId !== undefined) row.entity_id = patch.operationId;
  if (patch.createdAt !== undefined) row.client_timestamp = patch.createdAt;
  if (patch.method !== undefined) row.operation = operationOf(patch.method);
  return row as MutationColumns;
}

/** The patch's seed 003 fields under their JSON names; undefined when it has none. */
function requestPatch(patch: Partial<OfflineOperationRecord>): Record<string, unknown> | undefined {
  let fields: Record<string, unknown> | undefined;
  for (const key of requestFields) {
    if (patch[key] !== undefined) (fields ??= {})[columnOf(key)] = patch[key];
  }
  return fields;
}

type SelectedRow = Pick<MutationsTable, (typeof selected)[number]>;

function decodeOperation(row: SelectedRow): OfflineOperationRecord {
  const fields = parsed(row.request) as Record<string, unknown> | null;
  const record: Record<string, unknown> = {
    id: Number(row.queue_id),
    userId: row.user_id,
    deviceId: row.device_id,
    operationType: row.entity_type,
    operationId: row.mutation_id,
    requestBody: parsed(row.payload),
    status: seedStatus[row.status],
    syncAttempts: Number(row.attempts),
    serverResponse: parsed(row.result),
    nextAttemptAt: row.next_attempt_at,
    claimedAt: row.claimed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  for (const key of requestFields) record[key] = fields?.[columnOf(key)] ?? null;
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

/** A text field of `request`, compared by bytes on both dialects (ISO times order as text). */
function requestText(dialect: StoreDialect, name: string): RawBuilder<string | null> {
  return dialect === 'postgres'
    ? sql`((request::json ->> ${sql.lit(name)}) collate "C")`
    : sql`json_extract(request, ${sql.lit(`$.${name}`)})`;
}

class Reads implements OfflineTenantReads {
  constructor(
    protected readonly db: Db | Transaction<Database & OfflineTables>,
    protected readonly tenant: string,
    protected readonly dialect: StoreDialect,
  ) {}

  /** The tenant's request mutations. */
  protected requests() {
    return this.db.selectFrom('mutations').where('tenant', '=', this.tenant).where(requestsOnly);
  }

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
    const row = await this.requests()
      .select(selected)
      .where('queue_id', '=', id)
      .executeTakeFirst();
    return row && decodeOperation(row);
  }

  async findByOperationId(deviceId: string, operationId: string) {
    const row = await this.requests()
      .select(selected)
      .where('device_id', '=', deviceId)
      .where('mutation_id', '=', operationId)
      .executeTakeFirst();
    return row && decodeOperation(row);
  }

  async listOperations(filter: OperationFilter): Promise<OfflineOperationRecord[]> {
    if (filter.statuses?.length === 0 || filter.ids?.length === 0) return [];
    let q = this.requests().select(selected);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    if (filter.statuses !== undefined) {
      q = q.where(
        'status',
        'in',
        filter.statuses.map((s) => canonical[s]),
      );
    }
    if (filter.ids !== undefined) q = q.where('queue_id', 'in', [...filter.ids]);
    const rows = await q
      .orderBy('queue_id')
      .limit(Math.max(1, Math.min(1000, filter.limit ?? 1000)))
      .offset(Math.max(0, filter.offset ?? 0))
      .execute();
    return rows.map((row) => decodeOperation(row));
  }

  async countByStatus(filter: { userId?: string }) {
    let q = this.requests().select((eb) => ['status', eb.fn.countAll().as('n')]);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const rows = await q.groupBy('status').execute();
    const counts = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<
      OfflineOperationStatus,
      number
    >;
    for (const row of rows) counts[seedStatus[row.status]] = Number(row.n);
    return counts;
  }

  async lastSyncedAt(filter: { userId?: string }): Promise<string | null> {
    let q = this.requests().select(
      sql<string | null>`max(${requestText(this.dialect, 'synced_at')})`.as('at'),
    );
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const row = await q.executeTakeFirst();
    return row?.at ?? null;
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
    const fields = Object.fromEntries(requestFields.map((key) => [columnOf(key), operation[key]]));
    await this.db
      .insertInto('mutations')
      .values({
        tenant: this.tenant,
        kind: MutationKind.REQUEST,
        ...encodeShared(operation),
        queue_id: id,
        client_version: 0,
        request: JSON.stringify(fields),
        // The tenant's next arrival, shared with its changes: the lock held makes max + 1 safe.
        arrival: sql<number>`(select coalesce(max(arrival), 0) + 1 from mutations where tenant = ${this.tenant})`,
      } as Insertable<MutationsTable>)
      .execute();
    return id;
  }

  async updateOperation(id: number, patch: Partial<OfflineOperationRecord>): Promise<void> {
    const { userId: _u, id: _id, ...rest } = patch;
    const changes = encodeShared(rest);
    const fields = requestPatch(rest);
    if (Object.keys(changes).length === 0 && fields === undefined) return;
    const missing = () => new Error(`no offline operation ${id} in this tenant`);
    if (fields !== undefined) {
      // Merged here rather than in SQL: values nested in the JSON (conflict_data) stay as sent.
      const row = await this.requests()
        .select('request')
        .where('queue_id', '=', id)
        .executeTakeFirst();
      if (!row) throw missing();
      const current = parsed(row.request) as Record<string, unknown> | null;
      changes.request = JSON.stringify({ ...current, ...fields });
    }
    const result = await this.db
      .updateTable('mutations')
      .set(changes)
      .where('tenant', '=', this.tenant)
      .where(requestsOnly)
      .where('queue_id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw missing();
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
    let oldest = this.requests()
      .select('queue_id')
      .where('status', '=', 'SYNCED')
      .where(requestText(this.dialect, 'synced_at'), '<', isoTime);
    if (filter.userId !== undefined) oldest = oldest.where('user_id', '=', filter.userId);
    const result = await this.db
      .deleteFrom('mutations')
      .where('tenant', '=', this.tenant)
      .where(requestsOnly)
      .where('queue_id', 'in', oldest.orderBy('queue_id').limit(limit))
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
    super(root, tenant, store.dialect);
  }

  transact<T>(fn: (tx: OfflineTenantTx) => Promise<T>): Promise<T> {
    // The sync store's tenant lock and queue: this business's writers of either kind take turns.
    return this.store.inTenantTransaction(this.tenant, { createTenant: true }, (conn) =>
      fn(new Tx(conn.withTables<OfflineTables>(), this.tenant, this.dialect)),
    );
  }
}

/** Offline operations, as request mutations, on the sync store's own database and connections. */
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
        .selectFrom('mutations')
        .select(['tenant', 'queue_id'])
        // The kind in each branch: SQLite plans the branches of an OR one by one, and a partial
        // index serves only a branch that names its kind itself.
        .where((eb) =>
          eb.or([
            eb.and([requestsOnly, eb('status', '=', 'PENDING'), eb('next_attempt_at', '<=', now)]),
            eb.and([
              requestsOnly,
              eb('status', '=', 'SYNCING'),
              eb('claimed_at', '<', staleClaimBefore),
            ]),
          ]),
        )
        // Ids count per business: across businesses, the oldest go first.
        .orderBy('created_at')
        .orderBy('tenant')
        .orderBy('queue_id')
        .limit(Math.max(1, Math.min(1000, limit)))
        .execute();
      return rows.map((row) => ({ tenant: row.tenant, id: Number(row.queue_id) }));
    },
  };
}
