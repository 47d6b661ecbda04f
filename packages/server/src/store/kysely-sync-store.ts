// The one query layer behind both storage adapters: implements the engine's SyncStore port on a
// Kysely instance. Every query is bound to the tenant given to forTenant(); the dialects differ
// only in how a transaction opens and whether the tenant row must be locked explicitly.
import { CompiledQuery, sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { MutationStatus } from '@syncline/protocol';
import type {
  AuditRecord,
  BatchWrites,
  ConflictFilter,
  ConflictRecord,
  DeviceRecord,
  EntityCount,
  EntityPageQuery,
  EntityRecord,
  FeedEntry,
  FeedEntryQuery,
  FeedQuery,
  HistoryRecord,
  MutationFilter,
  MutationRecord,
  NewHistoryRecord,
  SnapshotEntity,
  SyncHistoryRecord,
  SyncStore,
  TenantReads,
  TenantState,
  TenantStore,
  TenantTx,
} from '../engine/ports.js';
import { changeJsonSql } from './change-json-sql.js';
import { feedVisibilitySql } from './feed-visibility-sql.js';
import { migrateToLatest } from './migrations/index.js';
import { changesOnly } from './mutation-kinds.js';
import { payloadJsonTexts } from '../engine/json.js';
import { historyColumns, type EntityKey, type HotPath } from './hot-path.js';
import type { Database, StoreDialect } from './schema.js';
import type { GroupCommitStats } from './sqlite/group-commit.js';
import {
  withReadTransaction,
  withTenantTransaction,
  type LockedTenant,
  type TenantTransactionOptions,
  type TenantTransactionScope,
  type TenantWriteOrder,
  type TransactionTraits,
} from './tenant-transaction.js';

/** What differs between the dialects, supplied by the thin adapters. */
export interface DialectTraits extends TransactionTraits {
  readonly dialect: StoreDialect;
  /** Opens a read-only transaction on one consistent view (no write lock). */
  readonly beginRead: string;
  /**
   * Runs a compiled SELECT on the store's connection and answers its rows as arrays of column
   * values in select order, where the driver can do that cheaper than row objects (SQLite: half
   * the cost of a snapshot page's read). Without it the rows come through Kysely. It runs on the
   * driver directly, past Kysely's connection mutex, so only reads that hold the connection (a
   * transaction or read()) use it: anyone else could see another transaction's uncommitted rows.
   */
  readonly selectRows?: (query: CompiledQuery) => unknown[][];
  /** The push hot path's statements, run on the transaction's connection (hot-path.ts). */
  readonly hotPath: (conn: Kysely<Database>) => HotPath;
  /** See SyncStore.pushChunkSize. */
  readonly pushChunkSize?: number;
}

export const listLimitDefaults = { default: 100, max: 1000 } as const;

const mutationStatuses = [
  'PENDING',
  'SYNCING',
  'SYNCED',
  'CONFLICT',
  'FAILED',
] as const satisfies readonly MutationStatus[];

// ---------------------------------------------------------------------------------------------
// Record <-> row codecs. Every record field maps to the snake_case column of the same name; the
// kind says how the value is stored. `satisfies` makes the compiler check that each codec names
// every field of its record, so a new field cannot be silently dropped.

type Kind = 'text' | 'int' | 'json' | 'bool';
type Codec<R> = { readonly [K in keyof R]-?: Kind };
type Row = Record<string, unknown>;

const columnOf = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A codec's fields with their columns and kinds, worked out once per codec rather than per row. */
type Field = readonly [key: string, column: string, kind: Kind];
const fieldLists = new WeakMap<object, readonly Field[]>();
function fieldsOf<R>(codec: Codec<R>): readonly Field[] {
  let fields = fieldLists.get(codec);
  if (!fields) {
    fields = Object.entries(codec as Record<string, Kind>).map(
      ([key, kind]) => [key, columnOf(key), kind] as const,
    );
    fieldLists.set(codec, fields);
  }
  return fields;
}

function encode<R>(codec: Codec<R>, record: Partial<R>): Row {
  const row: Row = {};
  const source = record as Row;
  for (const [key, column, kind] of fieldsOf(codec)) {
    const value = source[key];
    if (value === undefined) continue;
    row[column] =
      value === null
        ? null
        : kind === 'json'
          ? JSON.stringify(value)
          : kind === 'bool'
            ? value
              ? 1
              : 0
            : value;
  }
  return row;
}

function decode<R>(codec: Codec<R>, row: Row): R {
  const record: Row = {};
  for (const [key, column, kind] of fieldsOf(codec)) {
    const value = row[column];
    record[key] =
      value === null || value === undefined
        ? kind === 'bool'
          ? false
          : null
        : kind === 'json'
          ? (JSON.parse(value as string) as unknown)
          : kind === 'int'
            ? Number(value)
            : kind === 'bool'
              ? Number(value) === 1 || value === true
              : value;
  }
  return record as R;
}

const entityCodec: Codec<EntityRecord> = {
  entityType: 'text',
  entityId: 'text',
  version: 'int',
  payload: 'json',
  checksum: 'text',
  createdBy: 'text',
  updatedBy: 'text',
  deviceId: 'text',
  updatedAt: 'text',
  deletedAt: 'text',
  seq: 'int',
};

/** The columns a snapshot page sends, in the order readEntities reads them. */
const snapshotColumns = [
  'entity_type',
  'entity_id',
  'version',
  'payload',
  'checksum',
  'created_by',
  'updated_by',
  'device_id',
  'updated_at',
  'seq',
] as const;

/** A feed row's columns: what the change's JSON is rendered from and the access checks read. */
const feedRowColumns = historyColumns.filter((c) => c !== 'mutation_id' && c !== 'committed_at');

/** What the engine's own checks read of an undecided row (FeedEntryDetail), in this order. */
const feedDetailColumns = [
  'entity_type',
  'entity_id',
  'version',
  'created_by',
  'device_id',
  'updated_at',
  'deleted_at',
  'payload',
] as const;

/**
 * A feed page's selection over the judged rows (`visible`): the change's JSON for every row not
 * refused, and the details for the undecided ones (or all). A refused row costs its seq alone.
 */
function buildFeedSelection(dialect: StoreDialect, allDetails: boolean) {
  const detailWanted = allDetails ? sql`1 = 1` : sql`visible is null`;
  return [
    sql<number>`seq`.as('seq'),
    sql<number | null>`visible`.as('visible'),
    sql<string | null>`case when visible = 0 then null else ${changeJsonSql(dialect)} end`.as(
      'change_json',
    ),
    ...feedDetailColumns.map((column) =>
      sql`case when ${detailWanted} then ${sql.ref(column)} end`.as(`detail_${column}`),
    ),
  ];
}

/**
 * The outer SELECT of a feed page (without FROM) as SQL text, compiled once per dialect and
 * detail mode: it has no parameters, so a page compiles only its inner, judged query.
 */
const feedOuterSelects = new Map<string, string>();

function feedOuterSelect(db: Kysely<Database>, dialect: StoreDialect, allDetails: boolean) {
  const key = `${dialect}:${allDetails}`;
  let text = feedOuterSelects.get(key);
  if (text === undefined) {
    const compiled = db.selectNoFrom(buildFeedSelection(dialect, allDetails)).compile();
    if (compiled.parameters.length > 0) throw new Error('a feed page selection takes no parameter');
    text = compiled.sql;
    feedOuterSelects.set(key, text);
  }
  return text;
}

const feedColumns = [
  'seq',
  'visible',
  'change_json',
  ...feedDetailColumns.map((c) => `detail_${c}`),
];

const historyCodec: Codec<HistoryRecord> = {
  seq: 'int',
  entityType: 'text',
  entityId: 'text',
  version: 'int',
  operation: 'text',
  payload: 'json',
  checksum: 'text',
  createdBy: 'text',
  updatedBy: 'text',
  deviceId: 'text',
  mutationId: 'text',
  updatedAt: 'text',
  deletedAt: 'text',
  committedAt: 'text',
};

const mutationCodec: Codec<MutationRecord> = {
  deviceId: 'text',
  mutationId: 'text',
  userId: 'text',
  entityType: 'text',
  entityId: 'text',
  operation: 'text',
  payload: 'json',
  clientVersion: 'int',
  clientTimestamp: 'text',
  status: 'text',
  attempts: 'int',
  result: 'json',
  error: 'json',
  conflictId: 'text',
  conflictStrategy: 'text',
  createdAt: 'text',
  updatedAt: 'text',
};

const conflictCodec: Codec<ConflictRecord> = {
  id: 'text',
  type: 'text',
  entityType: 'text',
  entityId: 'text',
  mutationId: 'text',
  deviceId: 'text',
  userId: 'text',
  clientVersion: 'int',
  serverVersion: 'int',
  clientData: 'json',
  serverData: 'json',
  baseData: 'json',
  suggestedResolution: 'text',
  resolution: 'text',
  status: 'text',
  overlappingFields: 'json',
  resolvedBy: 'text',
  resolvedAt: 'text',
  createdAt: 'text',
};

const deviceCodec: Codec<DeviceRecord> = {
  deviceId: 'text',
  userId: 'text',
  deviceName: 'text',
  platform: 'text',
  appVersion: 'text',
  schemaVersions: 'text',
  lastSyncAt: 'text',
  syncToken: 'text',
  isActive: 'bool',
  createdAt: 'text',
};

const syncHistoryCodec: Codec<SyncHistoryRecord> = {
  userId: 'text',
  deviceId: 'text',
  route: 'text',
  pushed: 'int',
  applied: 'int',
  duplicates: 'int',
  conflicts: 'int',
  rejected: 'int',
  pulled: 'int',
  durationMs: 'int',
  outcome: 'text',
  networkType: 'text',
  createdAt: 'text',
};

const auditCodec: Codec<AuditRecord> = {
  actor: 'text',
  action: 'text',
  target: 'text',
  details: 'json',
  createdAt: 'text',
};

// Patches may only touch the record's own fields: the tenant and key columns are never in a
// codec's encoded patch, so a stray runtime key cannot move a row to another tenant or key.
function encodePatch<R>(
  codec: Codec<R>,
  patch: Partial<R>,
  keys: readonly (keyof R & string)[],
): Row {
  const row = encode(codec, patch);
  for (const key of keys) delete row[columnOf(key)];
  return row;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return listLimitDefaults.default;
  return Math.min(listLimitDefaults.max, Math.max(1, Math.floor(limit)));
}

/** ISO strings compare correctly as text only in one canonical form: the one toISOString makes. */
function canonicalIso(isoTime: string): string {
  const time = new Date(isoTime);
  if (Number.isNaN(time.getTime())) throw new RangeError(`not an ISO time: ${isoTime}`);
  return time.toISOString();
}

// ---------------------------------------------------------------------------------------------

function tenantState(seq: number, epoch: number, prunedSeq: number): TenantState {
  // prunedSeq is only present once something was pruned.
  return prunedSeq > 0 ? { seq, epoch, prunedSeq } : { seq, epoch };
}

class KyselyTenantReads implements TenantReads {
  constructor(
    private readonly executor: Kysely<Database>,
    protected readonly tenant: string,
    protected readonly traits: DialectTraits,
  ) {}

  /** The query executor; the transaction subclass refuses use once it has ended. */
  protected get db(): Kysely<Database> {
    return this.executor;
  }

  /** Whether this reader holds its connection to itself (see DialectTraits.selectRows). */
  protected get holdsConnection(): boolean {
    return false;
  }

  /** A compiled SELECT's rows as arrays of values in select order, the cheapest way available. */
  private async selectRows(
    compiled: CompiledQuery,
    columns: readonly string[],
  ): Promise<unknown[][]> {
    if (this.traits.selectRows && this.holdsConnection) return this.traits.selectRows(compiled);
    const { rows } = await this.db.executeQuery(compiled);
    return rows.map((r) => columns.map((column) => (r as Row)[column]));
  }

  async getTenantState(): Promise<TenantState> {
    const row = await this.db
      .selectFrom('tenants')
      .select(['seq', 'epoch', 'pruned_seq'])
      .where('tenant', '=', this.tenant)
      .executeTakeFirst();
    if (!row) return { seq: 0, epoch: 0 };
    return tenantState(Number(row.seq), Number(row.epoch), Number(row.pruned_seq));
  }

  async getEntity(entityType: string, entityId: string): Promise<EntityRecord | undefined> {
    const row = await this.db
      .selectFrom('entities')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('entity_type', '=', entityType)
      .where('entity_id', '=', entityId)
      .executeTakeFirst();
    return row && decode(entityCodec, row);
  }

  /** One entity's history rows, every column: the version, list and mutation lookups. */
  protected entityHistory(entityType: string, entityId: string) {
    return this.db
      .selectFrom('entity_history')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('entity_type', '=', entityType)
      .where('entity_id', '=', entityId);
  }

  async getHistoryVersion(
    entityType: string,
    entityId: string,
    version: number,
  ): Promise<HistoryRecord | undefined> {
    const row = await this.entityHistory(entityType, entityId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && decode(historyCodec, row);
  }

  /** Newest version first, at most `listLimitDefaults.max` versions. */
  async listHistory(entityType: string, entityId: string): Promise<HistoryRecord[]> {
    const rows = await this.entityHistory(entityType, entityId)
      .orderBy('version', 'desc')
      .limit(listLimitDefaults.max)
      .execute();
    return rows.map((r) => decode(historyCodec, r));
  }

  /** An empty `entityTypes` list selects no types, so it answers no rows. */
  async readFeed(query: FeedQuery): Promise<HistoryRecord[]> {
    const q = this.feedQuery(query);
    if (!q) return [];
    const rows = await q.selectAll().execute();
    return rows.map((r) => decode(historyCodec, r));
  }

  /**
   * One range read on the history primary key (tenant, seq), or on (tenant, entity_type, seq)
   * for a few types, each row judged by the reader's access rules in the database: the payload
   * leaves it inside the change's JSON only, and only where the reader may see it.
   */
  async readFeedEntries(query: FeedEntryQuery): Promise<FeedEntry[]> {
    const q = this.feedQuery(query);
    if (!q) return [];
    const { dialect } = this.traits;
    const judged = q.select([
      ...feedRowColumns,
      feedVisibilitySql(dialect, query.visibility).as('visible'),
    ]);
    const inner = judged.compile();
    const outer = feedOuterSelect(this.db, dialect, query.allDetails === true);
    const compiled = CompiledQuery.raw(`${outer} from (${inner.sql}) as judged order by seq`, [
      ...inner.parameters,
    ]);
    const rows = await this.selectRows(compiled, feedColumns);
    return rows.map((r) => {
      const visible = r[1] === null ? null : Number(r[1]) === 1;
      const entry: FeedEntry = { seq: Number(r[0]), visible, changeJson: r[2] as string | null };
      if (r[3] === null) return entry;
      entry.detail = {
        entityType: r[3] as string,
        entityId: r[4] as string,
        version: Number(r[5]),
        createdBy: r[6] as string,
        deviceId: r[7] as string | null,
        updatedAt: r[8] as string,
        deletedAt: r[9] as string | null,
        payloadJson: r[10] as string | null,
      };
      return entry;
    });
  }

  /** The feed's rows after a cursor, in seq order, before the columns are chosen. */
  private feedQuery(query: FeedQuery) {
    const limit = Math.floor(query.limit);
    if (!(limit > 0)) return undefined;
    if (query.entityTypes !== undefined && query.entityTypes.length === 0) return undefined;
    let q = this.db
      .selectFrom('entity_history')
      .where('tenant', '=', this.tenant)
      .where('seq', '>', query.afterSeq);
    if (query.beforeSeq !== undefined) q = q.where('seq', '<', query.beforeSeq);
    if (query.entityTypes !== undefined) q = q.where('entity_type', 'in', [...query.entityTypes]);
    return q.orderBy('seq').limit(limit);
  }

  /**
   * Served by the entities primary key (tenant, entity_type, entity_id): the row-value comparison
   * seeks straight to the cursor, where an OR of two ranges would read and sort every row after
   * it on each page. Only the columns a page sends, the payload as its stored text, and only
   * the entities the reader may see (or that the engine must judge), with the verdict.
   */
  async readEntities(query: EntityPageQuery): Promise<SnapshotEntity[]> {
    const limit = Math.floor(query.limit);
    if (!(limit > 0)) return [];
    if (query.entityTypes !== undefined && query.entityTypes.length === 0) return [];
    // A live entity has a payload, so its verdict is 1 or undecided (NULL) unless refused (0).
    const verdict = query.visibility
      ? feedVisibilitySql(this.traits.dialect, query.visibility)
      : sql<null>`null`;
    let q = this.db
      .selectFrom('entities')
      .select([...snapshotColumns, verdict.as('visible')])
      .where('tenant', '=', this.tenant)
      .where('deleted_at', 'is', null)
      .where('seq', '<=', query.maxSeq);
    if (query.visibility) q = q.where(sql<boolean>`coalesce(${verdict}, 1) <> 0`);
    if (query.entityTypes !== undefined) q = q.where('entity_type', 'in', [...query.entityTypes]);
    const after = query.after;
    if (after) {
      q = q.where((eb) =>
        eb(
          eb.refTuple('entity_type', 'entity_id'),
          '>',
          eb.tuple(after.entityType, after.entityId),
        ),
      );
    }
    const compiled = q.orderBy('entity_type').orderBy('entity_id').limit(limit).compile();
    const rows = await this.selectRows(compiled, [...snapshotColumns, 'visible']);
    return rows.map((r) => ({
      entityType: r[0] as string,
      entityId: r[1] as string,
      version: Number(r[2]),
      payloadJson: r[3] as string | null,
      checksum: r[4] as string | null,
      createdBy: r[5] as string,
      updatedBy: r[6] as string,
      deviceId: r[7] as string | null,
      updatedAt: r[8] as string,
      seq: Number(r[9]),
      visible: r[10] === null ? null : true,
    }));
  }

  async countEntities(query: {
    entityTypes?: readonly string[];
    maxSeq: number;
    createdBy: string;
  }): Promise<EntityCount[]> {
    if (query.entityTypes !== undefined && query.entityTypes.length === 0) return [];
    let q = this.db
      .selectFrom('entities')
      .select((eb) => [
        'entity_type',
        eb.fn.countAll().as('n'),
        eb.fn
          .sum(eb.case().when('created_by', '=', query.createdBy).then(1).else(0).end())
          .as('own'),
      ])
      .where('tenant', '=', this.tenant)
      .where('deleted_at', 'is', null)
      .where('seq', '<=', query.maxSeq);
    if (query.entityTypes !== undefined) q = q.where('entity_type', 'in', [...query.entityTypes]);
    const rows = await q.groupBy('entity_type').execute();
    return rows.map((r) => ({
      entityType: r.entity_type,
      count: Number(r.n),
      own: Number(r.own ?? 0),
    }));
  }

  /**
   * A cursor such that every change committed at or after `isoTime` lies after it. When
   * committed_at grows with seq (the normal case) this is exactly the highest seq committed
   * before `isoTime`; if clocks ever made them disagree, it errs towards re-sending rather than
   * skipping, by stopping just below the first seq committed at or after `isoTime`.
   */
  async seqBefore(isoTime: string): Promise<number> {
    const at = canonicalIso(isoTime);
    const firstAfter = await this.db
      .selectFrom('entity_history')
      .select((eb) => eb.fn.min('seq').as('seq'))
      .where('tenant', '=', this.tenant)
      .where('committed_at', '>=', at)
      .executeTakeFirst();
    if (firstAfter?.seq !== null && firstAfter?.seq !== undefined) {
      return Number(firstAfter.seq) - 1;
    }
    const lastBefore = await this.db
      .selectFrom('entity_history')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('tenant', '=', this.tenant)
      .where('committed_at', '<', at)
      .executeTakeFirst();
    return lastBefore?.seq === null || lastBefore?.seq === undefined ? 0 : Number(lastBefore.seq);
  }

  async getMutation(deviceId: string, mutationId: string): Promise<MutationRecord | undefined> {
    const row = await this.db
      .selectFrom('mutations')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('device_id', '=', deviceId)
      .where(changesOnly)
      .where('mutation_id', '=', mutationId)
      .executeTakeFirst();
    return row && decode(mutationCodec, row);
  }

  /** In arrival order: the order the devices made them, which the queue drains in. */
  async listMutations(filter: MutationFilter): Promise<MutationRecord[]> {
    if (filter.statuses?.length === 0 || filter.mutationIds?.length === 0) return [];
    const rows = await this.db
      .selectFrom('mutations')
      .selectAll()
      .where((eb) => this.mutationWhere(eb, filter))
      .$if(filter.order === 'leastRecentlyUpdated', (q) => q.orderBy('updated_at'))
      .orderBy('arrival')
      .limit(clampLimit(filter.limit))
      .execute();
    return rows.map((r) => decode(mutationCodec, r));
  }

  async countMutations(
    filter: Omit<MutationFilter, 'limit' | 'order'>,
  ): Promise<Record<MutationStatus, number>> {
    const counts = Object.fromEntries(mutationStatuses.map((s) => [s, 0])) as Record<
      MutationStatus,
      number
    >;
    if (filter.statuses?.length === 0 || filter.mutationIds?.length === 0) return counts;
    const rows = await this.db
      .selectFrom('mutations')
      .select((eb) => ['status', eb.fn.countAll().as('n')])
      .where((eb) => this.mutationWhere(eb, filter))
      .groupBy('status')
      .execute();
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  private mutationWhere(
    eb: ExpressionBuilder<Database, 'mutations'>,
    filter: Omit<MutationFilter, 'limit' | 'order'>,
  ) {
    const conds = [eb('tenant', '=', this.tenant), changesOnly];
    if (filter.deviceId !== undefined) conds.push(eb('device_id', '=', filter.deviceId));
    if (filter.userId !== undefined) conds.push(eb('user_id', '=', filter.userId));
    if (filter.statuses !== undefined) conds.push(eb('status', 'in', [...filter.statuses]));
    if (filter.mutationIds !== undefined) {
      conds.push(eb('mutation_id', 'in', [...filter.mutationIds]));
    }
    if (filter.updatedBefore !== undefined) conds.push(eb('updated_at', '<', filter.updatedBefore));
    return eb.and(conds);
  }

  async getConflict(id: string): Promise<ConflictRecord | undefined> {
    const row = await this.db
      .selectFrom('conflicts')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(conflictCodec, row);
  }

  /** Newest first. */
  async listConflicts(filter: ConflictFilter): Promise<ConflictRecord[]> {
    let q = this.db.selectFrom('conflicts').selectAll().where('tenant', '=', this.tenant);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.entityType !== undefined) q = q.where('entity_type', '=', filter.entityType);
    if (filter.entityId !== undefined) q = q.where('entity_id', '=', filter.entityId);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    if (filter.deviceId !== undefined) q = q.where('device_id', '=', filter.deviceId);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(clampLimit(filter.limit))
      .execute();
    return rows.map((r) => decode(conflictCodec, r));
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    const row = await this.db
      .selectFrom('devices')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row && decode(deviceCodec, row);
  }

  /** All of the tenant's devices (or one user's), by device id. */
  async listDevices(filter: { userId?: string }): Promise<DeviceRecord[]> {
    let q = this.db.selectFrom('devices').selectAll().where('tenant', '=', this.tenant);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const rows = await q.orderBy('device_id').execute();
    return rows.map((r) => decode(deviceCodec, r));
  }

  /** Newest first. */
  async listSyncHistory(filter: { userId?: string; limit?: number }): Promise<SyncHistoryRecord[]> {
    let q = this.db.selectFrom('sync_history').selectAll().where('tenant', '=', this.tenant);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(clampLimit(filter.limit))
      .execute();
    return rows.map((r) => decode(syncHistoryCodec, r));
  }

  /** Newest first. */
  async listAudit(filter: { action?: string; limit?: number }): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_log').selectAll().where('tenant', '=', this.tenant);
    if (filter.action !== undefined) q = q.where('action', '=', filter.action);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(clampLimit(filter.limit))
      .execute();
    return rows.map((r) => decode(auditCodec, r));
  }
}

/** Reads on a connection held for one transaction; refused once that transaction has ended. */
class KyselyHeldReads extends KyselyTenantReads {
  #open = true;

  protected override get db(): Kysely<Database> {
    // Past commit the connection belongs to someone else (on SQLite, to every other caller).
    if (!this.#open) throw new Error('transaction already ended: use the tx only inside its fn');
    return super.db;
  }

  protected override get holdsConnection(): boolean {
    return true;
  }

  end(): void {
    this.#open = false;
  }
}

class KyselyTenantTx extends KyselyHeldReads implements TenantTx {
  /** The last mutation arrival number used in this transaction (read once, then counted here). */
  #arrival: number | undefined;
  /**
   * The tenant row as this transaction has it: read by the lock, then kept up to date by this
   * transaction's own writes to it (no one else writes it while the lock is held). Undefined
   * after a savepoint rolls back, until read again.
   */
  #state: TenantState | undefined;
  readonly #hot: HotPath;
  #savepoints = 0;
  /**
   * JSON column text of the payloads this transaction writes, each stringified once: shared with
   * the engine's size check, which has usually stringified a pushed payload already.
   */
  readonly #json = payloadJsonTexts;

  constructor(
    conn: Kysely<Database>,
    tenant: string,
    traits: DialectTraits,
    locked: LockedTenant | undefined,
  ) {
    super(conn, tenant, traits);
    this.#hot = traits.hotPath(conn);
    if (locked) this.#state = tenantState(locked.seq, locked.epoch, locked.prunedSeq);
  }

  override async getTenantState(): Promise<TenantState> {
    void this.db;
    this.#state ??= await super.getTenantState();
    return { ...this.#state };
  }

  /** The hot path's statements, refused like `db` once the transaction has ended. */
  private get hot(): HotPath {
    void this.db;
    return this.#hot;
  }

  override async getEntity(
    entityType: string,
    entityId: string,
  ): Promise<EntityRecord | undefined> {
    const [found] = await this.getEntities([{ entityType, entityId }]);
    return found;
  }

  async getEntities(keys: readonly EntityKey[]): Promise<EntityRecord[]> {
    const rows = await this.hot.getEntities(this.tenant, keys);
    return rows.map((r) => decode(entityCodec, r));
  }

  override async getMutation(
    deviceId: string,
    mutationId: string,
  ): Promise<MutationRecord | undefined> {
    const [found] = await this.getMutations(deviceId, [mutationId]);
    return found;
  }

  async getMutations(deviceId: string, mutationIds: readonly string[]): Promise<MutationRecord[]> {
    const rows = await this.hot.getMutations(this.tenant, deviceId, mutationIds);
    return rows.map((r) => decode(mutationCodec, r));
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    // Nested savepoints get their own names, so an inner rollback leaves the outer one intact.
    const name = `change_${++this.#savepoints}`;
    await sql.raw(`savepoint ${name}`).execute(this.db);
    try {
      const result = await fn();
      await sql.raw(`release savepoint ${name}`).execute(this.db);
      return result;
    } catch (err) {
      // What the savepoint undid may include writes to the tenant row.
      this.#state = undefined;
      // When the rollback itself fails the transaction is gone (SQLite rolled it back, or the
      // connection dropped): that error fails the whole transaction, as it must.
      await sql.raw(`rollback to savepoint ${name}`).execute(this.db);
      await sql.raw(`release savepoint ${name}`).execute(this.db);
      throw err;
    }
  }

  async getMutationMark(deviceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('device_mutation_marks')
      .select('last_seq')
      .where('tenant', '=', this.tenant)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row ? Number(row.last_seq) : 0;
  }

  async raiseMutationMark(deviceId: string, seq: number, now: string): Promise<void> {
    await this.db
      .insertInto('device_mutation_marks')
      .values({ tenant: this.tenant, device_id: deviceId, last_seq: seq, updated_at: now })
      .onConflict((oc) =>
        oc
          .columns(['tenant', 'device_id'])
          .doUpdateSet({ last_seq: seq, updated_at: now })
          .where('device_mutation_marks.last_seq', '<', seq),
      )
      .execute();
  }

  async getHistoryByMutation(
    deviceId: string,
    entityType: string,
    entityId: string,
    mutationId: string,
  ): Promise<HistoryRecord | undefined> {
    const row = await this.entityHistory(entityType, entityId)
      .where('mutation_id', '=', mutationId)
      .where('device_id', '=', deviceId)
      .orderBy('version', 'desc')
      .executeTakeFirst();
    return row && decode(historyCodec, row);
  }

  async putEntity(entity: EntityRecord): Promise<void> {
    await this.putEntities([entity]);
  }

  /** A key given twice is stored once, as its last record. */
  async putEntities(entities: readonly EntityRecord[]): Promise<void> {
    const byKey = new Map(entities.map((e) => [`${e.entityType}\u0000${e.entityId}`, e]));
    await this.hot.upsertEntities(this.tenant, [...byKey.values()], this.#json);
  }

  async appendHistory(record: NewHistoryRecord): Promise<number> {
    // The tenant row is already locked, so this increment and the insert below are the only
    // writer for this tenant until commit: seqs are allocated and made visible in order.
    const seq = await this.reserveSeqs(1);
    await this.insertHistory([{ ...record, seq }]);
    return seq;
  }

  async reserveSeqs(count: number): Promise<number> {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`reserveSeqs needs a positive count: ${count}`);
    }
    const seq = await this.hot.advanceSeq(this.tenant, count);
    if (this.#state) this.#state.seq = seq;
    return seq - count + 1;
  }

  async insertHistory(records: readonly HistoryRecord[]): Promise<void> {
    await this.hot.insertHistory(this.tenant, records, this.#json);
  }

  async insertMutation(mutation: MutationRecord): Promise<void> {
    await this.insertMutations([mutation]);
  }

  async insertMutations(mutations: readonly MutationRecord[]): Promise<void> {
    if (mutations.length === 0) return;
    // The tenant lock held by this transaction makes max + 1 safe on both dialects, and lets the
    // rest of the transaction count on from there without asking again.
    this.#arrival ??= await this.hot.maxArrival(this.tenant);
    const first = this.#arrival + 1;
    // Counted on before the insert: numbers of rows a savepoint rolls back are simply skipped.
    this.#arrival += mutations.length;
    await this.hot.insertMutations(this.tenant, mutations, first, this.#json);
  }

  async writeBatch(batch: BatchWrites): Promise<void> {
    const { history, entities, mutations } = batch;
    const writeBatch = this.hot.writeBatch?.bind(this.hot);
    if (!writeBatch) {
      if (history.length > 0) {
        checkSeqs(history, await this.reserveSeqs(history.length));
        await this.insertHistory(history);
      }
      if (entities.length > 0) await this.putEntities(entities);
      await this.insertMutations(mutations);
      return;
    }
    const written = await writeBatch(this.tenant, batch, this.#json);
    if (this.#state) this.#state.seq = written.seq;
    if (written.lastArrival !== undefined) this.#arrival = written.lastArrival;
    if (history.length > 0) checkSeqs(history, written.seq - history.length + 1);
  }

  /** Throws when the tenant has no such mutation: an update that changes nothing is a bug. */
  async updateMutation(
    deviceId: string,
    mutationId: string,
    patch: Partial<Omit<MutationRecord, 'deviceId' | 'mutationId'>>,
  ): Promise<void> {
    const changes = encodePatch<MutationRecord>(mutationCodec, patch, ['deviceId', 'mutationId']);
    const key = this.db
      .selectFrom('mutations')
      .select('mutation_id')
      .where('tenant', '=', this.tenant)
      .where('device_id', '=', deviceId)
      .where(changesOnly)
      .where('mutation_id', '=', mutationId);
    const found =
      Object.keys(changes).length === 0
        ? (await key.executeTakeFirst()) !== undefined
        : (
            await this.db
              .updateTable('mutations')
              .set(changes)
              .where('tenant', '=', this.tenant)
              .where('device_id', '=', deviceId)
              .where(changesOnly)
              .where('mutation_id', '=', mutationId)
              .executeTakeFirst()
          ).numUpdatedRows > 0n;
    if (!found) throw new Error(`no mutation ${deviceId}/${mutationId} in this tenant`);
  }

  async insertConflict(conflict: ConflictRecord): Promise<void> {
    await this.db
      .insertInto('conflicts')
      .values({ tenant: this.tenant, ...encode(conflictCodec, conflict) } as Database['conflicts'])
      .execute();
  }

  /** Throws when the tenant has no such conflict. */
  async updateConflict(id: string, patch: Partial<Omit<ConflictRecord, 'id'>>): Promise<void> {
    const changes = encodePatch<ConflictRecord>(conflictCodec, patch, ['id']);
    const found =
      Object.keys(changes).length === 0
        ? (await this.getConflict(id)) !== undefined
        : (
            await this.db
              .updateTable('conflicts')
              .set(changes)
              .where('tenant', '=', this.tenant)
              .where('id', '=', id)
              .executeTakeFirst()
          ).numUpdatedRows > 0n;
    if (!found) throw new Error(`no conflict ${id} in this tenant`);
  }

  /** Inserts or replaces the device; a re-registration keeps the first `createdAt`. */
  async upsertDevice(device: DeviceRecord): Promise<void> {
    const row = { tenant: this.tenant, ...encode(deviceCodec, device) } as Database['devices'];
    const { tenant: _t, device_id: _d, created_at: _c, ...changes } = row;
    await this.db
      .insertInto('devices')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant', 'device_id']).doUpdateSet(changes))
      .execute();
  }

  async bumpEpoch(): Promise<number> {
    const { epoch } = await this.db
      .updateTable('tenants')
      .set((eb) => ({ epoch: eb('epoch', '+', 1) }))
      .where('tenant', '=', this.tenant)
      .returning('epoch')
      .executeTakeFirstOrThrow();
    if (this.#state) this.#state.epoch = Number(epoch);
    return Number(epoch);
  }

  async insertSyncHistory(record: SyncHistoryRecord): Promise<void> {
    await this.db
      .insertInto('sync_history')
      .values({ tenant: this.tenant, ...encode(syncHistoryCodec, record) } as never)
      .execute();
  }

  async insertAudit(record: AuditRecord): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({ tenant: this.tenant, ...encode(auditCodec, record) } as never)
      .execute();
  }
}

/** Throws unless the history records' seqs start at `first`, the first one reserved for them. */
function checkSeqs(history: readonly HistoryRecord[], first: number): void {
  const expected = history[0]?.seq;
  if (first !== expected) {
    throw new Error(`seq range moved under the batch: got ${first}, expected ${expected}`);
  }
}

class KyselyTenantStore extends KyselyTenantReads implements TenantStore {
  constructor(
    private readonly scope: TenantTransactionScope,
    tenant: string,
    traits: DialectTraits,
  ) {
    super(scope.db, tenant, traits);
  }

  transact<T>(fn: (tx: TenantTx) => Promise<T>): Promise<T> {
    const options = { createTenant: true };
    return withTenantTransaction(this.scope, this.tenant, options, async (conn, locked) => {
      const tx = new KyselyTenantTx(conn, this.tenant, this.traits, locked);
      try {
        return await fn(tx);
      } finally {
        // Before commit or rollback: past them the connection belongs to someone else.
        tx.end();
      }
    });
  }

  /**
   * Not queued behind the tenant's writers and takes no write lock. On SQLite the connection is
   * held from BEGIN to COMMIT, so no write transaction is open meanwhile and nothing uncommitted
   * is seen; on PostgreSQL a REPEATABLE READ READ ONLY transaction sees one snapshot, in which a
   * tenant's seqs are visible in commit order (its writers commit one at a time).
   */
  read<T>(fn: (reads: TenantReads) => Promise<T>): Promise<T> {
    return withReadTransaction(this.scope.db, this.traits.beginRead, async (conn) => {
      const reads = new KyselyHeldReads(conn, this.tenant, this.traits);
      try {
        return await fn(reads);
      } finally {
        reads.end();
      }
    });
  }
}

/**
 * `SyncStore` over Kysely. Isolation: each `transact()` is one database transaction that first
 * takes the tenant's write lock and holds it to commit, so a tenant's writers are serialized and
 * change-feed seqs become visible in commit order, gap-free for readers (a reader that has seen
 * seq N never later finds a new change at or below N). Reads outside `transact()` see committed
 * data only; `read()` runs several of them on one view without the write lock (a pull's page).
 * Transactions do not nest: calling the store from inside `fn` (rather than the tx)
 * waits on the lock `fn` holds. The dialect-specific guarantees are on each adapter's factory.
 */
export class KyselySyncStore implements SyncStore {
  constructor(
    /** For maintenance jobs (pruning) that are not part of the engine's port. */
    readonly db: Kysely<Database>,
    private readonly traits: DialectTraits,
    private readonly migrationTableSchema?: string,
    /** How each tenant's transactions wait in this process before they take a connection. */
    private readonly writeOrder: TenantWriteOrder = {},
  ) {}

  /** Brings the schema up to date; resolves to the names of the migrations it ran. */
  migrate(): Promise<string[]> {
    return migrateToLatest(this.db, {
      dialect: this.traits.dialect,
      ...(this.migrationTableSchema !== undefined
        ? { migrationTableSchema: this.migrationTableSchema }
        : {}),
    });
  }

  get dialect(): StoreDialect {
    return this.traits.dialect;
  }

  /** SQLite's group commit so far (COMMITs and the writers they made durable); none elsewhere. */
  get groupCommits(): Readonly<GroupCommitStats> | undefined {
    return this.writeOrder.group?.stats;
  }

  get pushChunkSize(): number | undefined {
    return this.traits.pushChunkSize;
  }

  forTenant(tenant: string): TenantStore {
    if (typeof tenant !== 'string' || tenant.length === 0) {
      throw new TypeError('forTenant needs a non-empty tenant id');
    }
    return new KyselyTenantStore(this.transactionScope, tenant, this.traits);
  }

  /**
   * The store's one tenant-transaction rule (tenant-transaction.ts) for the stores that share
   * its database: offline operations and maintenance lock a tenant exactly as sync writes do.
   */
  inTenantTransaction<T>(
    tenant: string,
    options: TenantTransactionOptions,
    fn: (conn: Kysely<Database>, locked: LockedTenant | undefined) => Promise<T>,
  ): Promise<T> {
    return withTenantTransaction(this.transactionScope, tenant, options, fn);
  }

  private get transactionScope(): TenantTransactionScope {
    return { db: this.db, traits: this.traits, ...this.writeOrder };
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/** Runs the migrations unless told not to; a store whose migration fails is closed, not leaked. */
export async function migratedOrClosed(
  store: KyselySyncStore,
  migrate: boolean | undefined,
): Promise<KyselySyncStore> {
  if (migrate === false) return store;
  try {
    await store.migrate();
    return store;
  } catch (err) {
    await store.close();
    throw err;
  }
}
