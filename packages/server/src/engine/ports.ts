// The engine's ports: what it needs from storage, time, ids and hashing. Adapters live in
// src/store (SQLite, PostgreSQL) and in the composition root; the engine imports none of them.
import type {
  ConflictStatus,
  ConflictStrategy,
  ConflictType,
  MutationStatus,
  Operation,
  ResultStatus,
} from '@syncline/protocol';

export type JsonObject = Record<string, unknown>;

/** The latest state of one entity. `payload` is null only for a tombstone. */
export interface EntityRecord {
  entityType: string;
  entityId: string;
  version: number;
  payload: JsonObject | null;
  checksum: string | null;
  /** The user who created it: the owner for `owner` access rules. */
  createdBy: string;
  updatedBy: string;
  deviceId: string | null;
  /** ISO time of the last change (the edit time the device reported, else the server's). */
  updatedAt: string;
  deletedAt: string | null;
  /** The change-feed sequence number of the version now stored. */
  seq: number;
}

export interface EntityKey {
  entityType: string;
  entityId: string;
}

/** One version of one entity; the history table doubles as the tenant's change feed. */
export interface HistoryRecord {
  seq: number;
  entityType: string;
  entityId: string;
  version: number;
  operation: Operation;
  payload: JsonObject | null;
  checksum: string | null;
  createdBy: string;
  updatedBy: string;
  deviceId: string | null;
  mutationId: string | null;
  updatedAt: string;
  deletedAt: string | null;
  /** Server time of the commit (ISO): what `lastSyncTimestamp` pulls compare against. */
  committedAt: string;
}

export type NewHistoryRecord = Omit<HistoryRecord, 'seq'>;

export interface MutationRecord {
  deviceId: string;
  mutationId: string;
  userId: string;
  entityType: string;
  entityId: string;
  operation: Operation;
  payload: JsonObject | null;
  clientVersion: number;
  clientTimestamp: string;
  status: MutationStatus;
  attempts: number;
  /** The first outcome, replayed verbatim to repeats: status, version, conflictId, error. */
  result: MutationOutcome | null;
  error: { code: string; message: string } | null;
  conflictId: string | null;
  /** The strategy the device asked for with this change, kept so a retry resolves the same way. */
  conflictStrategy: ConflictStrategy | null;
  createdAt: string;
  updatedAt: string;
}

export interface MutationOutcome {
  status: ResultStatus;
  version?: number;
  conflictId?: string;
  error?: { code: string; message: string; details?: unknown };
}

export interface ConflictRecord {
  id: string;
  type: ConflictType;
  entityType: string;
  entityId: string;
  mutationId: string | null;
  deviceId: string | null;
  userId: string;
  clientVersion: number;
  serverVersion: number;
  clientData: JsonObject | null;
  serverData: JsonObject | null;
  baseData: JsonObject | null;
  suggestedResolution: ConflictStrategy;
  resolution: ConflictStrategy | null;
  status: ConflictStatus;
  overlappingFields: string[] | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  createdAt: string;
}

export interface DeviceRecord {
  deviceId: string;
  userId: string;
  deviceName: string | null;
  platform: string | null;
  appVersion: string | null;
  /** The local schema versions its app last sent (`assets=1,visits=3`); null if it never did. */
  schemaVersions: string | null;
  lastSyncAt: string | null;
  syncToken: string | null;
  isActive: boolean;
  createdAt: string;
}

