// The sync engine: the canonical protocol's operations over the storage port. Each push applies
// its batch and reads the feed in one tenant transaction, so the answer is sent only after COMMIT.
import {
  exceedsDepth,
  findForbiddenKey,
  limitsDefaults,
  type ChangeResult,
  type Conflict,
  type Device,
  type MutationStatus,
  type RegisterDeviceRequest,
  type ServerChange,
} from '@syncline/protocol';
import type { Actor } from './actor.js';
import {
  anotherUsersDevice,
  assertDeviceUsable,
  isAdmin,
  ownScope,
  ownsOrAdmin,
  requireAdmin,
  scopeFor,
} from './authorize.js';
import { applyBatch } from './apply-batch.js';
import { refuseWrite, writeVersion, type ApplyContext } from './apply-push.js';
import type { Collection } from './collections.js';
import { commitTransaction, type CommitEvents } from './commit-events.js';
import type {
  EngineLimits,
  PushPage,
  QueueStats,
  SyncEngine,
  SyncEngineOptions,
} from './engine-api.js';
import { SyncError } from './errors.js';
import { jsonByteLength } from './json.js';
import { createKeyedQueue } from './keyed-queue.js';
import { threeWayMerge } from './merge.js';
import type {
  ConflictRecord,
  DeviceRecord,
  FeedEntry,
  JsonObject,
  MutationRecord,
  SyncHistoryRecord,
  TenantReads,
  TenantTx,
} from './ports.js';
import type { EngineContext } from './context.js';
import { pullPage, toServerChange, type HeldRow } from './pull.js';
import { createSyncNotes } from './sync-notes.js';
import { snapshotPage } from './snapshot.js';
import { retryQueue } from './queue-retry.js';
import { getMutation, listMutations, processMutation, pushDeferred } from './commands/deferred.js';
import { upsert } from './commands/upsert.js';
import { encodeCursor, viewScope } from './sync-token.js';
import { validateChange, type IncomingChange } from './validate-change.js';

