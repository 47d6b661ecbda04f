// Applies one validated change inside the tenant's write transaction: the idempotency check, the
// conflict decision, the new version, its history row (the change feed) and the mutation record
// all commit together, so a retried delivery can never apply twice.
import {
  canonicalJson,
  type ChangeResult,
  type ConflictStrategy,
  type Operation,
} from '@syncline/protocol';
import { accessRefusal, type AccessRefusal } from './access.js';
import type { Actor } from './actor.js';
import type { Collection } from './collections.js';
import type { CommitEvents } from './commit-events.js';
import { detectConflict } from './detect-conflict.js';
import { applyMergePatch } from './json.js';
import type {
  ConflictRecord,
  Crypto,
  EntityRecord,
  JsonObject,
  MutationOutcome,
  MutationRecord,
  TenantTx,
} from './ports.js';
import { resolveConflict, suggestResolution } from './resolve-conflict.js';
import type { ChangeError, IncomingChange } from './validate-change.js';

export interface ApplyContext {
  tx: TenantTx;
  /** Where the versions written are noted, to be announced after COMMIT. */
  events: CommitEvents;
  actor: Actor;
  deviceId: string;
  crypto: Crypto;
  /** Server time of this transaction, ISO. */
  now: string;
  defaultStrategy: ConflictStrategy;
  checkSchema: (collection: Collection, payload: JsonObject) => string[];
  /**
   * The device's mutation mark as the request found it (push only): a change whose `seq` is at or
   * below it and whose mutation record is gone was applied before and its record pruned.
   */
  mutationMark?: number;
}

export interface AppliedChange {
  result: ChangeResult;
  /** The conflict this change raised (or, for a repeat, the one its first delivery raised). */
  conflict?: ConflictRecord;
  /** Set when no mutation record under this key remains: the mark must not pass its `seq`. */
  unrecorded?: true;
}

export async function applyChange(
  ctx: ApplyContext,
  change: IncomingChange,
  collection: Collection,
): Promise<AppliedChange> {
  const { tx } = ctx;
  const previous = await tx.getMutation(ctx.deviceId, change.mutationId);
  if (previous) {
    const clash = keyClash(ctx.actor, change, previous);
    if (clash) return { result: resultOf(change, { status: 'REJECTED', error: clash }) };
    // A FAILED mutation is re-run: the device (or the queue) is retrying it. A PENDING one was
    // stored without being applied (commands/deferred.ts) and runs now.
    if (previous.status !== 'FAILED' && previous.status !== 'PENDING') {
      return replayOutcome(ctx, change, previous);
    }
  } else if (change.seq !== undefined && change.seq <= (ctx.mutationMark ?? 0)) {
    return prunedReplay(ctx, change);
  }

  const current = await tx.getEntity(change.entityType, change.entityId);
  const reject = (error: ChangeError, retryable = false) =>
    rejectChange(ctx, change, previous, error, retryable);

  // Before detection: an entity the actor may not touch must not even raise a conflict (its
  // record would show the server's copy).
  const denied = refuseWrite(ctx, collection, current, null);
  if (denied) return reject(denied, true);

  const detection = detectConflict(change, current, collection);
  switch (detection.kind) {
    case 'missing':
      return reject(
        { code: 'NOT_FOUND', message: `${change.entityType} ${change.entityId} does not exist` },
        true,
      );
    case 'noop': {
      const version = current?.version ?? 0;
      await recordMutation(ctx, change, previous, 'SYNCED', { status: 'DUPLICATE', version });
      return {
        result: resultOf(change, { status: 'DUPLICATE', version, originalStatus: 'APPLIED' }),
      };
    }
    case 'apply': {
      const next = nextState(change, current?.payload ?? null);
      const refusal = refuseWrite(ctx, collection, current, next);
      if (refusal) return reject(refusal, refusal.code === 'ACCESS_DENIED');
      const version = await writeVersion(ctx, change, current, next);
      await recordMutation(ctx, change, previous, 'SYNCED', { status: 'APPLIED', version });
      return { result: resultOf(change, { status: 'APPLIED', version }) };
    }
    case 'conflict':
      return settleConflict(ctx, change, collection, current as EntityRecord, detection, previous);
  }
}