export interface SyncHistoryRecord {
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

export interface AuditRecord {
  actor: string;
  action: string;
  target: string | null;
  details: JsonObject | null;
  createdAt: string;
}

/** What one flush of a push batch writes (see TenantTx.writeBatch). */
export interface BatchWrites {
  readonly history: readonly HistoryRecord[];
  /** Distinct keys. */
  readonly entities: readonly EntityRecord[];
  readonly mutations: readonly MutationRecord[];
}

export interface TenantState {
  /** The highest committed change-feed sequence number (0 when empty). */
  seq: number;
  /** Bumped by cache invalidation: sync tokens minted under an older epoch answer `reset`. */
  epoch: number;
  /**
   * Feed rows at or below it may have been pruned (retention): a cursor below it may have missed
   * a delete, so it answers `reset`. Absent or 0 when nothing was pruned.
   */
  prunedSeq?: number;
}

export interface MutationFilter {
  deviceId?: string;
  userId?: string;
  statuses?: readonly MutationStatus[];
  mutationIds?: readonly string[];
  /** Only mutations last changed strictly before this ISO time. */
  updatedBefore?: string;
  /** Arrival order (default), or the least recently changed first (then by arrival). */
  order?: 'arrival' | 'leastRecentlyUpdated';
  limit?: number;
}

export interface ConflictFilter {
  status?: ConflictStatus;
  entityType?: string;
  entityId?: string;
  userId?: string;
  deviceId?: string;
  limit?: number;
}

export interface FeedQuery {
  afterSeq: number;
  /** Only rows before this position (the rest of the range is known not to be needed). */
  beforeSeq?: number;
  entityTypes?: readonly string[];
  limit: number;
}

/** A page of the current-entities table for a first-sync snapshot. */
export interface EntityPageQuery {
  /** Only rows after this key, in (entityType, entityId) order. */
  after?: { entityType: string; entityId: string };
  entityTypes?: readonly string[];
  /** Only rows whose stored version has seq at or below this (the snapshot's start position). */
  maxSeq: number;
  limit: number;
  /**
   * The reader's rules (see FeedVisibility): entities it refuses are skipped, and each row
   * answered carries its verdict. Without it every entity is answered, undecided.
   */
  visibility?: FeedVisibility;
}

/**
 * A current-entities row as a snapshot page serves it: the payload left as its stored JSON text,
 * which the page splices into its answer instead of parsing and writing it out again.
 */
export interface SnapshotEntity {
  entityType: string;
  entityId: string;
  version: number;
  /** The payload column as stored: JSON text the store itself wrote with JSON.stringify. */
  payloadJson: string | null;
  checksum: string | null;
  createdBy: string;
  updatedBy: string;
  deviceId: string | null;
  updatedAt: string;
  seq: number;
  /** The store's verdict under the query's visibility: true, or null for the engine to judge. */
  visible: true | null;
}

/**
 * One part of a reader's access rule that the store checks on each feed row: the row's creator
 * is `owner`, or the payload's top-level `field` holds one of `anyOf` (each the JSON.stringify
 * text of a value; the field's stored text is compared with them, and payloads are stored as
 * JSON.stringify wrote them, so equal texts are equal values).
 */
export type FeedCondition = { owner: string } | { field: string; anyOf: readonly string[] };

/**
 * Which feed rows a reader sees, per entity type: every condition of the type must hold; null
 * for a type the reader never sees (not served, or a claim the token lacks).
 */
export interface FeedVisibility {
  types: ReadonlyMap<string, readonly FeedCondition[] | null>;
  /** For the types `types` does not name. */
  otherTypes: readonly FeedCondition[] | null;
}

/** A feed read for a pull: the store decides each row's visibility where it can. */
export interface FeedEntryQuery extends FeedQuery {
  visibility: FeedVisibility;
  /** Every row's details, not only the undecided rows' (a push answer looks for its own rows). */
  allDetails?: boolean;
}

/**
 * A change-feed row as a pull serves it. `visible` is the store's verdict: true when every
 * condition holds; false when an owner condition fails or the type is never seen; null, undecided,
 * when a field condition fails or the version has no payload, which the version before decides
 * (the entity may have left the reader's view, or been deleted in it), or when the store cannot
 * read the payload. The change comes as the JSON text of a ServerChange, rendered by the store so
 * that a page is spliced, not rebuilt; it is null for a row that is not visible.
 */
export interface FeedEntry {
  seq: number;
  visible: boolean | null;
  changeJson: string | null;
  /** The columns the engine's own checks read: for undecided rows (and all, with allDetails). */
  detail?: FeedEntryDetail;
}

export interface FeedEntryDetail {
  entityType: string;
  entityId: string;
  version: number;
  createdBy: string;
  deviceId: string | null;
  updatedAt: string;
  deletedAt: string | null;
  /** The payload as the store wrote it (JSON.stringify text), null for a tombstone. */
  payloadJson: string | null;
}

/** Live entities by type at or below a feed position, and how many of them `createdBy` created. */
export interface EntityCount {
  entityType: string;
  count: number;
  own: number;
}

/** Reads scoped to one tenant. Reads outside a transaction see committed data only. */
export interface TenantReads {
  getTenantState(): Promise<TenantState>;
  getEntity(entityType: string, entityId: string): Promise<EntityRecord | undefined>;
  getHistoryVersion(
    entityType: string,
    entityId: string,
    version: number,
  ): Promise<HistoryRecord | undefined>;
  listHistory(entityType: string, entityId: string): Promise<HistoryRecord[]>;
  /** Change feed: history rows with seq > afterSeq (and of the given types), in seq order. */
  readFeed(query: FeedQuery): Promise<HistoryRecord[]>;
  /** The same rows as readFeed, in one indexed range read, each judged by `visibility`. */
  readFeedEntries(query: FeedEntryQuery): Promise<FeedEntry[]>;
  /** Live entities (no tombstones) in (entityType, entityId) order: a snapshot page. */
  readEntities(query: EntityPageQuery): Promise<SnapshotEntity[]>;
  countEntities(query: {
    entityTypes?: readonly string[];
    maxSeq: number;
    createdBy: string;
  }): Promise<EntityCount[]>;
  /** The highest seq committed strictly before `isoTime` (0 if none): a cursor for timestamp pulls. */
  seqBefore(isoTime: string): Promise<number>;
  getMutation(deviceId: string, mutationId: string): Promise<MutationRecord | undefined>;
  listMutations(filter: MutationFilter): Promise<MutationRecord[]>;
  /** Mutation counts by status. */
  countMutations(
    filter: Omit<MutationFilter, 'limit' | 'order'>,
  ): Promise<Record<MutationStatus, number>>;
  getConflict(id: string): Promise<ConflictRecord | undefined>;
  listConflicts(filter: ConflictFilter): Promise<ConflictRecord[]>;
  getDevice(deviceId: string): Promise<DeviceRecord | undefined>;
  listDevices(filter: { userId?: string }): Promise<DeviceRecord[]>;
  listSyncHistory(filter: { userId?: string; limit?: number }): Promise<SyncHistoryRecord[]>;
  listAudit(filter: { action?: string; limit?: number }): Promise<AuditRecord[]>;
}

/**
 * Writes inside one transaction that holds the tenant's write lock: writers of one tenant are
 * serialized, so change-feed sequence numbers become visible in commit order (a reader that has
 * seen seq N will never later find a new change below N), and an idempotency check followed by
 * its write cannot race a second delivery of the same mutation.
 */
export interface TenantTx extends TenantReads {
  /**
   * Runs `fn` in a savepoint of this transaction: when it throws, only what `fn` wrote is rolled
   * back and the error is rethrown; the transaction goes on. Keep using this tx inside `fn`.
   * Fails with the rollback's own error when the transaction itself is lost.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * The device's last-mutation high-water mark: the highest outbox `seq` whose mutation (and
   * every one below it) reached a stored outcome; 0 when the device never sent one.
   */
  getMutationMark(deviceId: string): Promise<number>;
  /** Raises the device's mark to `seq`; a lower `seq` leaves it where it is. */
  raiseMutationMark(deviceId: string, seq: number, now: string): Promise<void>;
  /** The entity's history row this device's mutation wrote, if it is still kept. */
  getHistoryByMutation(
    deviceId: string,
    entityType: string,
    entityId: string,
    mutationId: string,
  ): Promise<HistoryRecord | undefined>;
  putEntity(entity: EntityRecord): Promise<void>;
  /** Allocates the tenant's next sequence number, stores the version, and returns the seq. */
  appendHistory(record: NewHistoryRecord): Promise<number>;
  insertMutation(mutation: MutationRecord): Promise<void>;