const systemClock = { now: () => new Date() };

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { collections, crypto, store } = options;
  const transact = commitTransaction(store, collections, options.onCommitted);
  const clock = options.clock ?? systemClock;
  const limits: EngineLimits = {
    maxPayloadBytes: limitsDefaults.maxPayloadBytes,
    maxFutureSkewMs: limitsDefaults.maxFutureSkewMs,
    defaultPageSize: limitsDefaults.defaultPageSize,
    maxPageSize: limitsDefaults.maxPageSize,
    invalidateCooldownMs: 60_000,
    ...options.limits,
  };

  const logError = (obj: object, msg: string) =>
    options.logger ? options.logger.error(obj, msg) : console.error(msg, obj);
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

  /**
   * Refuses another user's device (whether active or revoked: a device id belongs to the user who
   * first synced with it until an admin reassigns it; nothing about it is told) and a revoked one;
   * registers an unknown one to the caller; notes the sync time.
   */
  async function touchDevice(
    tx: TenantTx,
    actor: Actor,
    deviceId: string,
    now: string,
    deviceName?: string,
    schemaVersions?: string | null,
  ): Promise<void> {
    const device = await tx.getDevice(deviceId);
    assertDeviceUsable(actor, deviceId, device);
    await tx.upsertDevice({
      deviceId,
      userId: actor.userId,
      deviceName: deviceName ?? device?.deviceName ?? null,
      platform: device?.platform ?? null,
      appVersion: device?.appVersion ?? null,
      // A request that does not say keeps what the device said before.
      schemaVersions: schemaVersions ?? device?.schemaVersions ?? null,
      lastSyncAt: now,
      syncToken: device?.syncToken ?? null,
      isActive: true,
      createdAt: device?.createdAt ?? now,
    });
  }

  /**
   * Runs a pull's reads for a device without the tenant's write lock: the device checks are a
   * read of the committed device row, so a revoked device is refused on its very next request.
   * Only an unknown device, or one whose schema versions changed, is written first (touchDevice).
   */
  async function readAsDevice<T>(
    actor: Actor,
    deviceId: string,
    schemaVersions: string | null | undefined,
    fn: (reads: TenantReads) => Promise<T>,
  ): Promise<T> {
    const tenant = store.forTenant(actor.tenant);
    for (let attempt = 0; ; attempt++) {
      const outcome = await tenant.read(async (reads) => {
        const device = await reads.getDevice(deviceId);
        assertDeviceUsable(actor, deviceId, device);
        const known =
          device !== undefined &&
          (schemaVersions ?? device.schemaVersions) === device.schemaVersions;
        // A second pass reads on even if another request changed the device meanwhile.
        if (!known && attempt === 0) return { read: false } as const;
        return { read: true, value: await fn(reads) } as const;
      });
      if (outcome.read) return outcome.value;
      await tenant.transact((tx) =>
        touchDevice(tx, actor, deviceId, clock.now().toISOString(), undefined, schemaVersions),
      );
    }
  }

  /** A pull's device time, sync token and history row, written later (sync-notes.ts). */
  function notePull(
    actor: Actor,
    deviceId: string,
    now: string,
    syncToken: string | undefined,
    history: Pick<SyncHistoryRecord, 'route' | 'pulled' | 'durationMs' | 'networkType'>,
  ): void {
    syncNotes.note(actor.tenant, {
      userId: actor.userId,
      deviceId,
      lastSyncAt: now,
      ...(syncToken !== undefined ? { syncToken } : {}),
      history: {
        userId: actor.userId,
        deviceId,
        pushed: 0,
        applied: 0,
        duplicates: 0,
        conflicts: 0,
        rejected: 0,
        outcome: 'ok',
        createdAt: now,
        ...history,
      },
    });
  }

  const context: EngineContext = {
    store,
    transact,
    collections,
    crypto,
    clock,
    limits,
    defaultStrategy: collections.defaultStrategy,
    checkSchema,
    touchDevice,
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
    ownerOf,
    toIncoming,
    toWireConflict,
    logError,
  };

  async function findConflictFor(
    reads: TenantReads,
    actor: Actor,
    id: string,
  ): Promise<ConflictRecord> {
    const conflict = await reads.getConflict(id);
    if (!conflict || !ownsOrAdmin(actor, conflict.userId)) {
      throw new SyncError('NOT_FOUND', `Conflict ${id} not found`);
    }
    return conflict;
  }

  return {
    async push(actor, request, meta = {}) {
      const started = clock.now();
      const validation = context.validationContext(request.deviceId, started);
      const validated = request.changes.map((change) => validateChange(change, validation));

      return transact(actor.tenant, async (tx, events) => {
        const now = clock.now();
        await touchDevice(
          tx,
          actor,
          request.deviceId,
          now.toISOString(),
          request.deviceName,
          meta.schemaVersions,
        );
        const numbered = request.changes.some((change) => change.seq !== undefined);
        const mark = numbered ? await tx.getMutationMark(request.deviceId) : 0;
        const ctx = {
          ...applyContext(tx, events, actor, request.deviceId, now),
          mutationMark: mark,
        };
        const { results, conflicts, markSeq } = await applyBatch(ctx, validated, {
          seqs: request.changes.map((change) => change.seq),
          onChangeFailed: (err, change) =>
            logError(
              { err, deviceId: request.deviceId, mutationId: change.mutationId },
              'a change failed and was rolled back; the rest of its batch goes on',
            ),
        });
        if (markSeq > mark)
          await tx.raiseMutationMark(request.deviceId, markSeq, now.toISOString());

        const page = await pullPage(
          tx,
          actor,
          collections,
          crypto,
          { entityTypes: request.entityTypes, syncToken: request.syncToken },
          limits.defaultPageSize,
          request.omitOwnChanges === true ? appliedAsSent(request.deviceId, results) : undefined,
        );
        await noteSyncToken(tx, request.deviceId, page.token);
        const counts = countResults(results);
        await tx.insertSyncHistory({
          userId: actor.userId,
          deviceId: request.deviceId,
          route: meta.route ?? 'POST /api/sync',
          pushed: request.changes.length,
          ...counts,
          pulled: page.changes.length,
          durationMs: clock.now().getTime() - started.getTime(),
          outcome: counts.rejected > 0 ? 'partial' : 'ok',
          networkType: meta.networkType ?? null,
          createdAt: now.toISOString(),
        });
        const response: PushPage = {
          syncToken: page.token,
          changes: page.changes,
          hasMore: page.hasMore,
          results,
          conflicts: [...conflicts.values()].map(toWireConflict),
          serverTime: now.toISOString(),
        };
        if (page.reset) response.reset = true;
        return response;
      });
    },

    async delta(actor, request, meta = {}) {
      const started = clock.now();
      const pageSize = Math.min(request.pageSize ?? limits.defaultPageSize, limits.maxPageSize);
      const page = await readAsDevice(actor, request.deviceId, meta.schemaVersions, (reads) =>
        pullPage(reads, actor, collections, crypto, request, pageSize),
      );
      notePull(actor, request.deviceId, started.toISOString(), page.token, {
        route: meta.route ?? 'POST /api/sync/delta',
        pulled: page.changes.length,
        durationMs: clock.now().getTime() - started.getTime(),
        networkType: meta.networkType ?? null,
      });
      return {
        changes: page.changes,
        nextPageToken: page.hasMore ? page.token : null,
        hasMore: page.hasMore,
        syncToken: page.token,
        ...(page.reset ? { reset: true } : {}),
      };
    },

    async snapshot(actor, request, meta = {}) {
      const started = clock.now();
      const pageSize = Math.min(
        request.pageSize ?? limitsDefaults.defaultSnapshotPageSize,
        limitsDefaults.maxSnapshotPageSize,
      );
      const page = await readAsDevice(actor, request.deviceId, meta.schemaVersions, (reads) =>
        snapshotPage(reads, actor, collections, crypto, request, pageSize),
      );
      // The device's sync token moves only when the snapshot is complete.
      notePull(
        actor,
        request.deviceId,
        started.toISOString(),
        page.hasMore ? undefined : page.syncToken,
        {
          route: meta.route ?? 'POST /api/sync/snapshot',
          pulled: page.changes.length,
          durationMs: clock.now().getTime() - started.getTime(),
          networkType: meta.networkType ?? null,
        },
      );
      return page;
    },

    async status(actor) {
      await syncNotes.flush(actor.tenant);
      const tenant = store.forTenant(actor.tenant);
      const [state, devices, conflicts, queue] = await Promise.all([
        tenant.getTenantState(),
        tenant.listDevices(ownScope(actor)),
        tenant.listConflicts({ ...ownScope(actor), status: 'PENDING_REVIEW', limit: 1000 }),
        tenant.countMutations(ownScope(actor)),
      ]);
      const lastSyncAt = devices
        .map((d) => d.lastSyncAt)
        .filter((t): t is string => t !== null)
        .sort()
        .at(-1);
      return {
        userId: actor.userId,
        serverTime: clock.now().toISOString(),
        syncToken: encodeCursor({
          ...state,
          scope: viewScope(actor, collections, undefined, crypto),
        }),
        devices: devices.map(toWireDevice),
        pendingConflicts: conflicts.length,
        queue,
        lastSyncAt: lastSyncAt ?? null,
      };
    },

    async listDevices(actor) {
      await syncNotes.flush(actor.tenant);
      const devices = await store.forTenant(actor.tenant).listDevices(ownScope(actor));
      return devices.map(toWireDevice);
    },

    async registerDevice(actor, request) {
      const now = clock.now().toISOString();
      const owner = request.userId ?? actor.userId;
      if (!ownsOrAdmin(actor, owner)) {
        throw new SyncError('ADMIN_REQUIRED', 'Only admins may register a device to another user');
      }
      await syncNotes.flush(actor.tenant);
      return transact(actor.tenant, async (tx, events) => {
        const existing = await tx.getDevice(request.deviceId);
        if (existing && existing.userId !== owner) {
          // Revoked or not, a device stays with its user: only an admin hands it on.
          if (!isAdmin(actor)) throw anotherUsersDevice(request.deviceId);
          return reassignDevice(tx, events, actor, existing, owner, request, now);
        }
        const device: DeviceRecord = {
          deviceId: request.deviceId,
          userId: owner,
          deviceName: request.deviceName ?? existing?.deviceName ?? null,
          platform: request.platform ?? existing?.platform ?? null,
          appVersion: request.appVersion ?? existing?.appVersion ?? null,
          schemaVersions: existing?.schemaVersions ?? null,
          lastSyncAt: existing?.lastSyncAt ?? null,
          syncToken: existing?.syncToken ?? null,
          isActive: true,
          createdAt: existing?.createdAt ?? now,
        };
        await tx.upsertDevice(device);
        if (existing && !existing.isActive) {
          await tx.insertAudit({
            actor: actor.userId,
            action: 'device.register',
            target: request.deviceId,
            details: null,
            createdAt: now,
          });
        }
        return toWireDevice(device);
      });
    },

    async claimDevice(actor, deviceId) {
      await store.forTenant(actor.tenant).transact(async (tx) => {
        await touchDevice(tx, actor, deviceId, clock.now().toISOString());
      });
    },

    async unregisterDevice(actor, deviceId) {
      const now = clock.now().toISOString();
      await syncNotes.flush(actor.tenant);
      await transact(actor.tenant, async (tx, events) => {
        const device = await tx.getDevice(deviceId);
        if (!device || !ownsOrAdmin(actor, device.userId)) {
          throw new SyncError('NOT_FOUND', `Device ${deviceId} not found`);
        }
        await tx.upsertDevice({ ...device, isActive: false });
        events.deviceRevoked(deviceId);
        await tx.insertAudit({
          actor: actor.userId,
          action: 'device.revoke',
          target: deviceId,
          details: null,
          createdAt: now,
        });
      });
    },

    async listConflicts(actor, filter = {}) {
      const conflicts = await store.forTenant(actor.tenant).listConflicts({
        ...ownScope(actor),
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.entityType ? { entityType: filter.entityType } : {}),
        limit: Math.min(filter.limit ?? 100, 1000),
      });
      return conflicts.map(toWireConflict);
    },

    async resolveConflict(actor, request) {
      const now = clock.now().toISOString();
      const outcome = await transact(actor.tenant, async (tx, events) => {
        const conflict = await findConflictFor(tx, actor, request.conflictId);
        if (conflict.status !== 'PENDING_REVIEW') {
          throw new SyncError(
            'CONFLICT_ALREADY_RESOLVED',
            `Conflict ${conflict.id} is already resolved`,
          );
        }
        const current = await tx.getEntity(conflict.entityType, conflict.entityId);
        const collection = collections.get(conflict.entityType);
        // clientWinsAdminOnly: the offline copy overwrites the server's only with an admin's
        // approval (and so does a copy of the user's own making, which could be the offline one).
        const overwrites = request.resolution === 'CLIENT_WINS' || request.resolvedData;
        if (overwrites && collection.clientWinsAdminOnly && !isAdmin(actor)) {
          throw new SyncError(
            'ADMIN_REQUIRED',
            `${request.resolvedData ? 'resolvedData' : 'CLIENT_WINS'} on ${collection.name} needs an admin's approval: ask an admin to resolve it, or choose SERVER_WINS`,
            { resolution: request.resolution, entityType: collection.name },
          );
        }
        const data = settledData(conflict, current?.payload ?? null, request, collection);
        // A person decided on the server copy the conflict showed; if it has moved since, they
        // must look again rather than overwrite an edit they never saw.
        if (data !== undefined && (current?.version ?? 0) !== conflict.serverVersion) {
          const refreshed = {
            serverVersion: current?.version ?? 0,
            serverData: current?.payload ?? null,
          };
          await tx.updateConflict(conflict.id, refreshed);
          return { stale: refreshed } as const;
        }
        let change: ServerChange | undefined;
        if (data !== undefined) {
          if (request.resolvedData) assertPayloadLimits(request.resolvedData, limits);
          const refusal = refuseWrite({ actor, checkSchema }, collection, current, data);
          if (refusal) throw new SyncError(refusal.code, refusal.message, refusal.details);
          const ctx = { tx, events, actor, deviceId: conflict.deviceId ?? 'server', crypto, now };
          const target = {
            entityType: conflict.entityType,
            entityId: conflict.entityId,
            mutationId: conflict.mutationId,
            timestamp: now,
          };
          const version = await writeVersion(ctx, target, current, data);
          const written = await tx.getHistoryVersion(
            conflict.entityType,
            conflict.entityId,
            version,
          );
          if (written) change = toServerChange(written);
          if (conflict.mutationId && conflict.deviceId) {
            await tx.updateMutation(conflict.deviceId, conflict.mutationId, {
              status: 'SYNCED',
              updatedAt: now,
            });
          }
        }
        const resolved: ConflictRecord = {
          ...conflict,
          resolution: request.resolution,
          status: 'RESOLVED',
          resolvedBy: actor.userId,
          resolvedAt: now,
        };
        await tx.updateConflict(conflict.id, {
          resolution: resolved.resolution,
          status: resolved.status,
          resolvedBy: resolved.resolvedBy,
          resolvedAt: resolved.resolvedAt,
        });
        await tx.insertAudit({
          actor: actor.userId,
          action: 'conflict.resolve',
          target: conflict.id,
          details: {
            resolution: request.resolution,
            entityType: conflict.entityType,
            entityId: conflict.entityId,
          },
          createdAt: now,
        });
        const wire = toWireConflict(resolved);
        return change ? { conflict: wire, change } : { conflict: wire };
      });
      if ('stale' in outcome) {
        throw new SyncError(
          'CONFLICT_STALE',
          'The entity changed since this conflict was raised; review its server copy again',
          outcome.stale,
        );
      }
      return outcome;
    },

    async queueStats(actor, filter = {}) {
      const tenant = store.forTenant(actor.tenant);
      const scope = {
        ...scopeFor(actor, filter.userId || undefined, "Only admins may read another user's queue"),
        ...(filter.deviceId ? { deviceId: filter.deviceId } : {}),
      };
      const [byStatus, pending] = await Promise.all([
        tenant.countMutations(scope),
        tenant.listConflicts({
          ...(scope.userId ? { userId: scope.userId } : {}),
          status: 'PENDING_REVIEW',
          limit: 1000,
        }),
      ]);
      return queueStatsOf(byStatus, pending.length);
    },

    async invalidateCache(actor, request) {
      requireAdmin(actor);
      const at = clock.now();
      const now = at.toISOString();
      return transact(actor.tenant, async (tx, events) => {
        // Each invalidation makes every device of the tenant pull its whole feed again: one per
        // cooldown, whoever asks, so that repeating it cannot multiply that work.
        const [last] = await tx.listAudit({ action: 'cache.invalidate', limit: 1 });
        const waitMs = last
          ? Date.parse(last.createdAt) + limits.invalidateCooldownMs - at.getTime()
          : 0;
        if (waitMs > 0) {
          const retryAfterSeconds = Math.ceil(waitMs / 1000);
          throw new SyncError(
            'RATE_LIMITED',
            `The tenant's sync tokens were invalidated at ${last?.createdAt}; retry in ${retryAfterSeconds} s`,
            { retryAfterSeconds },
          );
        }
        const epoch = await tx.bumpEpoch();
        events.epochBumped();
        await tx.insertAudit({
          actor: actor.userId,
          action: 'cache.invalidate',
          target: request.deviceId ?? null,
          details: { epoch },
          createdAt: now,
        });
        return { epoch };
      });
    },

    async entityHistory(actor, entityType, entityId) {
      requireAdmin(actor);
      const rows = await store.forTenant(actor.tenant).listHistory(entityType, entityId);
      if (rows.length === 0)
        throw new SyncError('NOT_FOUND', `${entityType} ${entityId} not found`);
      return [...rows]
        .sort((a, b) => a.version - b.version)
        .map((row) => ({
          version: row.version,
          operation: row.operation,
          payload: row.payload,
          checksum: row.checksum,
          updatedBy: row.updatedBy,
          deviceId: row.deviceId,
          mutationId: row.mutationId,
          timestamp: row.updatedAt,
          deletedAt: row.deletedAt,
          seq: row.seq,
        }));
    },

    async restore(actor, entityType, entityId, version) {
      requireAdmin(actor);
      const now = clock.now().toISOString();
      return transact(actor.tenant, async (tx, events) => {
        const [old, current] = await Promise.all([
          tx.getHistoryVersion(entityType, entityId, version),
          tx.getEntity(entityType, entityId),
        ]);
        if (!old || !current)
          throw new SyncError('NOT_FOUND', `${entityType} ${entityId} v${version} not found`);
        const ctx = { tx, events, actor, deviceId: 'server', crypto, now };
        const newVersion = await writeVersion(
          ctx,
          { entityType, entityId, mutationId: null, timestamp: now },
          current,
          old.payload,
        );
        await tx.insertAudit({
          actor: actor.userId,
          action: 'entity.restore',
          target: `${entityType}/${entityId}`,
          details: { restoredVersion: version, newVersion },
          createdAt: now,
        });
        const written = await tx.getHistoryVersion(entityType, entityId, newVersion);
        if (!written) throw new Error('restore: the written version is missing');
        return toServerChange(written);
      });
    },

    // One retry at a time per tenant (in this process): callers hammering it share one stream of
    // chunks with every other tenant's requests, rather than one stream each.
    flushSyncNotes: (tenant) => syncNotes.flush(tenant),
    close: () => syncNotes.close(),

    retryQueue: (actor, request) =>
      heavyWork(actor.tenant, () => retryQueue(context, actor, request)),
    upsert: (actor, request, meta) => upsert(context, actor, request, meta),
    pushDeferred: (actor, request) => pushDeferred(context, actor, request),
    processMutation: (actor, id) => processMutation(context, actor, id),
    getMutation: (actor, id) => getMutation(context, actor, id),
    listMutations: (actor, filter) => listMutations(context, actor, filter),
  };
}

