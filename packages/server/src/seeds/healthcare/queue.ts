// Seed 001 (rural healthcare): a queued operation as the engine's deferred push. The queue id is
// the mutation id, derived from what identifies the operation on its device, so queueing the same
// operation again finds the same item; a CREATE without a resource id gets one derived from it.
import {
  canonicalJson,
  type Change,
  type ConflictStrategy,
  type Operation,
} from '@syncline/protocol';
import type { DeferredPushRequest } from '../../engine/commands/deferred.js';
import { SyncError } from '../../engine/errors.js';
import type { JsonObject } from '../../engine/ports.js';
import { nodeCrypto } from '../../http/node-crypto.js';

export interface QueuedOperation {
  deviceId: string;
  entityType: string;
  /** Absent for a CREATE: the id is derived from the queue id. */
  entityId?: string;
  operation: Operation;
  payload: JsonObject | null;
  /** The version the operation was made on (a CREATE is version 1). */
  clientVersion: number;
  /** The device's edit time, ISO. */
  timestamp: string;
  conflictStrategy?: ConflictStrategy;
}

/** 24 hex digits (the length of the seed's ids), from what identifies the operation on its device. */
export function queueId(operation: QueuedOperation): string {
  const identity = [
    operation.deviceId,
    operation.entityType,
    operation.entityId ?? null,
    operation.operation,
    operation.clientVersion,
    operation.timestamp,
    operation.payload,
  ];
  return nodeCrypto.sha256Hex(canonicalJson(identity)).slice(0, 24);
}

/** The operation as the deferred push that stores it; an UPDATE or DELETE must name its resource. */
export function deferredPushOf(operation: QueuedOperation): DeferredPushRequest {
  const id = queueId(operation);
  if (operation.operation !== 'CREATE' && operation.entityId === undefined) {
    throw new SyncError('VALIDATION_FAILED', `${operation.operation} needs the id of its resource`);
  }
  const entityId =
    operation.entityId ??
    nodeCrypto.sha256Hex(canonicalJson(['entity', operation.deviceId, id])).slice(0, 24);
  const change: Change = {
    mutationId: id,
    entityType: operation.entityType,
    entityId,
    operation: operation.operation,
    payload: operation.payload,
    clientVersion: operation.clientVersion,
    timestamp: operation.timestamp,
    ...(operation.conflictStrategy ? { conflictStrategy: operation.conflictStrategy } : {}),
  };
  return { deviceId: operation.deviceId, change };
}