  // Set-based forms of the above, each one statement (or one prepared statement run per row on
  // an in-process database) whatever the batch size: the push path's reads and writes.
  /** The device's mutations among these ids that exist, in no particular order. */
  getMutations(deviceId: string, mutationIds: readonly string[]): Promise<MutationRecord[]>;
  /** The entities (tombstones included) among these keys that exist, in no particular order. */
  getEntities(keys: readonly EntityKey[]): Promise<EntityRecord[]>;
  /**
   * Allocates the tenant's next `count` sequence numbers at once and returns the first; the
   * caller stores versions under them with insertHistory before commit.
   */
  reserveSeqs(count: number): Promise<number>;
  /** Stores versions under seqs this transaction reserved. */
  insertHistory(records: readonly HistoryRecord[]): Promise<void>;
  /** Inserts or replaces each entity; a key given twice keeps its last record. */
  putEntities(entities: readonly EntityRecord[]): Promise<void>;
  /** Inserts the mutations in this order (their arrival order). */
  insertMutations(mutations: readonly MutationRecord[]): Promise<void>;
  /**
   * reserveSeqs, insertHistory, putEntities and insertMutations of one batch at once, in one
   * round trip where the database is remote. The history records carry the tenant's next seqs in
   * order; when the counter is elsewhere it throws (the caller's savepoint undoes the rest).
   */
  writeBatch(batch: BatchWrites): Promise<void>;