async function settleConflict(
  ctx: ApplyContext,
  change: IncomingChange,
  collection: Collection,
  current: EntityRecord,
  detection: { type: ConflictRecord['type']; fields?: string[] },
  previous: MutationRecord | undefined,
): Promise<AppliedChange> {
  const base = await baseOf(ctx.tx, change, current, detection.type);
  const client = change.operation === 'DELETE' ? null : nextState(change, base ?? current.payload);
  const shared = {
    type: detection.type,
    operation: change.operation,
    base,
    server: current.payload,
    client,
    clientTime: change.timestamp,
    serverTime: current.updatedAt,
  };
  const strategy = change.conflictStrategy ?? collection.conflictStrategy ?? ctx.defaultStrategy;
  let decision = resolveConflict({
    ...shared,
    strategy,
    policies: collection.mergePolicy,
    clientMayWin: !collection.clientWinsAdminOnly || ctx.actor.role === 'admin',
  });
  // A resolution whose result breaks the collection's schema or access rule waits for a person.
  if (decision.action === 'write' && refuseWrite(ctx, collection, current, decision.data)) {
    decision = { action: 'keep', data: null, status: 'PENDING_REVIEW', resolution: null };
  }

  let version = current.version;
  if (decision.action === 'write')
    version = await writeVersion(ctx, change, current, decision.data);

  const conflict: ConflictRecord = {
    id: ctx.crypto.newId(),
    type: detection.type,
    entityType: change.entityType,
    entityId: change.entityId,
    mutationId: change.mutationId,
    deviceId: ctx.deviceId,
    userId: ctx.actor.userId,
    clientVersion: change.clientVersion,
    serverVersion: current.version,
    clientData: client,
    serverData: current.payload,
    baseData: base,
    suggestedResolution: suggestResolution(shared),
    resolution: decision.resolution,
    status: decision.status,
    overlappingFields: decision.overlapping ?? detection.fields ?? null,
    resolvedBy: decision.status === 'RESOLVED' ? 'system' : null,
    resolvedAt: decision.status === 'RESOLVED' ? ctx.now : null,
    createdAt: ctx.now,
  };
  await ctx.tx.insertConflict(conflict);

  const written = decision.action === 'write';
  const outcome: MutationOutcome = {
    status: written ? 'APPLIED' : 'CONFLICT',
    version,
    conflictId: conflict.id,
  };
  await recordMutation(
    ctx,
    change,
    previous,
    written ? 'SYNCED' : 'CONFLICT',
    outcome,
    conflict.id,
  );
  return { result: resultOf(change, outcome), conflict };
}

/** The version the device edited: from history when it is older than the server's. */
async function baseOf(
  tx: TenantTx,
  change: IncomingChange,
  current: EntityRecord,
  type: ConflictRecord['type'],
): Promise<JsonObject | null> {
  if (change.operation === 'CREATE' || type === 'DUPLICATE_CREATE') return null;
  if (change.clientVersion === current.version) return current.payload;
  if (change.clientVersion < 1) return null;
  const edited = await tx.getHistoryVersion(
    change.entityType,
    change.entityId,
    change.clientVersion,
  );
  return edited?.payload ?? null;
}

function nextState(change: IncomingChange, current: JsonObject | null): JsonObject | null {
  if (change.operation === 'DELETE' || !change.payload) return null;
  return change.operation === 'CREATE' ? change.payload : applyMergePatch(current, change.payload);
}

/**
 * Why the actor may not store `state` as the entity's next version (schema, access rule), or
 * undefined. Every write path uses it: a push, an automatic resolution and a person's resolution.
 */
