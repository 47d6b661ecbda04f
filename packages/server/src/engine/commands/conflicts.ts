// Conflicts: the caller's list, and a person's resolution (which may write a new version).
import {
  exceedsDepth,
  findForbiddenKey,
  limitsDefaults,
  type Conflict,
  type ResolveConflictRequest,
  type ServerChange,
} from '@syncline/protocol';
import type { Actor } from '../actor.js';
import { isAdmin, ownScope, ownsOrAdmin } from '../authorize.js';
import { refuseWrite, writeVersion } from '../apply-push.js';
import type { Collection } from '../collections.js';
import type { EngineContext } from '../context.js';
import type { EngineLimits, ResolveResult, SyncEngine } from '../engine-api.js';
import { SyncError } from '../errors.js';
import { jsonByteLength } from '../json.js';
import { threeWayMerge } from '../merge.js';
import type { ConflictRecord, JsonObject, TenantReads } from '../ports.js';
import { toServerChange } from '../pull.js';
import { toWireConflict } from '../wire.js';

type ConflictFilter = NonNullable<Parameters<SyncEngine['listConflicts']>[1]>;

export async function listConflicts(
  engine: EngineContext,
  actor: Actor,
  filter: ConflictFilter = {},
): Promise<Conflict[]> {
  const conflicts = await engine.store.forTenant(actor.tenant).listConflicts({
    ...ownScope(actor),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.entityType ? { entityType: filter.entityType } : {}),
    limit: Math.min(filter.limit ?? 100, 1000),
  });
  return conflicts.map(toWireConflict);
}

export async function resolveConflict(
  engine: EngineContext,
  actor: Actor,
  request: ResolveConflictRequest,
): Promise<ResolveResult> {
  const now = engine.clock.now().toISOString();
  const outcome = await engine.transact(actor.tenant, async (tx, events) => {
    const conflict = await findConflictFor(tx, actor, request.conflictId);
    if (conflict.status !== 'PENDING_REVIEW') {
      throw new SyncError(
        'CONFLICT_ALREADY_RESOLVED',
        `Conflict ${conflict.id} is already resolved`,
      );
    }
    const current = await tx.getEntity(conflict.entityType, conflict.entityId);
    const collection = engine.collections.get(conflict.entityType);
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
      if (request.resolvedData) assertPayloadLimits(request.resolvedData, engine.limits);
      const refusal = refuseWrite(
        { actor, checkSchema: engine.checkSchema },
        collection,
        current,
        data,
      );
      if (refusal) throw new SyncError(refusal.code, refusal.message, refusal.details);
      const ctx = {
        tx,
        events,
        actor,
        deviceId: conflict.deviceId ?? 'server',
        crypto: engine.crypto,
        now,
      };
      const target = {
        entityType: conflict.entityType,
        entityId: conflict.entityId,
        mutationId: conflict.mutationId,
        timestamp: now,
      };
      const version = await writeVersion(ctx, target, current, data);
      const written = await tx.getHistoryVersion(conflict.entityType, conflict.entityId, version);
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
}

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