  updateMutation(
    deviceId: string,
    mutationId: string,
    patch: Partial<Omit<MutationRecord, 'deviceId' | 'mutationId'>>,
  ): Promise<void>;
  insertConflict(conflict: ConflictRecord): Promise<void>;
  updateConflict(id: string, patch: Partial<Omit<ConflictRecord, 'id'>>): Promise<void>;
  upsertDevice(device: DeviceRecord): Promise<void>;
  /** Increments the tenant's cache epoch and returns the new value. */
  bumpEpoch(): Promise<number>;
  insertSyncHistory(record: SyncHistoryRecord): Promise<void>;
  insertAudit(record: AuditRecord): Promise<void>;
}

export interface TenantStore extends TenantReads {
  /**
   * Runs `fn` in one transaction holding the tenant's write lock; commits when it resolves, rolls
   * back when it throws. Nothing written inside is visible to others before the commit.
   */
  transact<T>(fn: (tx: TenantTx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` on one consistent view of committed data without the write lock: a reader sees
   * change-feed seqs only in commit order, and no write of `fn` is possible. Adapters say how.
   */
  read<T>(fn: (reads: TenantReads) => Promise<T>): Promise<T>;
}

/**
 * The storage port. Every read and write goes through `forTenant`, so no query can cross the
 * tenant wall. Adapters state their isolation in their own doc comment.
 */
export interface SyncStore {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * How many of a push's changes go to the store per flush (one savepoint, one read of their keys,
   * one writeBatch); 250 when unsaid. Where writes hold the event loop (SQLite) it stays small;
   * across a network (PostgreSQL) a whole batch at once, its round trips being what a push waits on.
   */
  readonly pushChunkSize?: number | undefined;
  forTenant(tenant: string): TenantStore;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** Crypto the engine needs, injected so that the engine imports no `node:*` module. */
export interface Crypto {
  /** sha256 of a UTF-8 string, lower-case hex. */
  sha256Hex(text: string): string;
  /** A new unique id (UUIDv7 or v4) for conflicts and derived records. */
  newId(): string;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