/**
 * What a person's resolution writes: undefined when the server copy stays, null for a tombstone.
 * resolvedData, when given, is what the person settled on.
 */
function settledData(
  conflict: ConflictRecord,
  current: JsonObject | null,
  request: { resolution: string; resolvedData?: JsonObject },
  collection: Collection,
): JsonObject | null | undefined {
  if (request.resolvedData) return request.resolvedData;
  switch (request.resolution) {
    case 'SERVER_WINS':
      return undefined;
    case 'CLIENT_WINS':
      return conflict.clientData;
    case 'MERGE': {
      if (!current || !conflict.clientData) {
        throw new SyncError(
          'MERGE_INCOMPLETE',
          'A delete cannot be merged; choose CLIENT_WINS or SERVER_WINS',
        );
      }
      const { merged, overlapping } = threeWayMerge({
        base: conflict.baseData,
        server: current,
        client: conflict.clientData,
        policies: collection.mergePolicy,
        clientIsLater: true,
      });
      if (overlapping.length > 0) {
        throw new SyncError(
          'MERGE_INCOMPLETE',
          'Both sides changed the same fields; send resolvedData',
          { overlapping },
        );
      }
      return merged;
    }
    default:
      throw new SyncError('VALIDATION_FAILED', 'MANUAL resolution needs resolvedData');
  }
}

