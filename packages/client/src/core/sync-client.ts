// The sync client's core: local collections over a LocalStore, the outbox, and one sync run
// (push the outbox oldest first, then pull the feed). When to run and what to do after a failed
// run is the scheduler's job; how requests travel is the transport's. Imports only the protocol.
//
// Several cores may share one storage (tabs on one IndexedDB database, processes on one SQLite
// file). Each keeps mirrors of the outbox and the conflicts, checked against the storage's
// revision before every read and taken afresh when another writer moved it. A local write is a
// compare-and-set on that revision, tried again on fresh state when it lost the race; the outbox
// position is given by the storage inside the write. One sync run at a time holds the storage's
// 'sync' exclusive section; the syncer alone writes confirmed state, conflicts from the server and
// the sync token, and only to rows it pushed.
import {
  limitsDefaults,
  type Change,
  type ChangeResult,
  type Conflict,
  type ConflictStrategy,
  type ErrorBody,
  type PushRequest,
  type PushResponse,
  type ServerChange,
} from '@syncline/protocol';
import { rowOf, StagedEntities, stagePulledChanges } from './apply-pull.js';
import type { JsonObject } from '@syncline/protocol';
import { BatchSizing, utf8Length, type BatchLimits } from './batch-sizing.js';
import { Outbox } from './outbox.js';
import type { SchemaOptions } from './schema-migrations.js';
import {
  parseIndexes,
  type CollectionIndexes,
  type IndexDeclaration,
} from './index-declaration.js';
import {
  isLocalStoreChangedError,
  OutboxState,
  type ConflictRow,
  type EntityRow,
  type LocalStore,
  type OutboxRow,
  type StorageWrite,
  type WriteResult,
} from './ports.js';
import {
  compareForQuery,
  indexFields,
  isQuery,
  normalizeQuery,
  page,
  rowQualifies,
  type Query,
} from './query.js';
import { confirmedData, expectedVersion, rebase, replay } from './rebase.js';
import {
  isTransportError,
  TransportError,
  TransportFailure,
  type Transport,
} from './sync-ports.js';

/** The protocol's entity type pattern, checked locally so a bad name never reaches the outbox. */
const ENTITY_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
const SYNC_TOKEN = 'sync.token';
/** Meta keys the sync core writes: a store that synced holds the sync token. */
export const syncMetaKeys = { syncToken: SYNC_TOKEN } as const;
const LAST_SYNC_AT = 'sync.lastSyncAt';
/**
 * A first sync under way: where the snapshot stopped (its cursor) and how far it got, kept in the
 * same write as each page so that a crash or a dropped connection resumes there.
 */
const SNAPSHOT_CURSOR = 'sync.snapshot.cursor';
const SNAPSHOT_PROGRESS = 'sync.snapshot.progress';
const CLOCK_OFFSET = 'sync.clockOffsetMs';
/** Sync runs begun on this storage, by any instance, and the last of them that succeeded. */
const RUNS_STARTED = 'sync.runsStarted';
const RUNS_SUCCEEDED = 'sync.runsSucceeded';
/** The indexed fields of each collection the confirmed rows' `fields` were computed for. */
const INDEXED_FIELDS = 'sync.indexedFields';
/** Sync runs of all instances on one storage take turns in this exclusive section. */
const SYNC_SECTION = 'sync';
/** A local write that keeps losing the compare-and-set this often gives up (a runaway writer). */
const MAX_WRITE_ROUNDS = 100;
/**
 * A device clock this far from the server's is corrected when stamping changes. Smaller skews are
 * left alone: the estimate includes network latency, and the server accepts 5 minutes ahead.
 */
const CLOCK_CORRECTION_THRESHOLD_MS = 60_000;

export interface CollectionOptions extends SchemaOptions {
  /** Sent with every change of this type; else the client's `conflictStrategy`, else the server's. */
  conflictStrategy?: ConflictStrategy;
  /**
   * Fields find({ where, orderBy }) may use. The storage indexes them (IndexedDB and SQLite
   * indexes); with encryption at rest their values are kept in clear, the rest of the data is not.
   * A pair `[a, b]` of declared fields adds a compound index: an equality or `in` on `a` ordered
   * by `b` reads only its page. Each compound costs every row one more index key on write.
   */
  indexes?: IndexDeclaration;
}

export type Entity<T> = T & { id: string };
/**
 * Field equality (`{ status: 'open' }`) or a predicate: a scan of every row of the type, on any
 * field. Indexed queries take a Query instead.
 */
export type Filter<T> = Partial<T> | ((item: Entity<T>) => boolean);

/** One entity whose local view a change may have moved: its data after it (undefined: gone). */
export interface ChangedEntity {
  type: string;
  id: string;
  data: JsonObject | undefined;
}

export interface LocalCollection<T extends object = JsonObject> {
  /** Queues a CREATE and resolves to the new id (UUIDv7 unless `id` is given). */
  create(data: T, options?: { id?: string }): Promise<string>;
  /** Queues an UPDATE: `patch` is a JSON Merge Patch (null removes a field). */
  update(id: string, patch: Partial<T> | Record<string, unknown>): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<Entity<T> | undefined>;
  /**
   * With a Query: the live entities matching `where` on indexed fields, in `orderBy` order (else
   * id order), paged by `offset` and `limit`, answered from the storage's indexes. With a Filter
   * (or nothing): every live entity of this type passing it, in id order, by a scan.
   */
  find(query?: Query | Filter<T>): Promise<Array<Entity<T>>>;
}

/** A conflict the server reported; MANUAL ones wait for a person on the server. */
export type ConflictView = Conflict & { waitingForReview: boolean };

/** A change the server refused, or that failed too often; it waits for retryFailed or discard. */
export interface FailedMutation {
  mutationId: string;
  type: string;
  id: string;
  operation: OutboxRow['operation'];
  attempts: number;
  error: ErrorBody | null;
}

