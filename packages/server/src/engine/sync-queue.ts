// The server-side sync queue (seed 001): a device's change is queued first (PENDING) and applied
// later, when the device asks. The queue id is the mutation's idempotency key, derived from what
// identifies the change on its device, so queueing the same change again finds the same item and
// processing an item again replays its first outcome instead of applying it twice.
import {
  canonicalJson,
  type Change,
  type ChangeResult,
  type Conflict,
  type ConflictStrategy,
  type MutationStatus,
  type Operation,
} from '@syncline/protocol';
import type { Actor } from './actor.js';
import { assertOwnRecord, ownScope, scopeFor } from './authorize.js';
import { applyChange } from './apply-push.js';
import { SyncError } from './errors.js';
import type { EngineContext } from './context.js';
import type { Crypto, JsonObject, MutationRecord, TenantReads } from './ports.js';
import { validateChange } from './validate-change.js';

export interface EnqueueRequest {
  deviceId: string;
  entityType: string;
  /** Absent for a CREATE: the engine derives the new entity's id from the queue id. */
  entityId?: string;
  operation: Operation;
  payload: JsonObject | null;
  /** The version the change was made on (a CREATE is version 1). */
  clientVersion: number;
  /** The device's edit time, ISO. */
  timestamp: string;
  /** How a conflict met when the item is processed is settled (MANUAL: it waits for a person). */
  conflictStrategy?: ConflictStrategy;
}

/** One queued change as the queue shows it: its mutation, under the queue's own id. */
export type QueuedChange = Omit<MutationRecord, 'mutationId' | 'conflictStrategy'> & {
  id: string;
};

/** An entity's current state, as processing left it. */
export interface EntityState {
  entityType: string;
  entityId: string;
  version: number;
  payload: JsonObject | null;
  updatedAt: string;
  deletedAt: string | null;
}

export interface ProcessResult {
  queued: QueuedChange;
  /** This run's outcome; DUPLICATE (with originalStatus) when the item was already processed. */
  result: ChangeResult;
  conflict?: Conflict;
  entity?: EntityState;
}

export interface QueueFilter {
  deviceId?: string;
  /** Another user's queue: admins only. */
  userId?: string;
  statuses?: readonly MutationStatus[];
  limit?: number;
}

/** 24 hex digits (the length of the seed's ids), from what identifies the change on its device. */
export function queueId(crypto: Crypto, request: EnqueueRequest): string {
  const identity = [
    request.deviceId,
    request.entityType,
    request.entityId ?? null,
    request.operation,
    request.clientVersion,
    request.timestamp,
    request.payload,
  ];
  return crypto.sha256Hex(canonicalJson(identity)).slice(0, 24);
}

export async function enqueue(
  engine: EngineContext,
  actor: Actor,
  request: EnqueueRequest,
): Promise<{ queued: QueuedChange; created: boolean }> {
  const now = engine.clock.now();
  const id = queueId(engine.crypto, request);
  if (request.operation !== 'CREATE' && request.entityId === undefined) {
    throw new SyncError('VALIDATION_FAILED', `${request.operation} needs the id of its resource`);
  }
  const entityId =
    request.entityId ??
    engine.crypto.sha256Hex(canonicalJson(['entity', request.deviceId, id])).slice(0, 24);
  const change: Change = {
    mutationId: id,
    entityType: request.entityType,
    entityId,
    operation: request.operation,
    payload: request.payload,
    clientVersion: request.clientVersion,
    timestamp: request.timestamp,
    ...(request.conflictStrategy ? { conflictStrategy: request.conflictStrategy } : {}),
  };
  const validated = validateChange(change, engine.validationContext(request.deviceId, now));
  if (!validated.ok) {
    const { code, message, details } = validated.error;
    throw new SyncError(code, message, details);
  }
  const incoming = validated.change;
  const at = now.toISOString();
  return engine.store.forTenant(actor.tenant).transact(async (tx) => {
    await engine.touchDevice(tx, actor, request.deviceId, at);
    const previous = await tx.getMutation(request.deviceId, id);
    if (previous) {
      assertOwnRecord(actor, previous.userId, 'This queue item belongs to another user');
      return { queued: toQueued(previous), created: false };
    }
    const record: MutationRecord = {
      deviceId: request.deviceId,
      mutationId: id,
      userId: actor.userId,
      entityType: incoming.entityType,
      entityId: incoming.entityId,
      operation: incoming.operation,
      payload: incoming.payload,
      clientVersion: incoming.clientVersion,
      clientTimestamp: incoming.timestamp,
      status: 'PENDING',
      attempts: 0,
      result: null,
      error: null,
      conflictId: null,
      conflictStrategy: incoming.conflictStrategy ?? null,
      createdAt: at,
      updatedAt: at,
    };
    await tx.insertMutation(record);
    return { queued: toQueued(record), created: true };
  });
}