/** The device's sync token: the token its latest sync reached. */
async function noteSyncToken(tx: TenantTx, deviceId: string, token: string): Promise<void> {
  const device = await tx.getDevice(deviceId);
  if (device && device.syncToken !== token) await tx.upsertDevice({ ...device, syncToken: token });
}

/**
 * The feed rows a push's response need not carry: versions this very push wrote from the device's
 * own change as sent (APPLIED with no conflict), which the device already holds and confirms from
 * `results`. A version the server wrote on its behalf (a merge, a conflict settled by rule) is
 * still sent, as is everything other devices wrote.
 */
function appliedAsSent(deviceId: string, results: readonly ChangeResult[]): HeldRow | undefined {
  const held = new Set<string>();
  for (const r of results) {
    if (r.status === 'APPLIED' && r.conflictId === undefined && r.version !== undefined) {
      held.add(versionKey(r.entityType, r.entityId, r.version));
    }
  }
  if (held.size === 0) return undefined;
  return (row: FeedEntry) =>
    row.deviceId === deviceId && held.has(versionKey(row.entityType, row.entityId, row.version));
}

const versionKey = (entityType: string, entityId: string, version: number): string =>
  `${entityType}\u0000${entityId}\u0000${version}`;

/**
 * An admin hands a device on: its old owner's registration ends (their streams on it close), and
 * the new owner starts afresh: no name, sync token or sync time is inherited.
 */