export interface SyncSummary {
  pushed: number;
  pulled: number;
  conflicts: number;
  failed: number;
  durationMs: number;
}

export interface SyncProgress {
  /** 'snapshot': a fresh device's first sync, each entity's latest state once. */
  phase: 'snapshot' | 'push' | 'pull';
  pushed: number;
  pulled: number;
  /** About how many changes the whole pull brings, when the transport can tell. */
  total?: number;
}

/** How far a first sync has got: entities received, of about `total`. */
export interface FirstSyncProgress {
  pulled: number;
  total: number;
}

function parseFirstSync(text: string | undefined): FirstSyncProgress | null {
  if (text === undefined) return null;
  try {
    const value = JSON.parse(text) as Partial<FirstSyncProgress>;
    const pulled = Number(value.pulled);
    const total = Number(value.total);
    return Number.isSafeInteger(pulled) && Number.isSafeInteger(total) ? { pulled, total } : null;
  } catch {
    return null;
  }
}

export interface SyncCoreEvents {
  /**
   * Local or pulled data of these types changed ('all' after a reset or another writer's
   * change). `entities`, when given, lists every entity whose local view the change may have
   * moved, with its data after it; without it any entity of those types may have changed.
   */
  change(types: ReadonlySet<string> | 'all', entities?: readonly ChangedEntity[]): void;
  conflict(conflict: ConflictView): void;
  /** The outbox or the conflict list changed (the status counts). */
  counts(): void;
  /** A local write queued a change for the server (the scheduler pushes it soon). */
  queued?(): void;
}

export interface SyncCoreOptions {
  storage: LocalStore;
  transport: Transport;
  deviceId: string;
  batchSize: number;
  /** The largest push body (JSON bytes) the server accepts; a single larger change fails. */
  maxBatchBytes: number;
  pullPageSize: number;
  /** Entities a first-sync snapshot page asks for (default: the protocol's default). */
  snapshotPageSize?: number;
  /** Definitive refusals a change may get (a restamped FUTURE_TIMESTAMP, a CHANGE_FAILED) before it fails. */
  maxAttempts: number;
  conflictStrategy?: ConflictStrategy;
  collections?: Record<string, CollectionOptions>;
  newId: () => string;
  now: () => Date;
  events: SyncCoreEvents;
}

export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const toView = (conflict: Conflict): ConflictView => ({
  ...conflict,
  waitingForReview: conflict.status === 'PENDING_REVIEW',
});

const withoutId = (data: object): JsonObject => {
  const copy: JsonObject = { ...(data as JsonObject) };
  delete copy.id;
  return copy;
};

function matches<T>(item: Entity<T>, filter: Filter<T> | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === 'function') return filter(item);
  return Object.entries(filter).every(
    ([key, value]) =>
      JSON.stringify((item as Record<string, unknown>)[key]) === JSON.stringify(value),
  );
}

/** The effective outcome of a result: a repeat answers DUPLICATE with the first one's status. */
const outcomeOf = (result: ChangeResult) =>
  result.status === 'DUPLICATE' ? (result.originalStatus ?? 'APPLIED') : result.status;

const count = (value: string | undefined): number => {
  const parsed = Number(value ?? 0);
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 0;
};

/** No definitive answer: the server may or may not have the batch; resent later as it is. */
const isTransient = (error: TransportError) =>
  error.kind === TransportFailure.NETWORK || error.kind === TransportFailure.SERVER;

export class SyncCore {
  private writeChain: Promise<unknown> = Promise.resolve();
  private readonly outbox = new Outbox();
  private readonly conflictRows = new Map<string, ConflictView>();
  /** Server clock minus device clock, as last measured (0 while within the threshold). */
  private clockOffsetMs = 0;
  private lastSyncAtValue: string | null = null;
  private firstSyncValue: FirstSyncProgress | null = null;
  /** The storage revision the mirrors show. */
  private revision = 0;
  private readonly sizing: BatchSizing;
  private unwatch: (() => void) | undefined;

  private constructor(private readonly options: SyncCoreOptions) {
    this.sizing = new BatchSizing({ changes: options.batchSize, bytes: options.maxBatchBytes });
  }

  static async open(options: SyncCoreOptions): Promise<SyncCore> {
    const core = new SyncCore(options);
    await core.reload();
    await core.reindex();
    core.unwatch = options.storage.watch(() => {
      core.onStorageChanged().catch(() => undefined);
    });
    return core;
  }

  /** Stops following the storage (the storage itself is the caller's to close). */
  close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Takes every mirror afresh from the storage. */
  private async reload(): Promise<void> {
    const { storage } = this.options;
    // Read first: a write landing during the reload leaves the mirrors newer, never older.
    const revision = await storage.revision();
    const [rows, conflicts, offset, lastSyncAt, firstSync] = await Promise.all([
      storage.listOutbox(),
      storage.listConflicts(),
      storage.getMeta(CLOCK_OFFSET),
      storage.getMeta(LAST_SYNC_AT),
      storage.getMeta(SNAPSHOT_PROGRESS),
    ]);
    this.firstSyncValue = parseFirstSync(firstSync);
    this.outbox.replace(rows);
    this.conflictRows.clear();
    for (const row of conflicts) {
      this.conflictRows.set(row.id, toView(JSON.parse(row.body) as Conflict));
    }
    const measured = Number(offset ?? 0);
    this.clockOffsetMs = Number.isFinite(measured) ? measured : 0;
    this.lastSyncAtValue = lastSyncAt ?? null;
    this.revision = revision;
  }

  private readonly declaredIndexes = new Map<string, CollectionIndexes>();
  /** The collection's indexed fields and compounds (none when it declares none). */
  private declaredOf(type: string): CollectionIndexes {
    let declared = this.declaredIndexes.get(type);
    if (!declared) {
      declared = parseIndexes(type, this.options.collections?.[type]?.indexes);
      this.declaredIndexes.set(type, declared);
    }
    return declared;
  }

