// The sync engine: the canonical protocol's operations over the storage port. createSyncEngine
// builds the context the commands share (engine/commands/, each `(ctx, actor, request) → result`)
// and maps each SyncEngine method onto its command.
import { limitsDefaults } from '@syncline/protocol';
import type { Actor } from './actor.js';
import type { ApplyContext } from './apply-push.js';
import type { Collection } from './collections.js';
import { commitTransaction, type CommitEvents } from './commit-events.js';
import { entityHistory, invalidateCache, restore } from './commands/admin.js';
import { listConflicts, resolveConflict } from './commands/conflicts.js';
import { getMutation, listMutations, processMutation, pushDeferred } from './commands/deferred.js';
import { delta, snapshot } from './commands/delta.js';
import { claimDevice, listDevices, registerDevice, unregisterDevice } from './commands/devices.js';
import { push } from './commands/push.js';
import { queueStats } from './commands/queue.js';
import { status } from './commands/status.js';
import { upsert } from './commands/upsert.js';
import type { EngineContext } from './context.js';
import type { EngineLimits, SyncEngine, SyncEngineOptions } from './engine-api.js';
import { createKeyedQueue } from './keyed-queue.js';
import type { JsonObject, TenantTx } from './ports.js';
import { retryQueue } from './queue-retry.js';
import { createSyncNotes } from './sync-notes.js';

const systemClock = { now: () => new Date() };

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { collections, crypto, store } = options;
  const clock = options.clock ?? systemClock;
  const limits: EngineLimits = {
    maxPayloadBytes: limitsDefaults.maxPayloadBytes,
    maxFutureSkewMs: limitsDefaults.maxFutureSkewMs,
    defaultPageSize: limitsDefaults.defaultPageSize,
    maxPageSize: limitsDefaults.maxPageSize,
    invalidateCooldownMs: 60_000,
    ...options.limits,
  };

  const heavyWork = createKeyedQueue();
  const syncNotes = createSyncNotes(store, {
    ...(options.syncNotesFlushMs !== undefined ? { flushMs: options.syncNotesFlushMs } : {}),
    onError: (error) =>
      options.logger?.error({ err: error }, "writing pulls' device times and sync history failed"),
  });
  const checkers = new Map<string, (payload: unknown) => string[]>();
  // A CREATE's payload is checked at validation and again as the version it writes (the same
  // object): the answer is kept per payload object and collection, so it is computed once.
  const schemaAnswers = new WeakMap<object, { collection: string; problems: string[] }>();
  const checkSchema = (collection: Collection, payload: JsonObject): string[] => {
    if (!collection.schema) return [];
    const known = schemaAnswers.get(payload);
    if (known?.collection === collection.name) return known.problems;
    let check = checkers.get(collection.name);
    if (!check) {
      check = options.compileSchema(collection.schema);
      checkers.set(collection.name, check);
    }
    const problems = check(payload);
    schemaAnswers.set(payload, { collection: collection.name, problems });
    return problems;
  };

  const applyContext = (
    tx: TenantTx,
    events: CommitEvents,
    actor: Actor,
    deviceId: string,
    now: Date,
  ): ApplyContext => ({
    tx,
    events,
    actor,
    deviceId,
    crypto,
    now: now.toISOString(),
    defaultStrategy: collections.defaultStrategy,
    checkSchema,
  });

  const ctx: EngineContext = {
    store,
    transact: commitTransaction(store, collections, options.onCommitted),
    syncNotes,
    collections,
    crypto,
    clock,
    limits,
    defaultStrategy: collections.defaultStrategy,
    checkSchema,
    applyContext,
    validationContext: (deviceId, now) => ({
      deviceId,
      collections,
      crypto,
      now,
      maxFutureSkewMs: limits.maxFutureSkewMs,
      maxPayloadBytes: limits.maxPayloadBytes,
      checkSchema,
    }),
    logError: (obj, msg) =>
      options.logger ? options.logger.error(obj, msg) : console.error(msg, obj),
  };

  return {
    push: (actor, request, meta) => push(ctx, actor, request, meta),
    delta: (actor, request, meta) => delta(ctx, actor, request, meta),
    snapshot: (actor, request, meta) => snapshot(ctx, actor, request, meta),
    status: (actor) => status(ctx, actor),
    flushSyncNotes: (tenant) => syncNotes.flush(tenant),
    close: () => syncNotes.close(),

    listDevices: (actor) => listDevices(ctx, actor),
    registerDevice: (actor, request) => registerDevice(ctx, actor, request),
    claimDevice: (actor, deviceId) => claimDevice(ctx, actor, deviceId),
    unregisterDevice: (actor, deviceId) => unregisterDevice(ctx, actor, deviceId),

    listConflicts: (actor, filter) => listConflicts(ctx, actor, filter),
    resolveConflict: (actor, request) => resolveConflict(ctx, actor, request),

    // One retry at a time per tenant (in this process): callers hammering it share one stream of
    // chunks with every other tenant's requests, rather than one stream each.
    retryQueue: (actor, request) => heavyWork(actor.tenant, () => retryQueue(ctx, actor, request)),
    queueStats: (actor, filter) => queueStats(ctx, actor, filter),
    invalidateCache: (actor, request) => invalidateCache(ctx, actor, request),

    entityHistory: (actor, entityType, entityId) => entityHistory(ctx, actor, entityType, entityId),
    restore: (actor, entityType, entityId, version) =>
      restore(ctx, actor, entityType, entityId, version),

    upsert: (actor, request, meta) => upsert(ctx, actor, request, meta),
    pushDeferred: (actor, request) => pushDeferred(ctx, actor, request),
    processMutation: (actor, id) => processMutation(ctx, actor, id),
    getMutation: (actor, id) => getMutation(ctx, actor, id),
    listMutations: (actor, filter) => listMutations(ctx, actor, filter),
  };
}