async function reassignDevice(
  tx: TenantTx,
  events: CommitEvents,
  admin: Actor,
  existing: DeviceRecord,
  owner: string,
  request: RegisterDeviceRequest,
  now: string,
): Promise<Device> {
  if (existing.isActive) {
    await tx.upsertDevice({ ...existing, isActive: false });
    events.deviceRevoked(existing.deviceId);
  }
  const device: DeviceRecord = {
    deviceId: existing.deviceId,
    userId: owner,
    deviceName: request.deviceName ?? null,
    platform: request.platform ?? null,
    appVersion: request.appVersion ?? null,
    schemaVersions: null,
    lastSyncAt: null,
    syncToken: null,
    isActive: true,
    createdAt: now,
  };
  await tx.upsertDevice(device);
  await tx.insertAudit({
    actor: admin.userId,
    action: 'device.reassign',
    target: existing.deviceId,
    details: { from: existing.userId, to: owner },
    createdAt: now,
  });
  return toWireDevice(device);
}

/**
 * Whom a queued mutation is re-run as: its owner. An admin's retry carries none of the admin's
 * claims (the owner's are not stored), so claim rules refuse rather than widen what was allowed.
 */
function ownerOf(actor: Actor, mutation: MutationRecord): Actor {
  if (mutation.userId === actor.userId) return actor;
  return { tenant: actor.tenant, userId: mutation.userId, role: 'user', claims: {} };
}