export function refuseWrite(
  ctx: Pick<ApplyContext, 'actor' | 'checkSchema'>,
  collection: Collection,
  current: EntityRecord | undefined,
  state: JsonObject | null,
): ChangeError | undefined {
  if (current) {
    const refusal = accessRefusal(ctx.actor, collection.access, current);
    // The stored copy's field values are not the caller's to learn: only a missing claim is named.
    if (refusal) return denied(collection, refusal.kind === 'no-claim' ? refusal : undefined);
  }
  if (state === null) return undefined;
  const problems = ctx.checkSchema(collection, state);
  if (problems.length > 0)
    return { code: 'SCHEMA_VIOLATION', message: problems.join('; '), details: { problems } };
  const createdBy = current?.createdBy ?? ctx.actor.userId;
  const refusal = accessRefusal(ctx.actor, collection.access, { createdBy, payload: state });
  if (refusal) return denied(collection, refusal);
  return undefined;
}

/** ACCESS_DENIED, saying which rule refused when that tells the caller what to fix. */
function denied(collection: Collection, refusal: AccessRefusal | undefined): ChangeError {
  const what = `this ${collection.name}`;
  if (refusal?.kind === 'no-claim') {
    return {
      code: 'ACCESS_DENIED',
      message: `No access to ${what}: the token has no \`${refusal.claim}\` claim (${refusal.field} must be listed in it)`,
      details: { claim: refusal.claim, field: refusal.field },
    };
  }
  if (refusal?.kind === 'not-listed') {
    return {
      code: 'ACCESS_DENIED',
      message: `No access to ${what}: its ${refusal.field} is not in the token's \`${refusal.claim}\` claim`,
      details: { claim: refusal.claim, field: refusal.field },
    };
  }
  if (refusal?.kind === 'owner') {
    return { code: 'ACCESS_DENIED', message: `No access to ${what}: only its creator and admins` };
  }
  return { code: 'ACCESS_DENIED', message: `No access to ${what}` };
}

/**
 * A mutation key already used by another user, or for another change, is refused: replaying it
 * would disclose or pre-empt someone else's outcome.
 */
function keyClash(
  actor: Actor,
  change: IncomingChange,
  previous: MutationRecord,
): ChangeError | undefined {
  if (previous.userId !== actor.userId) {
    return { code: 'FORBIDDEN', message: 'This mutationId belongs to another user' };
  }
  const sameChange =
    previous.entityType === change.entityType &&
    previous.entityId === change.entityId &&
    previous.operation === change.operation;
  if (!sameChange) {
    return {
      code: 'VALIDATION_FAILED',
      message: 'This mutationId was already used for another change',
    };
  }
  return undefined;
}

/** Stores `data` as the entity's next version (null: a tombstone) and returns that version. */
export async function writeVersion(
  ctx: Pick<ApplyContext, 'tx' | 'events' | 'actor' | 'deviceId' | 'crypto' | 'now'>,
  change: { entityType: string; entityId: string; mutationId: string | null; timestamp: string },
  current: EntityRecord | undefined,
  data: JsonObject | null,
): Promise<number> {
  const version = (current?.version ?? 0) + 1;
  const live = current !== undefined && current.deletedAt === null;
  const operation: Operation = data === null ? 'DELETE' : live ? 'UPDATE' : 'CREATE';
  const checksum = data === null ? null : ctx.crypto.sha256Hex(canonicalJson(data));
  const createdBy = current?.createdBy ?? ctx.actor.userId;
  const deletedAt = data === null ? ctx.now : null;
  // Both rows written out field by field: no intermediate record spread into each (this runs for
  // every change a push applies).
  const seq = await ctx.tx.appendHistory({
    entityType: change.entityType,
    entityId: change.entityId,
    version,
    operation,
    payload: data,
    checksum,
    createdBy,
    updatedBy: ctx.actor.userId,
    deviceId: ctx.deviceId,
    mutationId: change.mutationId,
    updatedAt: change.timestamp,
    deletedAt,
    committedAt: ctx.now,
  });
  // `current` is the version this one replaces (in a push batch, the batch's in-memory copy).
  ctx.events.appended(
    { entityType: change.entityType, entityId: change.entityId, createdBy, payload: data },
    current,
    seq,
  );
  await ctx.tx.putEntity({
    entityType: change.entityType,
    entityId: change.entityId,
    version,
    payload: data,
    checksum,
    createdBy,
    updatedBy: ctx.actor.userId,
    deviceId: ctx.deviceId,
    updatedAt: change.timestamp,
    deletedAt,
    seq,
  });
  return version;
}

