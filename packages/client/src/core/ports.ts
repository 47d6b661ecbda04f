// The SDK's ports: what the sync client needs from local storage, injected by the app
// (memoryStorage, indexedDbStorage, sqliteStorage). The core never imports an adapter.
//
// Bodies (`body`) are opaque strings to the storage: JSON text, or ciphertext when the client
// encrypts at rest. Everything an adapter must index on (type, id, version, seq) stays in clear.

/** The last state of one entity as the server confirmed it. */
export interface EntityRow {
  type: string;
  id: string;
  /** Server version this state is at. */
  version: number;
  /** A tombstone: the server deleted it (the body is null). */
  deleted: boolean;
  /** JSON text of the entity's data, or its ciphertext. */
  body: string | null;
  /**
   * The values of the collection's indexed fields, in clear (also when the body is encrypted),
   * that queryEntities answers from. Written by the core; absent for types without indexes.
   */
  fields?: Record<string, IndexValue>;
}

/** What an indexed field holds: anything else (missing, objects, arrays) is indexed as null. */
export type IndexValue = string | number | boolean | null;

/**
 * A compound index a collection declares: an equality (or `in`) on the first field, ordered by the
 * second. Adapters may keep it as one index (IndexedDB pair keys, a SQLite composite index); a
 * query that no declared compound serves is answered from the single-field indexes.
 */
export type CompoundIndex = readonly [string, string];

/**
 * One condition of a StorageQuery on an indexed field: one of a sorted list of values, or a range
 * of numbers or of strings (a range never matches a value of another kind).
 */
export type StorageCondition =
  | { field: string; in: IndexValue[]; range?: undefined }
  | {
      field: string;
      in?: undefined;
      range: {
        kind: 'number' | 'string';
        lower?: { value: number | string; open: boolean };
        upper?: { value: number | string; open: boolean };
      };
    };

/**
 * A query over one type's confirmed rows, by their `fields`. Order: null < false < true <
 * numbers < strings, strings by UTF-16 code units; ties by id; desc reverses the whole order.
 */
export interface StorageQuery {
  where: StorageCondition[];
  orderBy?: { field: string; direction: 'asc' | 'desc' };
  limit?: number;
  offset?: number;
  /** The type's declared compound indexes: the rows were written with the same ones. */
  compounds?: readonly CompoundIndex[];
}

export const OutboxState = { PENDING: 'PENDING', FAILED: 'FAILED' } as const;
export type OutboxState = (typeof OutboxState)[keyof typeof OutboxState];

/** One local change waiting to reach the server (the outbox drains FIFO by `seq`). */
export interface OutboxRow {
  /** Position in the outbox: given by the storage on `appendOutbox`, strictly increasing. */
  seq: number;
  /** The idempotency key sent as `mutationId`; stable across every retry. */
  mutationId: string;
  type: string;
  id: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  /** The server version the change was made on (`clientVersion` on the wire). */
  baseVersion: number;
  /** When the change was made (ISO 8601). */
  timestamp: string;
  attempts: number;
  state: OutboxState;
  /** Why it failed, once it did (an error code and message, JSON text). */
  error: string | null;
  /** JSON text of the payload (a merge patch for UPDATE), or its ciphertext; null for DELETE. */
  body: string | null;
}

/** A conflict the server reported, kept until the app acknowledges it. */
export interface ConflictRow {
  id: string;
  /** JSON text of the protocol's Conflict (client and server data inside), or its ciphertext. */
  body: string;
}

/** One write; a `write()` call applies a list of them atomically. */
export type StorageWrite =
  /** `compounds`: the type's declared compound indexes, for an adapter that keeps them. */
  | { kind: 'putEntity'; row: EntityRow; compounds?: readonly CompoundIndex[] }
  | { kind: 'removeEntity'; type: string; id: string }
  | { kind: 'clearEntities' }
  /** Queues a new outbox row; the storage gives it its `seq` inside the write's transaction. */
  | { kind: 'appendOutbox'; row: Omit<OutboxRow, 'seq'> }
  /** Replaces the outbox row with this `seq` (or adds it under that seq). */
  | { kind: 'putOutbox'; row: OutboxRow }
  | { kind: 'removeOutbox'; seq: number }
  | { kind: 'putConflict'; row: ConflictRow }
  | { kind: 'removeConflict'; id: string }
  | { kind: 'setMeta'; key: string; value: string | null };