/** A person's payload meets the limits a device's payload must meet. */
function assertPayloadLimits(payload: JsonObject, limits: EngineLimits): void {
  if (exceedsDepth(payload, limitsDefaults.maxPayloadDepth)) {
    throw new SyncError(
      'VALIDATION_FAILED',
      `resolvedData nests deeper than ${limitsDefaults.maxPayloadDepth} levels`,
    );
  }
  const forbidden = findForbiddenKey(payload);
  if (forbidden)
    throw new SyncError('FORBIDDEN_KEY', `Forbidden key at ${forbidden}`, { path: forbidden });
  if (jsonByteLength(payload) > limits.maxPayloadBytes) {
    throw new SyncError(
      'PAYLOAD_TOO_LARGE',
      `resolvedData is larger than ${limits.maxPayloadBytes} bytes`,
    );
  }
}

function toIncoming(mutation: MutationRecord): IncomingChange {
  return {
    mutationId: mutation.mutationId,
    entityType: mutation.entityType,
    entityId: mutation.entityId,
    operation: mutation.operation,
    payload: mutation.payload,
    clientVersion: mutation.clientVersion,
    timestamp: mutation.clientTimestamp,
    conflictStrategy: mutation.conflictStrategy ?? undefined,
  };
}

function countResults(results: readonly ChangeResult[]) {
  const count = (status: ChangeResult['status']) =>
    results.filter((r) => r.status === status).length;
  return {
    applied: count('APPLIED'),
    duplicates: count('DUPLICATE'),
    conflicts:
      count('CONFLICT') + results.filter((r) => r.status === 'APPLIED' && r.conflictId).length,
    rejected: count('REJECTED'),
  };
}

export function queueStatsOf(
  byStatus: Record<MutationStatus, number>,
  pendingConflicts: number,
): QueueStats {
  const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
  const rate = total === 0 ? 0 : (byStatus.SYNCED / total) * 100;
  return { total, byStatus, syncRate: `${rate.toFixed(2)}%`, pendingConflicts };
}

export function toWireConflict(conflict: ConflictRecord): Conflict {
  const wire: Conflict = {
    id: conflict.id,
    type: conflict.type,
    entityType: conflict.entityType,
    entityId: conflict.entityId,
    mutationId: conflict.mutationId,
    deviceId: conflict.deviceId,
    clientVersion: conflict.clientVersion,
    serverVersion: conflict.serverVersion,
    clientData: conflict.clientData,
    serverData: conflict.serverData,
    baseData: conflict.baseData,
    suggestedResolution: conflict.suggestedResolution,
    resolution: conflict.resolution,
    status: conflict.status,
    resolvedBy: conflict.resolvedBy,
    resolvedAt: conflict.resolvedAt,
    createdAt: conflict.createdAt,
  };
  if (conflict.overlappingFields) wire.overlappingFields = conflict.overlappingFields;
  return wire;
}

function toWireDevice(device: DeviceRecord): Device {
  return { ...device };
}
