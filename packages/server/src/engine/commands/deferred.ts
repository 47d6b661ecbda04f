// Deferred pushes: a device's change is stored first (PENDING) and applied later, when asked. The
// mutation id is the change's idempotency key, so pushing the same change again finds the same
// mutation, and processing a mutation again replays its first outcome instead of applying it twice.
import type { Change, ChangeResult, Conflict, MutationStatus } from '@syncline/protocol';
import type { Actor } from '../actor.js';
import { assertOwnRecord, ownerOf, ownScope, scopeFor } from '../authorize.js';
import { applyChange } from '../apply-push.js';
import type { EngineContext } from '../context.js';
import { SyncError } from '../errors.js';
import type { JsonObject, MutationRecord, TenantReads } from '../ports.js';
import { validateChange } from '../validate-change.js';
import { touchDevice } from './devices.js';
import { toIncoming, toWireConflict } from '../wire.js';

export interface DeferredPushRequest {
  deviceId: string;
  /** Validated as a pushed change is; its conflict strategy applies when it is processed. */
  change: Change;
}

/** An entity's current state, as processing left it. */
export interface EntityState {
  entityType: string;
  entityId: string;
  version: number;
  payload: JsonObject | null;
  updatedAt: string;
  deletedAt: string | null;
}

export interface ProcessedMutation {
  mutation: MutationRecord;
  /** This run's outcome; DUPLICATE (with originalStatus) when it was already processed. */
  result: ChangeResult;
  conflict?: Conflict;
  entity?: EntityState;
}

export interface MutationFilter {
  deviceId?: string;
  /** Another user's mutations: admins only. */
  userId?: string;
  statuses?: readonly MutationStatus[];
  limit?: number;
}

/** Stores the change as PENDING without applying it; the same change again finds the same row. */
export async function pushDeferred(
  engine: EngineContext,
  actor: Actor,
  request: DeferredPushRequest,
): Promise<{ mutation: MutationRecord; created: boolean }> {
  const now = engine.clock.now();
  const validated = validateChange(request.change, engine.validationContext(request.deviceId, now));
  if (!validated.ok) {
    const { code, message, details } = validated.error;
    throw new SyncError(code, message, details);
  }
  const incoming = validated.change;
  const at = now.toISOString();
  return engine.store.forTenant(actor.tenant).transact(async (tx) => {
    await touchDevice(tx, actor, request.deviceId, at);
    const previous = await tx.getMutation(request.deviceId, incoming.mutationId);
    if (previous) {
      assertOwnRecord(actor, previous.userId, 'This queue item belongs to another user');
      return { mutation: previous, created: false };
    }
    const mutation: MutationRecord = {
      deviceId: request.deviceId,
      mutationId: incoming.mutationId,
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
    await tx.insertMutation(mutation);
    return { mutation, created: true };
  });
}

/**
 * Applies a stored (PENDING or FAILED) mutation as its owner; one already processed replays its
 * outcome. It is found by its id alone, so callers give ids that are unique across devices.
 */
export async function processMutation(
  engine: EngineContext,
  actor: Actor,
  id: string,
): Promise<ProcessedMutation> {
  return engine.transact(actor.tenant, async (tx, events) => {
    const mutation = await findMutation(tx, actor, id);
    const applied = await applyChange(
      engine.applyContext(
        tx,
        events,
        ownerOf(actor, mutation),
        mutation.deviceId,
        engine.clock.now(),
      ),
      toIncoming(mutation),
      engine.collections.get(mutation.entityType),
    );
    const after = (await tx.getMutation(mutation.deviceId, mutation.mutationId)) ?? mutation;
    const entity = await tx.getEntity(mutation.entityType, mutation.entityId);
    return {
      mutation: after,
      result: applied.result,
      ...(applied.conflict ? { conflict: toWireConflict(applied.conflict) } : {}),
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

/** One stored mutation, with the conflict its processing raised (if any). */
export async function getMutation(
  engine: EngineContext,
  actor: Actor,
  id: string,
): Promise<{ mutation: MutationRecord; conflict?: Conflict }> {
  const tenant = engine.store.forTenant(actor.tenant);
  const mutation = await findMutation(tenant, actor, id);
  const conflict = mutation.conflictId ? await tenant.getConflict(mutation.conflictId) : undefined;
  return { mutation, ...(conflict ? { conflict: toWireConflict(conflict) } : {}) };
}

/** The caller's stored mutations, in arrival order (a tenant's, or one user's, for admins). */
export async function listMutations(
  engine: EngineContext,
  actor: Actor,
  filter: MutationFilter,
): Promise<MutationRecord[]> {
  return engine.store.forTenant(actor.tenant).listMutations({
    ...scopeFor(actor, filter.userId, "Only admins may read another user's queue"),
    ...(filter.deviceId !== undefined ? { deviceId: filter.deviceId } : {}),
    ...(filter.statuses ? { statuses: filter.statuses } : {}),
    limit: Math.min(filter.limit ?? 1000, 1000),
  });
}

/** A user reaches only their own mutations; another's, like another tenant's, is not found. */
async function findMutation(reads: TenantReads, actor: Actor, id: string): Promise<MutationRecord> {
  const [found] = await reads.listMutations({
    mutationIds: [id],
    ...ownScope(actor),
    limit: 1,
  });
  if (!found) throw new SyncError('NOT_FOUND', `Queue item ${id} not found`);
  return found;
}
