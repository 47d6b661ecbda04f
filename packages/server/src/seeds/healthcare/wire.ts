// Seed 001 (rural healthcare): the engine's stored mutations, conflicts and results in the seed's own
// shapes and words.
import type { ChangeResult, Conflict, ConflictType } from '@syncline/protocol';
import type { EntityState } from '../../engine/commands/deferred.js';
import type { MutationRecord } from '../../engine/ports.js';

/** What the seed says about each kind of conflict: its `message` and `error`. */
export const conflictWording: Record<ConflictType, { message: string; error: string }> = {
  VERSION_MISMATCH: {
    message: 'Version conflict detected',
    error: 'Resource was modified on server',
  },
  DUPLICATE_CREATE: {
    message: 'Duplicate create detected',
    error: 'Resource already exists on server',
  },
  DELETED: { message: 'Delete conflict detected', error: 'Resource was deleted on server' },
  TIME_MISMATCH: { message: 'Time conflict detected', error: 'Clock times differ on server' },
  CHECKSUM_MISMATCH: { message: 'Checksum conflict detected', error: 'Data was damaged' },
};

/** A stored mutation as the seed's queue item; its mutation id is the queue id. */
export function toItem(queued: MutationRecord) {
  return {
    id: queued.mutationId,
    userId: queued.userId,
    deviceId: queued.deviceId,
    operation: queued.operation,
    resourceType: queued.entityType,
    resourceId: queued.entityId,
    data: queued.payload,
    status: queued.status,
    retryCount: Math.max(0, queued.attempts - 1),
    version: queued.clientVersion,
    createdAtClient: queued.clientTimestamp,
    error: queued.error?.message ?? null,
    createdAt: queued.createdAt,
    updatedAt: queued.updatedAt,
  };
}

export function conflictDetail(conflict: Conflict) {
  return {
    id: conflict.id,
    type: conflict.type,
    status: conflict.status,
    resolution: conflict.resolution,
    clientVersion: conflict.clientVersion,
    serverVersion: conflict.serverVersion,
    clientData: conflict.clientData,
    serverData: conflict.serverData,
  };
}

/** The resource as the seed's `result` shows it: its fields, its id and its version. */
export function resourceOf(entity: EntityState | undefined) {
  if (!entity) return undefined;
  return entity.payload === null
    ? { id: entity.entityId, version: entity.version, deleted: true }
    : { ...entity.payload, id: entity.entityId, version: entity.version };
}

/** A queue status for an engine result: applied is SYNCED, refused is FAILED. */
export function statusOf(result: ChangeResult): string {
  const status = result.status === 'DUPLICATE' ? result.originalStatus : result.status;
  return status === 'APPLIED' ? 'SYNCED' : status === 'REJECTED' ? 'FAILED' : 'CONFLICT';
}
