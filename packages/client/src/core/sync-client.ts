// The sync client's core: local collections over a LocalStore, the outbox, and one sync run
// (push the outbox oldest first, then pull the feed). When to run and what to do after a failed
// run is the scheduler's job; how requests travel is the transport's. Imports only the protocol.
import type {
  Change,
  ChangeResult,
  Conflict,
  ConflictStrategy,
  ErrorBody,
  PushResponse,
  ServerChange,
} from '@syncline/protocol';
import { StagedEntities, stagePulledChanges } from './apply-pull.js';
import type { JsonObject } from '@syncline/protocol';
import { Outbox } from './outbox.js';
import {
  OutboxState,
  type ConflictRow,
  type EntityRow,
  type LocalStore,
  type OutboxRow,
  type StorageWrite,
} from './ports.js';
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
const CLOCK_OFFSET = 'sync.clockOffsetMs';
/**
 * A device clock this far from the server's is corrected when stamping changes. Smaller skews are
 * left alone: the estimate includes network latency, and the server accepts 5 minutes ahead.
 */
const CLOCK_CORRECTION_THRESHOLD_MS = 60_000;

export interface CollectionOptions {
  /** Sent with every change of this type; else the client's `conflictStrategy`, else the server's. */
  conflictStrategy?: ConflictStrategy;
}

export type Entity<T> = T & { id: string };
/** Field equality (`{ status: 'open' }`) or a predicate. */
export type Filter<T> = Partial<T> | ((item: Entity<T>) => boolean);

export interface LocalCollection<T extends object = JsonObject> {
  /** Queues a CREATE and resolves to the new id (UUIDv7 unless `id` is given). */
  create(data: T, options?: { id?: string }): Promise<string>;
  /** Queues an UPDATE: `patch` is a JSON Merge Patch (null removes a field). */
  update(id: string, patch: Partial<T> | Record<string, unknown>): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<Entity<T> | undefined>;
  /** Every live entity of this type, in id order. */
  find(filter?: Filter<T>): Promise<Array<Entity<T>>>;
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
  phase: 'push' | 'pull';
  pushed: number;
  pulled: number;
  /** About how many changes the whole pull brings, when the transport can tell. */
  total?: number;
}

export interface SyncCoreEvents {
  /** Local or pulled data of these types changed ('all' after a reset). */
  change(types: ReadonlySet<string> | 'all'): void;
  conflict(conflict: ConflictView): void;
  /** The outbox or the conflict list changed (the status counts). */
  counts(): void;
}

export interface SyncCoreOptions {
  storage: LocalStore;
  transport: Transport;
  deviceId: string;
  batchSize: number;
  pullPageSize: number;
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

export class SyncCore {
  private writeChain: Promise<unknown> = Promise.resolve();
  private readonly conflictRows = new Map<string, ConflictView>();
  /** Server clock minus device clock, as last measured (0 while within the threshold). */
  private clockOffsetMs = 0;

  private constructor(
    private readonly options: SyncCoreOptions,
    private readonly outbox: Outbox,
  ) {}

