// Re-runs FAILED mutations (a device's or an admin's retry, the retry-failed job), as
// bounded work: at most `maxMutations` re-runs a call, in transactions of `chunkSize`, with the
// event loop and the tenant's lock free between them, so one tenant's retry cannot starve
// another's sync. Calls that share a `startedAt` form a round: a mutation re-run since the round
// began is left for the next round, so `remaining` falls to 0 and `hasMore` ends. Each re-run
// has a savepoint of its own: one that fails unexpectedly fails alone.
import {
  queueRetryMaxMutations,
  type ChangeResult,
  type QueueRetryRequest,
} from '@syncline/protocol';
import type { Actor } from './actor.js';
import { ownerOf, scopeFor } from './authorize.js';
import { applyInSavepoint } from './apply-batch.js';
import type { CommitEvents } from './commit-events.js';
import { isSyncError } from './errors.js';
import type { EngineContext } from './context.js';
import type { MutationFilter, MutationRecord, TenantTx } from './ports.js';
import { yieldToEventLoop } from './yield.js';
import { toIncoming } from './wire.js';

export const retryQueueDefaults = {
  /** Re-runs per call at most (a request's `limit` may ask for fewer). */
  maxMutations: queueRetryMaxMutations,
  /** Re-runs per transaction. */
  chunkSize: 25,
} as const;

export interface RetryQueueRequest extends QueueRetryRequest {
  /** Admins: only this user's mutations. */
  userId?: string;
}

export interface RetryQueueResult {
  /** Distinct mutations re-run by this call. */
  retried: number;
  results: ChangeResult[];
  /** FAILED mutations in scope that this round has not re-run yet. */
  remaining: number;
  hasMore: boolean;
  /** When the round began; pass it back to continue the round. */
  startedAt: string;
}

export async function retryQueue(
  engine: EngineContext,
  actor: Actor,
  request: RetryQueueRequest,
): Promise<RetryQueueResult> {
  const owner = scopeFor(actor, request.userId, "Only admins may retry another user's queue");
  const now = engine.clock.now().toISOString();
  // A round cannot begin in the future: what it re-runs now would count as not yet re-run.
  const continuing =
    request.startedAt !== undefined && Date.parse(request.startedAt) < Date.parse(now);
  const startedAt = continuing ? new Date(request.startedAt as string).toISOString() : now;
  const scope: MutationFilter = {
    statuses: ['FAILED'],
    // Continuing a round: what was re-run since it began waits for the next round.
    ...(continuing ? { updatedBefore: startedAt } : {}),
    ...owner,
    ...(request.deviceId !== undefined ? { deviceId: request.deviceId } : {}),
    ...(request.mutationIds !== undefined ? { mutationIds: request.mutationIds } : {}),
  };
  const { chunkSize } = retryQueueDefaults;
  let budget = Math.min(
    request.limit ?? retryQueueDefaults.maxMutations,
    retryQueueDefaults.maxMutations,
  );
  const tenant = engine.store.forTenant(actor.tenant);
  const results = new Map<string, ChangeResult>();

  while (budget > 0) {
    const spent = await engine.transact(actor.tenant, async (tx, events) => {
      const cap = Math.min(chunkSize, budget);
      // The least recently tried first, so a retry that keeps failing does not hold up the rest;
      // those this call re-ran already (the most recently tried) are skipped.
      const rows = await tx.listMutations({
        ...scope,
        order: 'leastRecentlyUpdated',
        limit: cap + results.size,
      });
      const chunk = rows.filter((m) => !results.has(keyOf(m))).slice(0, cap);
      return rerunChunk(engine, tx, events, actor, chunk, cap, results);
    });
    if (spent === 0) break;
    budget -= spent;
    await yieldToEventLoop();
  }

  // Still FAILED after this call's re-run: those it re-ran that were refused again.
  const refusedAgain = [...results.values()].filter((r) => r.status === 'REJECTED').length;
  const { FAILED: failed } = await tenant.countMutations(scope);
  const remaining = Math.max(0, failed - (continuing ? 0 : refusedAgain));
  await tenant.transact((tx) =>
    tx.insertAudit({
      actor: actor.userId,
      action: 'queue.retry',
      target: request.deviceId ?? null,
      details: { retried: results.size, remaining },
      createdAt: engine.clock.now().toISOString(),
    }),
  );
  return {
    retried: results.size,
    results: [...results.values()],
    remaining,
    hasMore: remaining > 0,
    startedAt,
  };
}

const keyOf = (mutation: MutationRecord) => `${mutation.deviceId}\u0000${mutation.mutationId}`;

/**
 * Re-runs one chunk, and again while a pass makes progress (a device's update may wait on its own
 * create in the same chunk), making at most `cap` re-runs. Answers how many it made.
 */
async function rerunChunk(
  engine: EngineContext,
  tx: TenantTx,
  events: CommitEvents,
  actor: Actor,
  chunk: readonly MutationRecord[],
  cap: number,
  results: Map<string, ChangeResult>,
): Promise<number> {
  const now = engine.clock.now();
  let spent = 0;
  for (let pending = chunk, progress = true; progress && pending.length > 0;) {
    progress = false;
    const failed: MutationRecord[] = [];
    for (const mutation of pending) {
      if (spent === cap) return spent;
      spent++;
      const result = await rerun(engine, tx, events, actor, mutation, now);
      results.set(keyOf(mutation), result);
      if (result.status === 'REJECTED') failed.push(mutation);
      else progress = true;
    }
    pending = failed;
  }
  return spent;
}

async function rerun(
  engine: EngineContext,
  tx: TenantTx,
  events: CommitEvents,
  actor: Actor,
  mutation: MutationRecord,
  now: Date,
): Promise<ChangeResult> {
  let collection;
  try {
    collection = engine.collections.get(mutation.entityType);
  } catch (error) {
    if (!isSyncError(error)) throw error;
    // A type the config no longer names: the attempt is kept, so the round moves past it.
    const { mutationId, entityType, entityId } = mutation;
    const refusal = { code: error.code, message: error.message };
    const result: ChangeResult = {
      mutationId,
      entityType,
      entityId,
      status: 'REJECTED',
      error: refusal,
    };
    await keepAttempt(tx, mutation, result, now);
    return result;
  }
  // In a savepoint of its own: one re-run that fails unexpectedly fails alone, and its attempt is
  // kept (outside the savepoint) so the round moves past it instead of re-running it forever.
  const { applied, failure } = await applyInSavepoint(
    engine.applyContext(tx, events, ownerOf(actor, mutation), mutation.deviceId, now),
    toIncoming(mutation),
    collection,
  );
  if (failure) {
    engine.logError(
      { err: failure.error, deviceId: mutation.deviceId, mutationId: mutation.mutationId },
      'a re-run of a queued mutation failed unexpectedly; it alone was rolled back',
    );
    await keepAttempt(tx, mutation, applied.result, now);
  }
  return applied.result;
}

/** Counts a re-run that left nothing applied on its mutation, with what it answered. */
function keepAttempt(tx: TenantTx, mutation: MutationRecord, result: ChangeResult, now: Date) {
  return tx.updateMutation(mutation.deviceId, mutation.mutationId, {
    attempts: mutation.attempts + 1,
    result: { status: result.status, ...(result.error ? { error: result.error } : {}) },
    ...(result.error ? { error: result.error } : {}),
    updatedAt: now.toISOString(),
  });
}
