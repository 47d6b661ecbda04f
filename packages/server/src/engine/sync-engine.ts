// The sync engine: the canonical protocol's operations over the storage port. Each push applies
// its batch and reads the feed in one tenant transaction, so the answer is sent only after COMMIT.
import {
  limitsDefaults,
  type ChangeResult,
  type Conflict,
  type Device,
  type MutationStatus,
  type PushResponse,
  type ServerChange,
} from '@syncline/protocol';
import { isAdmin, type Actor } from './actor.js';
import { applyChange, writeVersion, type ApplyContext, type AppliedChange } from './apply-push.js';
import type { Collection } from './collections.js';
import type { EngineLimits, QueueStats, SyncEngine, SyncEngineOptions } from './engine-api.js';
import { SyncError } from './errors.js';
import { threeWayMerge } from './merge.js';
import type {
  ConflictRecord,
  DeviceRecord,
  JsonObject,
  MutationRecord,
  TenantReads,
  TenantTx,
} from './ports.js';
import { readFeedPage, resolveCursor, toServerChange } from './pull.js';
import { encodeCursor } from './sync-token.js';
import { validateChange, type IncomingChange } from './validate-change.js';

const systemClock = { now: () => new Date() };

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { store, collections, crypto } = options;
  const clock = options.clock ?? systemClock;
  const limits: EngineLimits = {
    maxPayloadBytes: limitsDefaults.maxPayloadBytes,
    maxFutureSkewMs: limitsDefaults.maxFutureSkewMs,
    defaultPageSize: limitsDefaults.defaultPageSize,
    maxPageSize: limitsDefaults.maxPageSize,
    ...options.limits,
  };

  const checkers = new Map<string, (payload: unknown) => string[]>();
  const checkSchema = (collection: Collection, payload: JsonObject): string[] => {
    if (!collection.schema) return [];
    let check = checkers.get(collection.name);
    if (!check) {
      check = options.compileSchema(collection.schema);
      checkers.set(collection.name, check);
    }
    return check(payload);
  };

  const applyContext = (tx: TenantTx, actor: Actor, deviceId: string, now: Date): ApplyContext => ({
    tx,
    actor,
    deviceId,
    crypto,
    now: now.toISOString(),
    defaultStrategy: collections.defaultStrategy,
    checkSchema,
  });

  /** Refuses a revoked device; registers an unknown one; notes the sync time. */
  async function touchDevice(
    tx: TenantTx,
    actor: Actor,
    deviceId: string,
    now: string,
    deviceName?: string,
  ): Promise<void> {
    const device = await tx.getDevice(deviceId);
    if (device && !device.isActive) {
      throw new SyncError(
        'DEVICE_REVOKED',
        `Device ${deviceId} was unregistered; register it again`,
      );
    }
    await tx.upsertDevice({
      deviceId,
      userId: actor.userId,
      deviceName: deviceName ?? device?.deviceName ?? null,
      platform: device?.platform ?? null,
      appVersion: device?.appVersion ?? null,
      lastSyncAt: now,
      syncToken: device?.syncToken ?? null,
      isActive: true,
      createdAt: device?.createdAt ?? now,
    });
  }

  const requireAdmin = (actor: Actor) => {
    if (!isAdmin(actor)) throw new SyncError('ADMIN_REQUIRED');
  };

  /** Users see their own records; admins see the tenant's. */
  const ownFilter = (actor: Actor) => (isAdmin(actor) ? {} : { userId: actor.userId });

  async function findConflictFor(
    reads: TenantReads,
    actor: Actor,
    id: string,
  ): Promise<ConflictRecord> {
    const conflict = await reads.getConflict(id);
    if (!conflict || (!isAdmin(actor) && conflict.userId !== actor.userId)) {
      throw new SyncError('NOT_FOUND', `Conflict ${id} not found`);
    }
    return conflict;
  }

  return {
    async push(actor, request, meta = {}) {
      const started = clock.now();
      const tenant = store.forTenant(actor.tenant);
      const validated = request.changes.map((change) =>
        validateChange(change, {
          deviceId: request.deviceId,
          collections,
          crypto,
          now: started,
          maxFutureSkewMs: limits.maxFutureSkewMs,
          maxPayloadBytes: limits.maxPayloadBytes,
          checkSchema,
        }),
      );

      return tenant.transact(async (tx) => {
        const now = clock.now();
        await touchDevice(tx, actor, request.deviceId, now.toISOString(), request.deviceName);
        const ctx = applyContext(tx, actor, request.deviceId, now);
        const results: ChangeResult[] = [];
        const conflicts = new Map<string, ConflictRecord>();
        for (const item of validated) {
          if (!item.ok) {
            const { mutationId, entityType, entityId, error } = item;
            results.push({ mutationId, entityType, entityId, status: 'REJECTED', error });
            continue;
          }
          const applied: AppliedChange = await applyChange(ctx, item.change, item.collection);
          results.push(applied.result);
          if (applied.conflict) conflicts.set(applied.conflict.id, applied.conflict);
        }

        const state = await tx.getTenantState();
        const cursor = await resolveCursor(tx, state.epoch, {
          syncToken: request.syncToken ?? null,
        });
        const page = await readFeedPage(tx, actor, collections, {
          afterSeq: cursor.afterSeq,
          ...(request.entityTypes ? { entityTypes: request.entityTypes } : {}),
          limit: limits.defaultPageSize,
        });
        const syncToken = encodeCursor({ seq: page.lastSeq, epoch: state.epoch });
        const counts = countResults(results);
        await tx.insertSyncHistory({
          userId: actor.userId,
          deviceId: request.deviceId,
          route: meta.route ?? 'POST /api/sync',
          pushed: request.changes.length,
          ...counts,
          pulled: page.changes.length,
          durationMs: Date.now() - started.getTime(),
          outcome: counts.rejected > 0 ? 'partial' : 'ok',
          networkType: meta.networkType ?? null,
          createdAt: now.toISOString(),
        });
        const response: PushResponse = {
          syncToken,
          changes: page.changes,
          hasMore: page.hasMore,
          results,
          conflicts: [...conflicts.values()].map(toWireConflict),
          serverTime: now.toISOString(),
        };
        if (cursor.reset) response.reset = true;
        return response;
      });
    },

    async delta(actor, request, meta = {}) {
      const started = clock.now();
      const pageSize = Math.min(request.pageSize ?? limits.defaultPageSize, limits.maxPageSize);
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const now = clock.now().toISOString();
        await touchDevice(tx, actor, request.deviceId, now);
        const state = await tx.getTenantState();
        const cursor = await resolveCursor(tx, state.epoch, request);
        const page = await readFeedPage(tx, actor, collections, {
          afterSeq: cursor.afterSeq,
          ...(request.entityTypes ? { entityTypes: request.entityTypes } : {}),
          limit: pageSize,
        });
        const token = encodeCursor({ seq: page.lastSeq, epoch: state.epoch });
        await tx.insertSyncHistory({
          userId: actor.userId,
          deviceId: request.deviceId,
          route: meta.route ?? 'POST /api/sync/delta',
          pushed: 0,
          applied: 0,
          duplicates: 0,
          conflicts: 0,
          rejected: 0,
          pulled: page.changes.length,
          durationMs: Date.now() - started.getTime(),
          outcome: 'ok',
          networkType: meta.networkType ?? null,
          createdAt: now,
        });
        return {
          changes: page.changes,
          nextPageToken: page.hasMore ? token : null,
          hasMore: page.hasMore,
          syncToken: token,
          ...(cursor.reset ? { reset: true } : {}),
        };
      });
    },

    async status(actor) {
      const tenant = store.forTenant(actor.tenant);
      const [state, devices, conflicts, queue] = await Promise.all([
        tenant.getTenantState(),
        tenant.listDevices(ownFilter(actor)),
        tenant.listConflicts({ ...ownFilter(actor), status: 'PENDING_REVIEW', limit: 1000 }),
        tenant.countMutations(ownFilter(actor)),
      ]);
      const lastSyncAt = devices
        .map((d) => d.lastSyncAt)
        .filter((t): t is string => t !== null)
        .sort()
        .at(-1);
      return {
        userId: actor.userId,
        serverTime: clock.now().toISOString(),
        syncToken: encodeCursor(state),
        devices: devices.map(toWireDevice),
        pendingConflicts: conflicts.length,
        queue,
        lastSyncAt: lastSyncAt ?? null,
      };
    },

    async listDevices(actor) {
      const devices = await store.forTenant(actor.tenant).listDevices(ownFilter(actor));
      return devices.map(toWireDevice);
    },

    async registerDevice(actor, request) {
      const now = clock.now().toISOString();
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const existing = await tx.getDevice(request.deviceId);
        const device: DeviceRecord = {
          deviceId: request.deviceId,
          userId: actor.userId,
          deviceName: request.deviceName ?? existing?.deviceName ?? null,
          platform: request.platform ?? existing?.platform ?? null,
          appVersion: request.appVersion ?? existing?.appVersion ?? null,
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

    async unregisterDevice(actor, deviceId) {
      const now = clock.now().toISOString();
      await store.forTenant(actor.tenant).transact(async (tx) => {
        const device = await tx.getDevice(deviceId);
        if (!device || (!isAdmin(actor) && device.userId !== actor.userId)) {
          throw new SyncError('NOT_FOUND', `Device ${deviceId} not found`);
        }
        await tx.upsertDevice({ ...device, isActive: false });
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
        ...ownFilter(actor),
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.entityType ? { entityType: filter.entityType } : {}),
        limit: Math.min(filter.limit ?? 100, 1000),
      });
      return conflicts.map(toWireConflict);
    },

    async resolveConflict(actor, request) {
      const now = clock.now();
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const conflict = await findConflictFor(tx, actor, request.conflictId);
        if (conflict.status !== 'PENDING_REVIEW') {
          throw new SyncError(
            'CONFLICT_ALREADY_RESOLVED',
            `Conflict ${conflict.id} is already resolved`,
          );
        }
        const current = await tx.getEntity(conflict.entityType, conflict.entityId);
        const collection = collections.get(conflict.entityType);
        const data = settledData(conflict, current?.payload ?? null, request, collection);
        let change: ServerChange | undefined;
        if (data !== undefined) {
          const problems = data === null ? [] : checkSchema(collection, data);
          if (problems.length > 0)
            throw new SyncError('SCHEMA_VIOLATION', problems.join('; '), { problems });
          const ctx = {
            tx,
            actor,
            deviceId: conflict.deviceId ?? 'server',
            crypto,
            now: now.toISOString(),
          };
          const target = {
            entityType: conflict.entityType,
            entityId: conflict.entityId,
            mutationId: conflict.mutationId,
            timestamp: now.toISOString(),
          };
          const version = await writeVersion(ctx, target, current, data);
          const written = await tx.getHistoryVersion(
            conflict.entityType,
            conflict.entityId,
            version,
          );
          if (written) change = toServerChange(written);
        }
        const resolved: ConflictRecord = {
          ...conflict,
          resolution: request.resolution,
          status: 'RESOLVED',
          resolvedBy: actor.userId,
          resolvedAt: now.toISOString(),
        };
        await tx.updateConflict(conflict.id, {
          resolution: resolved.resolution,
          status: resolved.status,
          resolvedBy: resolved.resolvedBy,
          resolvedAt: resolved.resolvedAt,
        });
        if (conflict.mutationId && conflict.deviceId && data !== undefined) {
          await tx.updateMutation(conflict.deviceId, conflict.mutationId, {
            status: 'SYNCED',
            updatedAt: now.toISOString(),
          });
        }
        await tx.insertAudit({
          actor: actor.userId,
          action: 'conflict.resolve',
          target: conflict.id,
          details: {
            resolution: request.resolution,
            entityType: conflict.entityType,
            entityId: conflict.entityId,
          },
          createdAt: now.toISOString(),
        });
        return change
          ? { conflict: toWireConflict(resolved), change }
          : { conflict: toWireConflict(resolved) };
      });
    },

    async retryQueue(actor, request) {
      const now = clock.now();
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const failed = await tx.listMutations({
          ...ownFilter(actor),
          statuses: ['FAILED'],
          ...(request.deviceId ? { deviceId: request.deviceId } : {}),
          ...(request.mutationIds ? { mutationIds: request.mutationIds } : {}),
          limit: 1000,
        });
        const results: ChangeResult[] = [];
        for (const mutation of failed) {
          const collection = collections.get(mutation.entityType);
          const owner: Actor =
            mutation.userId === actor.userId
              ? actor
              : { ...actor, userId: mutation.userId, role: 'user' };
          const ctx = applyContext(tx, owner, mutation.deviceId, now);
          const applied = await applyChange(ctx, toIncoming(mutation), collection);
          results.push(applied.result);
        }
        await tx.insertAudit({
          actor: actor.userId,
          action: 'queue.retry',
          target: request.deviceId ?? null,
          details: { retried: failed.length },
          createdAt: now.toISOString(),
        });
        return { retried: failed.length, results };
      });
    },

    async queueStats(actor, filter = {}) {
      const tenant = store.forTenant(actor.tenant);
      if (!isAdmin(actor) && filter.userId && filter.userId !== actor.userId)
        throw new SyncError('FORBIDDEN');
      const scope = {
        ...(isAdmin(actor)
          ? filter.userId
            ? { userId: filter.userId }
            : {}
          : { userId: actor.userId }),
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
      const now = clock.now().toISOString();
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const epoch = await tx.bumpEpoch();
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
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const [old, current] = await Promise.all([
          tx.getHistoryVersion(entityType, entityId, version),
          tx.getEntity(entityType, entityId),
        ]);
        if (!old || !current)
          throw new SyncError('NOT_FOUND', `${entityType} ${entityId} v${version} not found`);
        const ctx = { tx, actor, deviceId: 'server', crypto, now };
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

function toIncoming(mutation: MutationRecord): IncomingChange {
  return {
    mutationId: mutation.mutationId,
    entityType: mutation.entityType,
    entityId: mutation.entityId,
    operation: mutation.operation,
    payload: mutation.payload,
    clientVersion: mutation.clientVersion,
    timestamp: mutation.clientTimestamp,
    conflictStrategy: undefined,
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