  static async open(options: SyncCoreOptions): Promise<SyncCore> {
    const core = new SyncCore(options, await Outbox.load(options.storage));
    const offset = Number((await options.storage.getMeta(CLOCK_OFFSET)) ?? 0);
    core.clockOffsetMs = Number.isFinite(offset) ? offset : 0;
    for (const row of await options.storage.listConflicts()) {
      core.conflictRows.set(row.id, toView(JSON.parse(row.body) as Conflict));
    }
    return core;
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

  conflicts(): ConflictView[] {
    return [...this.conflictRows.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  failed(): FailedMutation[] {
    return this.outbox.failed().map((row) => ({
      mutationId: row.mutationId,
      type: row.type,
      id: row.id,
      operation: row.operation,
      attempts: row.attempts,
      error: row.error === null ? null : (JSON.parse(row.error) as ErrorBody),
    }));
  }

  async lastSyncAt(): Promise<string | null> {
    return (await this.options.storage.getMeta(LAST_SYNC_AT)) ?? null;
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
      find: (filter) => this.find<T>(type, filter),
    };
  }

  private notify(types: ReadonlySet<string> | 'all'): void {
    this.options.events.change(types);
  }

  /** Runs `fn` after every earlier write: one writer at a time keeps seq and rebase consistent. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn, fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private async commit(writes: StorageWrite[]): Promise<void> {
    await this.options.storage.write(writes);
    this.outbox.observe(writes);
    for (const write of writes) {
      if (write.kind === 'putConflict') {
        this.conflictRows.set(write.row.id, toView(JSON.parse(write.row.body) as Conflict));
      } else if (write.kind === 'removeConflict') this.conflictRows.delete(write.id);
    }
  }

  private async current(type: string, id: string) {
    const confirmed = await this.options.storage.getEntity(type, id);
    const queued = this.outbox.forEntity(type, id);
    return { confirmed, queued, data: rebase(confirmed, queued) };
  }

  private async enqueue(
    type: string,
    id: string,
    operation: OutboxRow['operation'],
    baseVersion: number,
    body: JsonObject | null,
  ): Promise<void> {
    const { writes } = this.outbox.add({
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
    await this.commit(writes);
    this.notify(new Set([type]));
    this.options.events.counts();
  }

  private create(type: string, data: object, givenId?: string): Promise<string> {
    return this.serialize(async () => {
      assertObject(data);
      const id = givenId ?? this.options.newId();
      const { confirmed, queued, data: existing } = await this.current(type, id);
      if (existing !== undefined) throw new SyncError('ALREADY_EXISTS', `${type} ${id} exists`);
      // The server keeps a tombstone and answers a CREATE on it with a DELETED conflict.
      if (confirmed || queued.length > 0) {
        throw new SyncError('DELETED', `${type} ${id} was deleted; its id cannot be used again`);
      }
      await this.enqueue(type, id, 'CREATE', 1, withoutId(data));
      return id;
    });
  }

  private update(type: string, id: string, patch: JsonObject): Promise<void> {
    return this.serialize(async () => {
      assertObject(patch);
      const { confirmed, queued, data } = await this.current(type, id);
      if (data === undefined) throw new SyncError('NOT_FOUND', `${type} ${id} does not exist`);
      await this.enqueue(type, id, 'UPDATE', expectedVersion(confirmed, queued), withoutId(patch));
    });
  }

  private remove(type: string, id: string): Promise<void> {
    return this.serialize(async () => {
      const { confirmed, queued, data } = await this.current(type, id);
      if (data === undefined) throw new SyncError('NOT_FOUND', `${type} ${id} does not exist`);
      await this.enqueue(type, id, 'DELETE', expectedVersion(confirmed, queued), null);
    });
  }

  private async get(type: string, id: string): Promise<Entity<JsonObject> | undefined> {
    const { data } = await this.current(type, id);
    return data === undefined ? undefined : { ...data, id };
  }

  private async find<T>(type: string, filter?: Filter<T>): Promise<Array<Entity<T>>> {
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
  retryFailed(mutationIds?: readonly string[]): Promise<number> {
    return this.serialize(async () => {
      const wanted = mutationIds ? new Set(mutationIds) : undefined;
      const writes: StorageWrite[] = this.outbox
        .failed()
        .filter((row) => !wanted || wanted.has(row.mutationId))
        .map((row) => ({
          kind: 'putOutbox',
          row: { ...row, state: OutboxState.PENDING, attempts: 0, error: null },
        }));
      if (writes.length > 0) await this.commit(writes);
      this.options.events.counts();
      return writes.length;
    });
  }

  /** Drops a failed mutation for good: the local view falls back to what the server holds. */
  discard(mutationId: string): Promise<void> {
    return this.serialize(async () => {
      const row = this.outbox.byMutationId(mutationId);
      if (!row) throw new SyncError('NOT_FOUND', `No queued mutation ${mutationId}`);
      if (row.state !== OutboxState.FAILED) {
        throw new SyncError(
          'NOT_FAILED',
          `Mutation ${mutationId} has not failed; it is still queued`,
        );
      }
      await this.commit([{ kind: 'removeOutbox', seq: row.seq }]);
      this.notify(new Set([row.type]));
      this.options.events.counts();
    });
  }

  acknowledgeConflict(conflictId: string): Promise<void> {
    return this.serialize(async () => {
      if (!this.conflictRows.has(conflictId)) return;
      await this.commit([{ kind: 'removeConflict', id: conflictId }]);
      this.options.events.counts();
    });
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
    };
  }

  private get entityTypes(): { entityTypes?: string[] } {
    const known = this.options.collections;
    return known ? { entityTypes: Object.keys(known).sort() } : {};
  }

  /**
   * Pushes the outbox in batches, oldest first, then pulls until the feed has no more. Throws a
   * TransportError when a request fails as a whole; what was acknowledged before stays so.
   */
  async sync(onProgress?: (progress: SyncProgress) => void): Promise<SyncSummary> {
    const { storage, transport, deviceId, batchSize } = this.options;
    const started = this.options.now().getTime();
    const summary = { pushed: 0, pulled: 0, conflicts: 0, failed: 0 };
    let token = (await storage.getMeta(SYNC_TOKEN)) ?? undefined;
    let reset = false;
    let hasMore = true;
    // After a batch was refused as a whole, changes go one at a time until the one that causes
    // it is found and moved aside; after a batch failed twice on the server, likewise.
    let isolate = false;

    for (;;) {
      const pending = this.outbox.pending();
      const head = pending[0];
      if (!head) break;
      const batch = pending.slice(0, isolate || head.attempts >= 2 ? 1 : batchSize);
      let response: PushResponse;
      try {
        response = await transport.push({
          deviceId,
          ...(token ? { syncToken: token } : {}),
          ...this.entityTypes,
          changes: batch.map((row) => this.toChange(row)),
        });
      } catch (error) {
        if (!isTransportError(error)) throw error;
        if (error.kind === TransportFailure.REFUSED) {
          if (error.details.code === 'INVALID_SYNC_TOKEN' && token !== undefined) {
            token = undefined;
            reset = true;
            continue;
          }
          if (batch.length > 1) {
            isolate = true;
            continue;
          }
          await this.markFailed(head, {
            code: error.details.code ?? 'REFUSED',
            message: error.message,
          });
          summary.failed++;
          isolate = false;
          continue;
        }
        if (error.kind === TransportFailure.SERVER)
          summary.failed += await this.countAttempt(batch);
        throw error;
      }
      const outcome = await this.applyPush(batch, response, reset);
      if (outcome.settled === 0) {
        // An answer without a result for any change sent: count it as a failed attempt rather
        // than send the same batch again and again.
        summary.failed += await this.countAttempt(batch);
        throw new TransportError(TransportFailure.SERVER, 'The server answered no result');
      }
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

    const finished = this.options.now();
    await this.serialize(() =>
      storage.write([{ kind: 'setMeta', key: LAST_SYNC_AT, value: finished.toISOString() }]),
    );
    return { ...summary, durationMs: finished.getTime() - started };
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
      this.notifyStage(stage);
    });
  }