/** Applies a queued (or failed) item as its owner; an item already processed replays its outcome. */
export async function processQueued(
  engine: EngineContext,
  actor: Actor,
  id: string,
): Promise<ProcessResult> {
  return engine.store.forTenant(actor.tenant).transact(async (tx) => {
    const mutation = await findQueued(tx, actor, id);
    const applied = await applyChange(
      engine.applyContext(
        tx,
        engine.ownerOf(actor, mutation),
        mutation.deviceId,
        engine.clock.now(),
      ),
      engine.toIncoming(mutation),
      engine.collections.get(mutation.entityType),
    );
    const after = (await tx.getMutation(mutation.deviceId, mutation.mutationId)) ?? mutation;
    const entity = await tx.getEntity(mutation.entityType, mutation.entityId);
    return {
      queued: toQueued(after),
      result: applied.result,
      ...(applied.conflict ? { conflict: engine.toWireConflict(applied.conflict) } : {}),
      ...(entity
        ? {
            entity: {
              entityType: entity.entityType,
              entityId: entity.entityId,
              version: entity.version,
              payload: entity.payload,
              updatedAt: entity.updatedAt,
              deletedAt: entity.deletedAt,
            },
          }
        : {}),
    };
  });
}

/** One item, with the conflict its processing raised (if any). */
export async function getQueued(
  engine: EngineContext,
  actor: Actor,
  id: string,
): Promise<{ queued: QueuedChange; conflict?: Conflict }> {
  const tenant = engine.store.forTenant(actor.tenant);
  const mutation = await findQueued(tenant, actor, id);
  const conflict = mutation.conflictId ? await tenant.getConflict(mutation.conflictId) : undefined;
  return {
    queued: toQueued(mutation),
    ...(conflict ? { conflict: engine.toWireConflict(conflict) } : {}),
  };
}

/** The caller's queue, in arrival order (a tenant's, or one user's, for admins). */
export async function listQueue(
  engine: EngineContext,
  actor: Actor,
  filter: QueueFilter,
): Promise<QueuedChange[]> {
  const rows = await engine.store.forTenant(actor.tenant).listMutations({
    ...scopeFor(actor, filter.userId, "Only admins may read another user's queue"),
    ...(filter.deviceId !== undefined ? { deviceId: filter.deviceId } : {}),
    ...(filter.statuses ? { statuses: filter.statuses } : {}),
    limit: Math.min(filter.limit ?? 1000, 1000),
  });
  return rows.map(toQueued);
}

/** A user reaches only their own items; another's, like another tenant's, is not found. */
async function findQueued(reads: TenantReads, actor: Actor, id: string): Promise<MutationRecord> {
  const [found] = await reads.listMutations({
    mutationIds: [id],
    ...ownScope(actor),
    limit: 1,
  });
  if (!found) throw new SyncError('NOT_FOUND', `Queue item ${id} not found`);
  return found;
}

function toQueued(mutation: MutationRecord): QueuedChange {
  return {
    id: mutation.mutationId,
    deviceId: mutation.deviceId,
    userId: mutation.userId,
    entityType: mutation.entityType,
    entityId: mutation.entityId,
    operation: mutation.operation,
    payload: mutation.payload,
    clientVersion: mutation.clientVersion,
    clientTimestamp: mutation.clientTimestamp,
    status: mutation.status,
    attempts: mutation.attempts,
    result: mutation.result,
    error: mutation.error,
    conflictId: mutation.conflictId,
    createdAt: mutation.createdAt,
    updatedAt: mutation.updatedAt,
  };
}