  /** The fields the collection declares as indexed ([] for none). */
  private indexesOf(type: string): readonly string[] {
    return this.declaredOf(type).fields;
  }

  /** The declared indexes, as kept in meta: a stable text to compare. */
  private get indexDeclaration(): string {
    // Compounds are part of it: declaring one writes every row of the type again with its keys.
    const declared: Record<string, IndexDeclaration> = {};
    for (const [type, options] of Object.entries(this.options.collections ?? {})) {
      if (options.indexes && options.indexes.length > 0) declared[type] = [...options.indexes];
    }
    return JSON.stringify(declared);
  }

  /**
   * After the app declared other indexes (or on a storage written before it declared any), the
   * confirmed rows' indexed values are computed again, in one write with the new declaration.
   */
  private async reindex(): Promise<void> {
    const declaration = this.indexDeclaration;
    const { storage } = this.options;
    if (((await storage.getMeta(INDEXED_FIELDS)) ?? '{}') === declaration) return;
    const previous = JSON.parse((await storage.getMeta(INDEXED_FIELDS)) ?? '{}') as Record<
      string,
      unknown
    >;
    await this.transact(async () => {
      if (((await storage.getMeta(INDEXED_FIELDS)) ?? '{}') === declaration) {
        return { writes: [], value: undefined };
      }
      const writes: StorageWrite[] = [];
      const types = new Set([
        ...Object.keys(previous),
        ...Object.keys(JSON.parse(declaration) as object),
      ]);
      for (const type of types) {
        for (const row of await storage.listEntities(type)) {
          const { fields: _old, ...plain } = row;
          writes.push({ kind: 'putEntity', row: plain });
        }
      }
      writes.push({ kind: 'setMeta', key: INDEXED_FIELDS, value: declaration });
      return { writes, value: undefined };
    });
  }

  /** A put with its row's indexed values and its collection's compounds, where it has any. */
  private indexed(write: Extract<StorageWrite, { kind: 'putEntity' }>): StorageWrite {
    const { compounds } = this.declaredOf(write.row.type);
    const row = this.withFields(write.row);
    // Most puts (a whole first sync's, where nothing is declared) pass as they are.
    if (row === write.row && compounds.length === 0 && write.compounds === undefined) return write;
    const { compounds: _given, ...put } = write;
    return {
      ...put,
      row,
      ...(compounds.length > 0 ? { compounds } : {}),
    };
  }

  /** A confirmed row with the indexed values of its collection (none for a tombstone). */
  private withFields(row: EntityRow): EntityRow {
    const indexes = this.indexesOf(row.type);
    // Most rows (a whole first sync's, where no index is declared) pass as they are.
    if (indexes.length === 0 && row.fields === undefined) return row;
    const { fields: _given, ...plain } = row;
    if (indexes.length === 0 || row.deleted || row.body === null) return plain;
    return { ...plain, fields: indexFields(JSON.parse(row.body) as JsonObject, indexes) };
  }

  /** Reloads the mirrors if another writer moved the storage on. */
  private async catchUp(): Promise<void> {
    if ((await this.options.storage.revision()) !== this.revision) await this.reloadForeign();
  }

  /** Another instance (tab, process, client) wrote: take its changes and tell the app. */
  private async reloadForeign(): Promise<void> {
    await this.reload();
    this.notify('all');
    this.options.events.counts();
  }

  private onStorageChanged(): Promise<void> {
    return this.serialize(() => this.catchUp());
  }

  // ---- counts and lists -------------------------------------------------------------------

  get pendingCount(): number {
    return this.outbox.pending().length;
  }

  get failedCount(): number {
    return this.outbox.failed().length;
  }

  get conflictCount(): number {
    return this.conflictRows.size;
  }