async function replayOutcome(
  ctx: ApplyContext,
  change: IncomingChange,
  previous: MutationRecord,
): Promise<AppliedChange> {
  const first = previous.result ?? { status: 'APPLIED' as const };
  const conflict = previous.conflictId ? await ctx.tx.getConflict(previous.conflictId) : undefined;
  const result = resultOf(change, {
    status: 'DUPLICATE',
    originalStatus: first.status,
    ...(first.version !== undefined ? { version: first.version } : {}),
    ...(first.conflictId !== undefined ? { conflictId: first.conflictId } : {}),
  });
  return conflict ? { result, conflict } : { result };
}

/**
 * A repeat whose mutation record was pruned: the device's mark says it reached a stored outcome
 * before, so it is answered as applied (with its version while its history row is kept).
 */
async function prunedReplay(ctx: ApplyContext, change: IncomingChange): Promise<AppliedChange> {
  const written = await ctx.tx.getHistoryByMutation(
    ctx.deviceId,
    change.entityType,
    change.entityId,
    change.mutationId,
  );
  return {
    result: resultOf(change, {
      status: 'DUPLICATE',
      originalStatus: 'APPLIED',
      ...(written ? { version: written.version } : {}),
    }),
  };
}

/**
 * A refused change. Bad input leaves no trace; a refusal that may pass later (the entity does not
 * exist yet, an access claim is missing) is kept as a FAILED mutation that `retryQueue` re-runs.
 */
async function rejectChange(
  ctx: ApplyContext,
  change: IncomingChange,
  previous: MutationRecord | undefined,
  error: ChangeError,
  retryable: boolean,
): Promise<AppliedChange> {
  const outcome: MutationOutcome = { status: 'REJECTED', error };
  // A mutation already on record (queued, or FAILED and re-run) keeps this attempt either way: a
  // queued one must not look pending, and a retry round must see that it was tried.
  if (retryable || previous) {
    await recordMutation(ctx, change, previous, 'FAILED', outcome);
    return { result: resultOf(change, outcome) };
  }
  return { result: resultOf(change, outcome), unrecorded: true };
}

async function recordMutation(
  ctx: ApplyContext,
  change: IncomingChange,
  previous: MutationRecord | undefined,
  status: MutationRecord['status'],
  outcome: MutationOutcome,
  conflictId: string | null = null,
): Promise<void> {
  const error = outcome.error ? { code: outcome.error.code, message: outcome.error.message } : null;
  if (previous) {
    await ctx.tx.updateMutation(ctx.deviceId, change.mutationId, {
      // A re-run may carry the device's newer copy of the same change.
      payload: change.payload,
      clientVersion: change.clientVersion,
      clientTimestamp: change.timestamp,
      conflictStrategy: change.conflictStrategy ?? null,
      status,
      attempts: previous.attempts + 1,
      result: outcome,
      error,
      conflictId,
      updatedAt: ctx.now,
    });
    return;
  }
  await ctx.tx.insertMutation({
    deviceId: ctx.deviceId,
    mutationId: change.mutationId,
    userId: ctx.actor.userId,
    entityType: change.entityType,
    entityId: change.entityId,
    operation: change.operation,
    payload: change.payload,
    clientVersion: change.clientVersion,
    clientTimestamp: change.timestamp,
    status,
    attempts: 1,
    result: outcome,
    error,
    conflictId,
    conflictStrategy: change.conflictStrategy ?? null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  });
}

function resultOf(
  change: IncomingChange,
  outcome: MutationOutcome & { originalStatus?: ChangeResult['status'] },
): ChangeResult {
  return {
    mutationId: change.mutationId,
    entityType: change.entityType,
    entityId: change.entityId,
    ...outcome,
  };
}
