// Stored records as the protocol shows them (and a stored mutation as the change it was).
import type { Conflict, Device, MutationStatus } from '@syncline/protocol';
import type { QueueStats } from './engine-api.js';
import type { ConflictRecord, DeviceRecord, MutationRecord } from './ports.js';
import type { IncomingChange } from './validate-change.js';

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
export function toWireDevice(device: DeviceRecord): Device {
  return { ...device };
}
/** A stored mutation as the change it was. */
export function toIncoming(mutation: MutationRecord): IncomingChange {
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