  /** The conflicts kept, oldest first, as the storage holds them now. */
  async conflicts(): Promise<ConflictView[]> {
    await this.serialize(() => this.catchUp());
    return [...this.conflictRows.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** The failed mutations, oldest first, as the storage holds them now. */
  async failed(): Promise<FailedMutation[]> {
    await this.serialize(() => this.catchUp());
    return this.outbox.failed().map((row) => ({
      mutationId: row.mutationId,
      type: row.type,
      id: row.id,
      operation: row.operation,
      attempts: row.attempts,
      error: row.error === null ? null : (JSON.parse(row.error) as ErrorBody),
    }));
  }

  /** A first sync under way on this storage (resumed where it stopped), else null. */
  get firstSync(): FirstSyncProgress | null {
    return this.firstSyncValue;
  }

  /** When a sync run on this storage (by any instance) last succeeded. */
  get lastSyncAt(): string | null {
    return this.lastSyncAtValue;
  }

  // ---- collections ------------------------------------------------------------------------

  /** Refuses a name the server would refuse, or one the app did not configure. */
  static assertCollectionName(type: string, known?: Record<string, CollectionOptions>): void {
    if (!ENTITY_TYPE.test(type)) {
      throw new SyncError('INVALID_ENTITY_TYPE', `"${type}" is not a valid entity type name`);
    }
    if (known && !Object.hasOwn(known, type)) {
      throw new SyncError(
        'UNKNOWN_COLLECTION',
        `"${type}" is not one of the configured collections`,
      );
    }
  }

  collection<T extends object = JsonObject>(type: string): LocalCollection<T> {
    SyncCore.assertCollectionName(type, this.options.collections);
    return {
      create: (data, options) => this.create(type, data, options?.id),
      update: (id, patch) => this.update(type, id, patch as JsonObject),
      delete: (id) => this.remove(type, id),
      get: (id) => this.get(type, id) as Promise<Entity<T> | undefined>,
      find: (query) =>
        isQuery(query) ? this.query<T>(type, query) : this.find<T>(type, query as Filter<T>),
    };
  }

  private notify(types: ReadonlySet<string> | 'all', entities?: readonly ChangedEntity[]): void {
    this.options.events.change(types, entities);
  }

  /** The local views of these entities now (after a change to them), for the change event. */
  private async views(keys: Iterable<{ type: string; id: string }>): Promise<ChangedEntity[]> {
    const seen = new Set<string>();
    const views: ChangedEntity[] = [];
    for (const { type, id } of keys) {
      const key = `${type}\u0000${id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const { data } = await this.current(type, id);
      views.push({ type, id, data });
    }
    return views;
  }

  /** Runs `fn` after every earlier write: one writer at a time keeps seq and rebase consistent. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn, fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes, and brings the mirrors in step: by the writes themselves when nobody else wrote since
   * the mirrors' revision, else by reloading them. `ifRevision` makes it a compare-and-set.
   */
  private async commit(given: StorageWrite[], ifRevision?: number): Promise<WriteResult> {
    // Confirmed rows carry their collection's indexed values, computed here from the clear body.
    const writes = given.map((write) => (write.kind === 'putEntity' ? this.indexed(write) : write));
    const result = await this.options.storage.write(
      writes,
      ifRevision === undefined ? {} : { ifRevision },
    );
    if (writes.length === 0) return result;
    if (result.revision !== this.revision + 1) {
      await this.reloadForeign();
      return result;
    }
    this.revision = result.revision;
    this.outbox.observe(writes, result);
    for (const write of writes) {
      if (write.kind === 'putConflict') {
        this.conflictRows.set(write.row.id, toView(JSON.parse(write.row.body) as Conflict));
      } else if (write.kind === 'removeConflict') this.conflictRows.delete(write.id);
      else if (write.kind === 'setMeta' && write.key === LAST_SYNC_AT) {
        this.lastSyncAtValue = write.value;
      } else if (write.kind === 'setMeta' && write.key === SNAPSHOT_PROGRESS) {
        this.firstSyncValue = parseFirstSync(write.value ?? undefined);
      }
    }
    return result;
  }

  /**
   * A local read-then-write that another writer may race: `plan` reads fresh state and returns
   * the writes it makes of it, committed only if nothing changed in between; else it runs again
   * on the newer state. One at a time in this instance.
   */
  private transact<T>(plan: () => Promise<{ writes: StorageWrite[]; value: T }>): Promise<T> {
    return this.serialize(async () => {
      for (let round = 1; ; round++) {
        await this.catchUp();
        const base = this.revision;
        const { writes, value } = await plan();
        if (writes.length === 0) return value;
        try {
          await this.commit(writes, base);
          return value;
        } catch (error) {
          if (!isLocalStoreChangedError(error) || round >= MAX_WRITE_ROUNDS) throw error;
        }
      }
    });
  }

  private async current(type: string, id: string) {
    const confirmed = await this.options.storage.getEntity(type, id);
    const queued = this.outbox.forEntity(type, id);
    return { confirmed, queued, data: rebase(confirmed, queued) };
  }

  private queue(
    type: string,
    id: string,
    operation: OutboxRow['operation'],
    baseVersion: number,
    body: JsonObject | null,
  ): StorageWrite {
    return Outbox.append({
      mutationId: this.options.newId(),
      type,
      id,
      operation,
      baseVersion,
      timestamp: new Date(this.options.now().getTime() + this.clockOffsetMs).toISOString(),
      attempts: 0,
      state: OutboxState.PENDING,
      error: null,
      body: body === null ? null : JSON.stringify(body),
    });
  }

  /** After a local write to one entity: tells the app its new view and the new counts. */
  private async queued(type: string, id: string): Promise<void> {
    const entities = await this.views([{ type, id }]).catch(() => undefined);
    this.notify(new Set([type]), entities);
    this.options.events.counts();
    this.options.events.queued?.();
  }

  private async create(type: string, data: object, givenId?: string): Promise<string> {
    assertObject(data);
    const id = givenId ?? this.options.newId();
    const body = withoutId(data);
    await this.transact(async () => {
      const { confirmed, queued, data: existing } = await this.current(type, id);
      if (existing !== undefined) throw new SyncError('ALREADY_EXISTS', `${type} ${id} exists`);
      // The server keeps a tombstone and answers a CREATE on it with a DELETED conflict.
      if (confirmed || queued.length > 0) {
        throw new SyncError('DELETED', `${type} ${id} was deleted; its id cannot be used again`);
      }
      return { writes: [this.queue(type, id, 'CREATE', 1, body)], value: undefined };
    });
    await this.queued(type, id);
    return id;
  }

  private async update(type: string, id: string, patch: JsonObject): Promise<void> {
    assertObject(patch);
    const body = withoutId(patch);
    await this.transact(async () => {
      const { confirmed, queued, data } = await this.current(type, id);
      if (data === undefined) throw new SyncError('NOT_FOUND', `${type} ${id} does not exist`);
      const base = expectedVersion(confirmed, queued);
      return { writes: [this.queue(type, id, 'UPDATE', base, body)], value: undefined };
    });
    await this.queued(type, id);
  }

  private async remove(type: string, id: string): Promise<void> {
    await this.transact(async () => {
      const { confirmed, queued, data } = await this.current(type, id);
      if (data === undefined) throw new SyncError('NOT_FOUND', `${type} ${id} does not exist`);
      const base = expectedVersion(confirmed, queued);
      return { writes: [this.queue(type, id, 'DELETE', base, null)], value: undefined };
    });
    await this.queued(type, id);
  }

  private async get(type: string, id: string): Promise<Entity<JsonObject> | undefined> {
    await this.serialize(() => this.catchUp());
    const { data } = await this.current(type, id);
    return data === undefined ? undefined : { ...data, id };
  }

  /**
   * An indexed query: the storage answers it over the confirmed rows; entities with queued
   * changes are left out of that answer and judged on their rebased view instead. The storage is
   * asked for enough rows that, with those left out, the page is still full.
   */
  private async query<T>(type: string, query: Query): Promise<Array<Entity<T>>> {
    const { fields: indexes, compounds } = this.declaredOf(type);
    const wanted = normalizeQuery(type, query, indexes);
    await this.serialize(() => this.catchUp());
    const queued = new Map<string, OutboxRow[]>();
    for (const row of this.outbox.forType(type)) {
      const list = queued.get(row.id) ?? [];
      list.push(row);
      queued.set(row.id, list);
    }
    const { storage } = this.options;
    const end = wanted.limit === undefined ? undefined : (wanted.offset ?? 0) + wanted.limit;
    const rows = await storage.queryEntities(type, {
      where: wanted.where,
      ...(wanted.orderBy ? { orderBy: wanted.orderBy } : {}),
      ...(end === undefined ? {} : { limit: end + queued.size }),
      ...(compounds.length > 0 ? { compounds } : {}),
    });
    const found: Array<{ id: string; fields: EntityRow['fields']; data: JsonObject }> = [];
    for (const row of rows) {
      if (queued.has(row.id) || row.body === null) continue;
      found.push({ id: row.id, fields: row.fields, data: JSON.parse(row.body) as JsonObject });
    }
    for (const [id, list] of queued) {
      const data = rebase(await storage.getEntity(type, id), list);
      if (data === undefined) continue;
      const candidate = { type, id, version: 0, deleted: false, body: null };
      const fields = indexFields(data, indexes);
      if (rowQualifies({ ...candidate, fields }, wanted)) found.push({ id, fields, data });
    }
    found.sort((a, b) => compareForQuery(wanted, a, b));
    return page(found, wanted).map(({ id, data }) => ({ ...data, id }) as Entity<T>);
  }

  private async find<T>(type: string, filter?: Filter<T>): Promise<Array<Entity<T>>> {
    await this.serialize(() => this.catchUp());
    const confirmed = new Map<string, EntityRow>();
    for (const row of await this.options.storage.listEntities(type)) confirmed.set(row.id, row);
    const queued = new Map<string, OutboxRow[]>();
    for (const row of this.outbox.forType(type)) {
      const list = queued.get(row.id) ?? [];
      list.push(row);
      queued.set(row.id, list);
    }
    const ids = [...new Set([...confirmed.keys(), ...queued.keys()])].sort();
    const found: Array<Entity<T>> = [];
    for (const id of ids) {
      const data = rebase(confirmed.get(id), queued.get(id) ?? []);
      if (data === undefined) continue;
      const item = { ...data, id } as Entity<T>;
      if (matches(item, filter)) found.push(item);
    }
    return found;
  }

  // ---- failed mutations and conflicts -------------------------------------------------------

  /** Puts failed mutations (all, or the given ones) back in the queue with fresh attempts. */
  async retryFailed(mutationIds?: readonly string[]): Promise<number> {
    const wanted = mutationIds ? new Set(mutationIds) : undefined;
    const retried = await this.transact(async () => {
      const writes: StorageWrite[] = this.outbox
        .failed()
        .filter((row) => !wanted || wanted.has(row.mutationId))
        .map((row) => ({
          kind: 'putOutbox',
          row: { ...row, state: OutboxState.PENDING, attempts: 0, error: null },
        }));
      return { writes, value: writes.length };
    });
    this.options.events.counts();
    return retried;
  }

  /** Drops a failed mutation for good: the local view falls back to what the server holds. */
  async discard(mutationId: string): Promise<void> {
    const { type, id } = await this.transact(async () => {
      const row = this.outbox.byMutationId(mutationId);
      if (!row) throw new SyncError('NOT_FOUND', `No queued mutation ${mutationId}`);
      if (row.state !== OutboxState.FAILED) {
        throw new SyncError(
          'NOT_FAILED',
          `Mutation ${mutationId} has not failed; it is still queued`,
        );
      }
      return { writes: [{ kind: 'removeOutbox', seq: row.seq }], value: row };
    });
    await this.queued(type, id);
  }

  async acknowledgeConflict(conflictId: string): Promise<void> {
    await this.transact(async () => ({
      writes: this.conflictRows.has(conflictId) ? [{ kind: 'removeConflict', id: conflictId }] : [],
      value: undefined,
    }));
    this.options.events.counts();
  }

  // ---- one sync run ---------------------------------------------------------------------------

  private toChange(row: OutboxRow): Change {
    const strategy =
      this.options.collections?.[row.type]?.conflictStrategy ?? this.options.conflictStrategy;
    return {
      mutationId: row.mutationId,
      entityType: row.type,
      entityId: row.id,
      operation: row.operation,
      ...(row.body === null ? {} : { payload: JSON.parse(row.body) as JsonObject }),
      clientVersion: row.baseVersion,
      timestamp: row.timestamp,
      ...(strategy ? { conflictStrategy: strategy } : {}),
      // The outbox sequence: the server's per-device mark refuses a replay even once it has
      // pruned the mutation's record.
      seq: row.seq,
    };
  }

  private get entityTypes(): { entityTypes?: string[] } {
    const known = this.options.collections;
    return known ? { entityTypes: Object.keys(known).sort() } : {};
  }

  /**
   * One sync run on this storage: waits its turn behind any other instance's run, then pushes the
   * outbox in batches, oldest first, and pulls until the feed has no more. A run that another
   * instance began after this one was asked for, and that succeeded, has done this one's work:
   * this one then returns at once. Throws a TransportError when a request fails as a whole; what
   * was acknowledged before stays so.
   */
  async sync(onProgress?: (progress: SyncProgress) => void): Promise<SyncSummary> {
    const { storage } = this.options;
    const asked = count(await storage.getMeta(RUNS_STARTED));
    return storage.exclusive(SYNC_SECTION, async () => {
      const started = this.options.now().getTime();
      await this.serialize(() => this.catchUp());
      const generation = count(await storage.getMeta(RUNS_STARTED)) + 1;
      if (count(await storage.getMeta(RUNS_SUCCEEDED)) > asked) {
        return { pushed: 0, pulled: 0, conflicts: 0, failed: 0, durationMs: 0 };
      }
      await this.serialize(() =>
        this.commit([{ kind: 'setMeta', key: RUNS_STARTED, value: String(generation) }]),
      );
      const summary = await this.run(onProgress);
      const finished = this.options.now();
      await this.serialize(() =>
        this.commit([
          { kind: 'setMeta', key: LAST_SYNC_AT, value: finished.toISOString() },
          { kind: 'setMeta', key: RUNS_SUCCEEDED, value: String(generation) },
        ]),
      );
      return { ...summary, durationMs: finished.getTime() - started };
    });
  }

  /**
   * The next batch: the oldest pending changes within the change and byte limits (the first one
   * always goes, alone if need be, unless it is larger than any push the server accepts).
   */
  private nextBatch(
    pending: readonly OutboxRow[],
    envelope: Omit<PushRequest, 'changes'>,
    isolate: boolean,
  ): { batch: OutboxRow[]; changes: Change[]; size: BatchLimits } | { tooLarge: OutboxRow } {
    const limits = this.sizing.limits;
    const most = isolate ? 1 : Math.min(this.options.batchSize, limits.changes);
    // `{...,"changes":[]}` plus each change and the commas between them: the body's exact size.
    let bytes = utf8Length(JSON.stringify({ ...envelope, changes: [] }));
    const batch: OutboxRow[] = [];
    const changes: Change[] = [];
    for (const row of pending) {
      if (batch.length >= most) break;
      const change = this.toChange(row);
      const size = utf8Length(JSON.stringify(change)) + (batch.length > 0 ? 1 : 0);
      if (batch.length === 0 && bytes + size > this.options.maxBatchBytes) return { tooLarge: row };
      if (batch.length > 0 && bytes + size > limits.bytes) break;
      batch.push(row);
      changes.push(change);
      bytes += size;
    }
    return { batch, changes, size: { changes: batch.length, bytes } };
  }

  private async run(
    onProgress?: (progress: SyncProgress) => void,
  ): Promise<Omit<SyncSummary, 'durationMs'>> {
    const { storage, transport, deviceId } = this.options;
    const summary = { pushed: 0, pulled: 0, conflicts: 0, failed: 0 };
    let token = (await storage.getMeta(SYNC_TOKEN)) ?? undefined;
    let reset = false;
    let hasMore = true;
    if (transport.snapshot && token === undefined) {
      // A fresh device (or one whose first sync stopped half-way): the snapshot first, so that
      // pushes and pulls after it start from the feed position it ends at.
      token = await this.firstSyncRun(transport.snapshot.bind(transport), summary, onProgress);
    }
    // After a batch was refused as a whole (400), changes go one at a time until the one that
    // causes it is found and moved aside.
    let isolate = false;

    for (;;) {
      const pending = this.outbox.pending();
      if (pending.length === 0) break;
      // Own changes are confirmed from results (applyPush): the answer need not echo them.
      const envelope = {
        deviceId,
        omitOwnChanges: true,
        ...(token ? { syncToken: token } : {}),
        ...this.entityTypes,
      };
      const next = this.nextBatch(pending, envelope, isolate);
      if ('tooLarge' in next) {
        await this.markFailed(next.tooLarge, {
          code: 'PAYLOAD_TOO_LARGE',
          message: `This change alone is larger than the ${this.options.maxBatchBytes} bytes a push may carry`,
        });
        summary.failed++;
        continue;
      }
      const { batch, changes, size } = next;
      const head = batch[0]!;
      let response: PushResponse;
      try {
        response = await transport.push({ ...envelope, changes });
      } catch (error) {
        if (!isTransportError(error)) throw error;
        if (error.kind === TransportFailure.REFUSED) {
          if (error.details.code === 'INVALID_SYNC_TOKEN' && token !== undefined) {
            token = undefined;
            reset = true;
            continue;
          }
          if (batch.length > 1) {
            // Too large for this server: half as much next time. Refused otherwise: find the
            // change that causes it, one at a time.
            if (error.details.status === 413) this.sizing.tooLarge(size);
            else isolate = true;
            continue;
          }
          // A single change refused: that is the server's verdict on the change itself.
          await this.markFailed(head, {
            code: error.details.code ?? 'REFUSED',
            message: error.message,
          });
          summary.failed++;
          isolate = false;
          continue;
        }
        // 5xx, network, timeouts and 429 are nobody's verdict on the changes: they stay pending,
        // whatever their number, and the scheduler backs off.
        if (isTransient(error)) this.sizing.failed(size);
        throw error;
      }
      const outcome = await this.applyPush(batch, response, reset);
      if (outcome.settled === 0) {
        // An answer without a result for any change sent is no verdict either.
        this.sizing.failed(size);
        throw new TransportError(TransportFailure.SERVER, 'The server answered no result');
      }
      this.sizing.succeeded();
      reset = false;
      token = response.syncToken;
      hasMore = response.hasMore;
      summary.pushed += outcome.acknowledged;
      summary.failed += outcome.failed;
      summary.conflicts += outcome.conflicts;
      summary.pulled += response.changes.length;
      onProgress?.({ phase: 'push', pushed: summary.pushed, pulled: summary.pulled });
    }

    let total: number | undefined;
    while (hasMore) {
      let page;
      try {
        page = await transport.delta({
          deviceId,
          ...(token ? { syncToken: token } : {}),
          ...this.entityTypes,
          pageSize: this.options.pullPageSize,
        });
      } catch (error) {
        if (
          isTransportError(error) &&
          error.kind === TransportFailure.REFUSED &&
          error.details.code === 'INVALID_SYNC_TOKEN' &&
          token !== undefined
        ) {
          token = undefined;
          reset = true;
          continue;
        }
        throw error;
      }
      await this.applyPull(page.changes, page.syncToken, reset || page.reset === true);
      reset = false;
      token = page.syncToken;
      hasMore = page.hasMore;
      summary.pulled += page.changes.length;
      if (hasMore && total === undefined && transport.estimateRemaining) {
        const remaining = await transport.estimateRemaining(token).catch(() => undefined);
        total = remaining === undefined ? undefined : summary.pulled + remaining;
      }
      onProgress?.({
        phase: 'pull',
        pushed: summary.pushed,
        pulled: summary.pulled,
        ...(total !== undefined ? { total: Math.max(total, summary.pulled) } : {}),
      });
    }
    return summary;
  }

  /**
   * The snapshot, page by page from where it stopped. Each page commits with the cursor after it;
   * the last one with the sync token the delta feed continues from. A cursor the server no
   * longer takes starts the snapshot over, on an emptied confirmed store.
   */
  private async firstSyncRun(
    snapshot: NonNullable<Transport['snapshot']>,
    summary: { pulled: number; pushed: number },
    onProgress?: (progress: SyncProgress) => void,
  ): Promise<string> {
    const { storage, deviceId } = this.options;
    let cursor = (await storage.getMeta(SNAPSHOT_CURSOR)) ?? undefined;
    let pulled = cursor === undefined ? 0 : (this.firstSyncValue?.pulled ?? 0);
    /**
     * A page asked for, and the cursor after it: told early by the transport where it can (the
     * first bytes of the answer), else the answer's own.
     */
    const request = (from: string | undefined) => {
      let early: ((cursor: string | null) => void) | undefined;
      const cursorAfter = new Promise<string | null>((resolve) => (early = resolve));
      const answer = snapshot(
        {
          deviceId,
          ...this.entityTypes,
          pageSize: this.options.snapshotPageSize ?? limitsDefaults.defaultSnapshotPageSize,
          ...(from !== undefined ? { cursor: from } : {}),
        },
        (cursor) => early?.(cursor),
      );
      answer.then(
        (page) => early?.(page.cursor),
        () => early?.(null),
      );
      // Awaited below; a failure while the page before is still being stored is not unhandled.
      answer.catch(() => undefined);
      return { from, answer, cursorAfter };
    };
    // The next page is asked for as soon as this one's cursor is known, so the server reads it
    // while the device takes this one in and stores it. Never more than one page ahead.
    let current = request(cursor);
    for (;;) {
      const following = current.cursorAfter.then((after) =>
        after === null ? undefined : request(after),
      );
      let page;
      try {
        page = await current.answer;
      } catch (error) {
        if (
          isTransportError(error) &&
          error.kind === TransportFailure.REFUSED &&
          error.details.code === 'INVALID_SNAPSHOT_CURSOR' &&
          cursor !== undefined
        ) {
          await following;
          cursor = undefined;
          pulled = 0;
          current = request(undefined);
          continue;
        }
        throw error;
      }
      const done = page.cursor === null || !page.hasMore;
      let next: ReturnType<typeof request> | undefined;
      if (!done) {
        next = await following;
        // An early cursor is a hint: the answer's own decides which page comes next.
        if (next?.from !== page.cursor) next = request(page.cursor ?? undefined);
      }
      pulled += page.changes.length;
      const progress: FirstSyncProgress = done
        ? { pulled, total: pulled }
        : { pulled, total: Math.max(page.total, pulled) };
      await this.applySnapshotPage(page, cursor === undefined, progress);
      summary.pulled += page.changes.length;
      onProgress?.({ phase: 'snapshot', pushed: summary.pushed, ...progress });
      if (!next) return page.syncToken;
      cursor = page.cursor ?? undefined;
      current = next;
    }
  }

  /**
   * One snapshot page as one write. Its rows are put as they come: the snapshot sends each entity
   * once, in key order, and no push runs before it ends, so nothing newer can be held locally.
   */
  private applySnapshotPage(
    page: { changes: ServerChange[]; cursor: string | null; hasMore: boolean; syncToken: string },
    first: boolean,
    progress: FirstSyncProgress,
  ): Promise<void> {
    return this.serialize(async () => {
      const stage = new StagedEntities(this.options.storage);
      // Begun afresh: whatever an earlier, broken snapshot or an old feed left goes first.
      if (first) stage.clear();
      for (const change of page.changes) stage.put(rowOf(change));
      const done = !page.hasMore || page.cursor === null;
      await this.commit([
        ...stage.writes(),
        { kind: 'setMeta', key: SNAPSHOT_CURSOR, value: done ? null : page.cursor },
        {
          kind: 'setMeta',
          key: SNAPSHOT_PROGRESS,
          value: done ? null : JSON.stringify(progress),
        },
        ...(done ? [{ kind: 'setMeta', key: SYNC_TOKEN, value: page.syncToken } as const] : []),
      ]);
      // The types only: a page touches thousands of entities, and reading each one's view back
      // cost more than storing it. Live queries of these types run again, as they would anyway.
      if (stage.touchedAll) this.notify('all');
      else if (stage.touchedTypes.size > 0) this.notify(stage.touchedTypes);
      this.options.events.counts();
    });
  }

  private applyPull(changes: ServerChange[], syncToken: string, reset: boolean): Promise<void> {
    return this.serialize(async () => {
      const stage = new StagedEntities(this.options.storage);
      if (reset) stage.clear();
      await stagePulledChanges(stage, changes);
      await this.commit([
        ...stage.writes(),
        { kind: 'setMeta', key: SYNC_TOKEN, value: syncToken },
      ]);
      await this.notifyStage(stage);
    });
  }

  /** After a pull or a push response: the types and entities it touched, with their views. */
  private async notifyStage(
    stage: StagedEntities,
    also: readonly { type: string; id: string }[] = [],
  ): Promise<void> {
    if (stage.touchedAll) return this.notify('all');
    const types = new Set([...stage.touchedTypes, ...also.map((key) => key.type)]);
    if (types.size === 0) return;
    const entities = await this.views([...stage.touchedEntities(), ...also]).catch(() => undefined);
    this.notify(types, entities);
  }

  /**
   * One push response as one atomic write: the pulled page, the acknowledged rows removed (with
   * their confirmed state where the device can tell it before the feed brings it), refused rows
   * moved aside, conflicts kept, and the new sync token.
   */
  private applyPush(
    batch: readonly OutboxRow[],
    response: PushResponse,
    reset: boolean,
  ): Promise<{ acknowledged: number; failed: number; conflicts: number; settled: number }> {
    return this.serialize(async () => {
      const stage = new StagedEntities(this.options.storage);
      if (reset || response.reset) stage.clear();
      await stagePulledChanges(stage, response.changes);
      const writes: StorageWrite[] = [];
      let acknowledged = 0;
      let failed = 0;
      let settled = 0;
      const bySeq = new Map(batch.map((row) => [row.mutationId, row]));
      for (const result of response.results) {
        const row = bySeq.get(result.mutationId);
        if (!row || !this.outbox.get(row.seq)) continue;
        settled++;
        const outcome = outcomeOf(result);
        if (outcome === 'REJECTED') {
          const error = result.error ?? { code: 'REJECTED', message: 'The server refused it' };
          const requeued = this.keepQueued(row, error, response.serverTime);
          if (requeued) {
            writes.push({ kind: 'putOutbox', row: requeued });
            continue;
          }
          writes.push({ kind: 'putOutbox', row: this.failedRow(row, error) });
          failed++;
          continue;
        }
        writes.push({ kind: 'removeOutbox', seq: row.seq });
        acknowledged++;
        if (outcome === 'APPLIED' && result.version !== undefined) {
          await this.stageAcknowledged(stage, row, result.version);
        }
      }
      const conflicts: ConflictRow[] = response.conflicts.map((conflict) => ({
        id: conflict.id,
        body: JSON.stringify(conflict),
      }));
      for (const row of conflicts) writes.push({ kind: 'putConflict', row });
      writes.push({ kind: 'setMeta', key: SYNC_TOKEN, value: response.syncToken });
      const offset = this.measureClock(response.serverTime);
      if (offset !== this.clockOffsetMs) {
        writes.push({ kind: 'setMeta', key: CLOCK_OFFSET, value: String(offset) });
      }
      await this.commit([...stage.writes(), ...writes]);
      this.clockOffsetMs = offset;

      await this.notifyStage(stage, batch);
      this.options.events.counts();
      for (const conflict of response.conflicts) this.options.events.conflict(toView(conflict));
      return { acknowledged, failed, conflicts: response.conflicts.length, settled };
    });
  }

  /**
   * An APPLIED change's resulting state is known without waiting for the feed when the device
   * holds exactly the version it was made on; otherwise the pull brings it.
   */
  private async stageAcknowledged(
    stage: StagedEntities,
    row: OutboxRow,
    version: number,
  ): Promise<void> {
    const held = await stage.get(row.type, row.id);
    const heldVersion = held?.version ?? 0;
    if (heldVersion !== version - 1 || (row.operation !== 'CREATE' && held?.deleted !== false)) {
      return;
    }
    const data = replay(confirmedData(held), row);
    stage.put({
      type: row.type,
      id: row.id,
      version,
      deleted: data === undefined,
      body: data === undefined ? null : JSON.stringify(data),
    });
  }

  /** The server clock's lead over the device's, when it is large enough to correct. */
  private measureClock(serverTime: string): number {
    const measured = Date.parse(serverTime) - this.options.now().getTime();
    if (!Number.isFinite(measured)) return this.clockOffsetMs;
    return Math.abs(measured) >= CLOCK_CORRECTION_THRESHOLD_MS ? measured : 0;
  }

  /**
   * A refused row that stays queued for the next push (within the attempt limit) instead of
   * waiting for a person: one stamped by a device clock that runs fast (FUTURE_TIMESTAMP) is
   * stamped again on the server's clock; one the server failed and rolled back (CHANGE_FAILED)
   * goes again as it was.
   */
  private keepQueued(row: OutboxRow, error: ErrorBody, serverTime: string): OutboxRow | undefined {
    if (row.attempts + 1 >= this.options.maxAttempts) return undefined;
    if (error.code === 'CHANGE_FAILED') return { ...row, attempts: row.attempts + 1 };
    if (error.code !== 'FUTURE_TIMESTAMP') return undefined;
    const lead = Date.parse(serverTime) - this.options.now().getTime();
    const server = Date.parse(serverTime);
    const corrected = Math.min(Date.parse(row.timestamp) + lead, server);
    if (!Number.isFinite(corrected)) return undefined;
    return { ...row, timestamp: new Date(corrected).toISOString(), attempts: row.attempts + 1 };
  }

  private failedRow(row: OutboxRow, error: ErrorBody, attempts = row.attempts + 1): OutboxRow {
    return {
      ...row,
      attempts,
      state: OutboxState.FAILED,
      error: JSON.stringify(error),
    };
  }

  private markFailed(row: OutboxRow, error: ErrorBody): Promise<void> {
    return this.serialize(async () => {
      const current = this.outbox.get(row.seq);
      if (!current) return;
      await this.commit([{ kind: 'putOutbox', row: this.failedRow(current, error) }]);
      this.notify(new Set([row.type]), await this.views([row]).catch(() => undefined));
      this.options.events.counts();
    });
  }
}

function assertObject(value: unknown): asserts value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SyncError('INVALID_DATA', 'Entity data must be a JSON object');
  }
}