  private notifyStage(stage: StagedEntities): void {
    if (stage.touchedAll) this.notify('all');
    else if (stage.touchedTypes.size > 0) this.notify(stage.touchedTypes);
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
          const restamped = this.restamp(row, error, response.serverTime);
          if (restamped) {
            writes.push({ kind: 'putOutbox', row: restamped });
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

      this.notifyStage(stage);
      const types = new Set(batch.map((row) => row.type));
      this.notify(types);
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
   * A change refused for a timestamp ahead of the server's clock was stamped by a device clock
   * that runs fast: it is stamped again on the server's clock and stays queued (within the
   * attempt limit), instead of waiting for a person.
   */
  private restamp(row: OutboxRow, error: ErrorBody, serverTime: string): OutboxRow | undefined {
    if (error.code !== 'FUTURE_TIMESTAMP' || row.attempts + 1 >= this.options.maxAttempts) {
      return undefined;
    }
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
      this.notify(new Set([row.type]));
      this.options.events.counts();
    });
  }

  /** A batch that failed on the server: one attempt more for each; the last moves it aside. */
  private countAttempt(batch: readonly OutboxRow[]): Promise<number> {
    return this.serialize(async () => {
      let failed = 0;
      const writes: StorageWrite[] = [];
      for (const row of batch) {
        const current = this.outbox.get(row.seq);
        if (!current) continue;
        const attempts = current.attempts + 1;
        if (attempts >= this.options.maxAttempts) {
          failed++;
          writes.push({
            kind: 'putOutbox',
            row: this.failedRow(
              current,
              {
                code: 'TOO_MANY_ATTEMPTS',
                message: `The server failed this change ${attempts} times`,
              },
              attempts,
            ),
          });
        } else writes.push({ kind: 'putOutbox', row: { ...current, attempts } });
      }
      if (writes.length > 0) await this.commit(writes);
      if (failed > 0) this.options.events.counts();
      return failed;
    });
  }
}

function assertObject(value: unknown): asserts value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SyncError('INVALID_DATA', 'Entity data must be a JSON object');
  }
}
