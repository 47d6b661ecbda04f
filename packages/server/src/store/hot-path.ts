// The push hot path's statements, written once with a fixed column order: each adapter prepares
// them once (better-sqlite3 statements, PostgreSQL named statements) and binds values straight
// from records, so no query is built or compiled per row. Kysely stays for everything else.
import type {
  BatchWrites,
  EntityKey,
  EntityRecord,
  HistoryRecord,
  MutationRecord,
} from '../engine/ports.js';

export type Row = Record<string, unknown>;

/** A mutation row as written: the record plus its arrival number within the tenant. */
export type MutationRow = MutationRecord & { arrival: number };

export type { EntityKey };

/**
 * Set-based reads and writes of one tenant's rows, used inside a transaction that holds the
 * tenant's write lock. Reads answer raw rows (snake_case columns) for the store's codecs.
 */
export interface HotPath {
  getMutations(tenant: string, deviceId: string, mutationIds: readonly string[]): Promise<Row[]>;
  getEntities(tenant: string, keys: readonly EntityKey[]): Promise<Row[]>;
  /** Adds `count` to the tenant's counter; answers the new (highest) value. */
  advanceSeq(tenant: string, count: number): Promise<number>;
  maxArrival(tenant: string): Promise<number>;
  // `json` memoizes JSON column text per payload object for the caller's whole transaction: a
  // change's history row, entity row and mutation row share one payload object, stringified once.
  insertHistory(tenant: string, records: readonly HistoryRecord[], json?: JsonMemo): Promise<void>;
  /** Keys must be distinct within one call (PostgreSQL cannot upsert a row twice at once). */
  upsertEntities(tenant: string, records: readonly EntityRecord[], json?: JsonMemo): Promise<void>;
  /** The records take arrival numbers `firstArrival`, `firstArrival + 1`, … in their order. */
  insertMutations(
    tenant: string,
    records: readonly MutationRecord[],
    firstArrival: number,
    json?: JsonMemo,
  ): Promise<void>;
  /**
   * All of a batch's writes in one statement, where a round trip costs more than a statement
   * (PostgreSQL): advances the counter by the history's length, stores the rows, and numbers the
   * mutations on from the tenant's highest arrival. Answers the counter and the last arrival
   * after it (undefined without mutations). Without it the store runs the writes one by one.
   */
  writeBatch?(tenant: string, batch: BatchWrites, json: JsonMemo): Promise<WrittenBatch>;
}

export interface WrittenBatch {
  seq: number;
  lastArrival: number | undefined;
}

/** JSON text by value object (see `jsonText`). */
export type JsonMemo = WeakMap<object, string>;

/** JSON text of a JSON column, memoized per object: a batch's payloads are shared by reference. */
export function jsonText(value: unknown, memo?: WeakMap<object, string>): string | null {
  if (value === null || value === undefined) return null;
  if (memo === undefined || typeof value !== 'object') return JSON.stringify(value);
  let text = memo.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    memo.set(value, text);
  }
  return text;
}

// Column lists (after `tenant`, which leads every row) and the values in the same order. The
// `satisfies` checks make a new record field a compile error until it has a column here.

export const historyColumns = [
  'seq',
  'entity_type',
  'entity_id',
  'version',
  'operation',
  'payload',
  'checksum',
  'created_by',
  'updated_by',
  'device_id',
  'mutation_id',
  'updated_at',
  'deleted_at',
  'committed_at',
] as const;

export function historyValues(r: HistoryRecord, memo?: WeakMap<object, string>): unknown[] {
  return [
    r.seq,
    r.entityType,
    r.entityId,
    r.version,
    r.operation,
    jsonText(r.payload, memo),
    r.checksum,
    r.createdBy,
    r.updatedBy,
    r.deviceId,
    r.mutationId,
    r.updatedAt,
    r.deletedAt,
    r.committedAt,
  ];
}

export const entityColumns = [
  'entity_type',
  'entity_id',
  'version',
  'payload',
  'checksum',
  'created_by',
  'updated_by',
  'device_id',
  'updated_at',
  'deleted_at',
  'seq',
] as const;

export function entityValues(r: EntityRecord, memo?: WeakMap<object, string>): unknown[] {
  return [
    r.entityType,
    r.entityId,
    r.version,
    jsonText(r.payload, memo),
    r.checksum,
    r.createdBy,
    r.updatedBy,
    r.deviceId,
    r.updatedAt,
    r.deletedAt,
    r.seq,
  ];
}

/** What an upsert replaces: every column but the key. */
export const entityUpdateColumns = entityColumns.filter(
  (c) => c !== 'entity_type' && c !== 'entity_id',
);

export const mutationColumns = [
  'device_id',
  'mutation_id',
  'user_id',
  'entity_type',
  'entity_id',
  'operation',
  'payload',
  'client_version',
  'client_timestamp',
  'status',
  'attempts',
  'result',
  'error',
  'conflict_id',
  'conflict_strategy',
  'arrival',
  'created_at',
  'updated_at',
] as const;

/** A mutation row's values; its arrival is passed beside the record rather than copied into it. */
export function mutationValues(
  r: MutationRecord,
  arrival: MutationRow['arrival'],
  memo?: WeakMap<object, string>,
): unknown[] {
  return [
    r.deviceId,
    r.mutationId,
    r.userId,
    r.entityType,
    r.entityId,
    r.operation,
    jsonText(r.payload, memo),
    r.clientVersion,
    r.clientTimestamp,
    r.status,
    r.attempts,
    jsonText(r.result),
    jsonText(r.error),
    r.conflictId,
    r.conflictStrategy,
    arrival,
    r.createdAt,
    r.updatedAt,
  ];
}

// Compile-time checks that each column list names every field of its record (plus the extras).
type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : S;
type ColumnsOf<R> = { [K in keyof R]-?: Snake<K & string> }[keyof R];
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _history: Exact<(typeof historyColumns)[number], ColumnsOf<HistoryRecord>> = true;
const _entity: Exact<(typeof entityColumns)[number], ColumnsOf<EntityRecord>> = true;
const _mutation: Exact<(typeof mutationColumns)[number], ColumnsOf<MutationRow>> = true;
void [_history, _entity, _mutation];