export interface WriteOptions {
  /**
   * Apply the call only if the storage's revision is still this one (what `revision()` returned
   * before the caller read what it based the writes on); otherwise reject with
   * LocalStoreChangedError and change nothing. The check and the writes are one transaction.
   */
  ifRevision?: number;
}

export interface WriteResult {
  /** The storage's revision once the call committed. */
  revision: number;
  /** The `seq` each `appendOutbox` item of the call was given, in the order of the items. */
  appended: number[];
}

/** A write made with `ifRevision` found that another writer had changed the storage first. */
export class LocalStoreChangedError extends Error {
  override readonly name = 'LocalStoreChangedError';
  readonly code = 'LOCAL_STORE_CHANGED';
  constructor(expected: number, found: number) {
    super(`the local store changed (revision ${found}, expected ${expected})`);
  }
}

export function isLocalStoreChangedError(error: unknown): error is LocalStoreChangedError {
  return (error as { code?: unknown } | null)?.code === 'LOCAL_STORE_CHANGED';
}

/**
 * Local storage for sync clients. Any number of store instances may be open on the same storage
 * (tabs on one IndexedDB database, processes on one SQLite file; memoryStorage is one instance,
 * shared by every client handed that object). Guarantees every adapter must give (the
 * conformance suite in src/testing checks them, with two instances on one storage):
 * - `write()` is atomic: after a crash, either every write of the call is there or none is;
 *   and it is durable once its promise resolves. Calls from every instance are serialized.
 * - Reads after a resolved `write()` see it, through any instance; `listOutbox()` is ordered by
 *   `seq`; `listEntities(type)` returns that type's rows in `id` order, tombstones included.
 * - Rows come back equal to what was written (no added or missing fields).
 * - `appendOutbox` gives a `seq` above every seq the storage ever gave or held, inside the
 *   call's transaction: two writers never get the same seq, and seq order is commit order.
 * - The revision moves on with every call that writes anything, in the same transaction, and is
 *   the same number for every instance: `ifRevision` turns a read-then-write into a
 *   compare-and-set across instances.
 * - `exclusive(name, fn)` runs `fn` while no other instance on the storage runs one for `name`.
 * - `watch(listener)` calls the listener after writes committed through this instance and, where
 *   the platform tells (BroadcastChannel, the SQLite file's data version), through the others.
 *
 * Meta keys that start with `syncline.store.` are the adapters' own (revision, outbox counter,
 * leases); a write to one is refused.
 */
export interface LocalStore {
  getMeta(key: string): Promise<string | undefined>;
  getEntity(type: string, id: string): Promise<EntityRow | undefined>;
  listEntities(type: string): Promise<EntityRow[]>;
  /**
   * That type's live rows (no tombstones) whose `fields` hold the orderBy field and satisfy every
   * condition, in the query's order, then `offset` and `limit`: what `referenceQuery` in
   * core/query.ts computes, answered from the adapter's indexes.
   */
  queryEntities(type: string, query: StorageQuery): Promise<EntityRow[]>;
  listOutbox(): Promise<OutboxRow[]>;
  listConflicts(): Promise<ConflictRow[]>;
  /** The storage's current revision (0 for a new one). */
  revision(): Promise<number>;
  write(writes: readonly StorageWrite[], options?: WriteOptions): Promise<WriteResult>;
  /**
   * Runs `fn` once no other instance on this storage is inside `exclusive` for the same `name`,
   * and keeps them out until it settles. Waits its turn; a holder that dies (a closed tab, a
   * killed process) lets the next one in.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Calls `listener` after writes to the storage (see above); returns an unsubscribe. */
  watch(listener: () => void): () => void;
  close(): Promise<void>;
}
