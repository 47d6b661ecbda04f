// Applies a push's changes set-based: one read of all their mutation keys and one of all their
// entities, the per-change decisions in memory (applyChange, unchanged), then the new versions and
// mutation rows in a few multi-row writes. Bounded chunks keep the event loop free: on SQLite the
// database work is synchronous, and a batch of 1,000 would otherwise hold every other request.
// The store sets the chunk size: on PostgreSQL a whole batch, whose writes wait on the network
// rather than hold the loop; the decisions yield every `decisionsPerTurn` changes either way.
//
// One change failing unexpectedly fails alone. Its in-memory work is discarded when nothing of it
// reached the database; otherwise (or when a chunk's writes fail) the chunk's savepoint rolls the
// chunk back and its changes go again one at a time, each in a savepoint of its own.
import { errorCodes, type ChangeResult } from '@syncline/protocol';
import { applyChange, type ApplyContext, type AppliedChange } from './apply-push.js';
import { BatchTx } from './batch-tx.js';
import type { Collection } from './collections.js';
import { createMarkTracker } from './mutation-mark.js';
import type { ConflictRecord } from './ports.js';
import type { IncomingChange, ValidatedChange } from './validate-change.js';
import { yieldToEventLoop } from './yield.js';

export const applyBatchDefaults = {
  /** Changes decided and written per chunk (one savepoint, one flush) unless told otherwise. */
  chunkSize: 250,
  /** Changes decided before the event loop gets a turn, within a chunk too. */
  decisionsPerTurn: 250,
} as const;

export interface AppliedBatch {
  results: ChangeResult[];
  /** The conflicts the batch raised or replayed, by id. */
  conflicts: Map<string, ConflictRecord>;
  /** The highest outbox seq the device's mutation mark may rise to (0: none). */
  markSeq: number;
}

export interface ApplyBatchOptions {
  /** The device's outbox seq of each item (undefined where the client did not number it). */
  seqs: ReadonlyArray<number | undefined>;
  /** Told of each change that failed unexpectedly (an outage or a bug the operator must see). */
  onChangeFailed(error: unknown, change: IncomingChange): void;
  chunkSize?: number;
  /** The tenant's feed position as the caller read it in this transaction (not read again). */
  feedSeq?: number;
}

type Item = { ok: true; change: IncomingChange; collection: Collection };
interface Outcome {
  applied: AppliedChange;
  seq: number | undefined;
  /** Why it failed unexpectedly, told to `onChangeFailed` once its chunk has settled. */
  failure?: { error: unknown; change: IncomingChange };
}

export async function applyBatch(
  ctx: ApplyContext,
  items: readonly ValidatedChange[],
  options: ApplyBatchOptions,
): Promise<AppliedBatch> {
  const chunkSize = options.chunkSize ?? applyBatchDefaults.chunkSize;
  const results: ChangeResult[] = [];
  const conflicts = new Map<string, ConflictRecord>();
  const marks = createMarkTracker();
  let batch = new BatchTx(ctx.tx, ctx.deviceId, options.feedSeq);

  for (let start = 0; start < items.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    const chunk = items.slice(start, start + chunkSize);
    const seqs = options.seqs.slice(start, start + chunkSize);
    let outcomes: Outcome[];
    try {
      outcomes = await ctx.events.savepoint(ctx.tx, () =>
        decideChunk({ ...ctx, tx: batch }, batch, chunk, seqs),
      );
    } catch {
      // Something failed after reaching the database: the savepoint undid the whole chunk, and
      // the in-memory copy no longer matches it. One change at a time finds the one that fails.
      batch = new BatchTx(ctx.tx, ctx.deviceId);
      outcomes = [];
      for (const [i, item] of chunk.entries()) {
        outcomes.push(
          item.ok
            ? await applyAlone(ctx, item, seqs[i])
            : { applied: { result: refused(item), unrecorded: true }, seq: seqs[i] },
        );
      }
    }
    for (const { applied, seq, failure } of outcomes) {
      if (failure) options.onChangeFailed(failure.error, failure.change);
      results.push(applied.result);
      marks.note(seq, applied.unrecorded !== true);
      if (applied.conflict) conflicts.set(applied.conflict.id, applied.conflict);
    }
  }
  return { results, conflicts, markSeq: marks.highest() };
}

/** A chunk's decisions against the batch's in-memory copy, then its writes. */
async function decideChunk(
  ctx: ApplyContext,
  batch: BatchTx,
  chunk: readonly ValidatedChange[],
  seqs: ReadonlyArray<number | undefined>,
): Promise<Outcome[]> {
  await batch.prefetch(chunk.flatMap((item) => (item.ok ? [item.change] : [])));
  const outcomes: Outcome[] = [];
  for (const [i, item] of chunk.entries()) {
    if (i > 0 && i % applyBatchDefaults.decisionsPerTurn === 0) await yieldToEventLoop();
    const seq = seqs[i];
    if (!item.ok) {
      outcomes.push({ applied: { result: refused(item), unrecorded: true }, seq });
      continue;
    }
    const mark = batch.mark();
    const forgetEvents = ctx.events.checkpoint();
    try {
      outcomes.push({ applied: await applyChange(ctx, item.change, item.collection), seq });
    } catch (error) {
      // Nothing of it reached the database: forgetting its buffered writes (and their events)
      // undoes it.
      if (!batch.rollbackTo(mark)) throw error;
      forgetEvents();
      outcomes.push({ applied: failed(item.change), seq, failure: { error, change: item.change } });
    }
  }
  await batch.flush();
  return outcomes;
}

/** One change in its own savepoint, written as soon as it is decided. */
async function applyAlone(
  ctx: ApplyContext,
  item: Item,
  seq: number | undefined,
): Promise<Outcome> {
  return { ...(await applyInSavepoint(ctx, item.change, item.collection)), seq };
}

/**
 * Applies one change in a savepoint of its own: an unexpected error rolls back that change only,
 * which answers CHANGE_FAILED (and is returned as `failure`) while its transaction goes on.
 */
export async function applyInSavepoint(
  ctx: ApplyContext,
  change: IncomingChange,
  collection: Collection,
): Promise<{ applied: AppliedChange; failure?: { error: unknown; change: IncomingChange } }> {
  try {
    const applied = await ctx.events.savepoint(ctx.tx, async () => {
      const alone = new BatchTx(ctx.tx, ctx.deviceId);
      const outcome = await applyChange({ ...ctx, tx: alone }, change, collection);
      await alone.flush();
      return outcome;
    });
    return { applied };
  } catch (error) {
    return { applied: failed(change), failure: { error, change } };
  }
}

function refused(item: Extract<ValidatedChange, { ok: false }>): ChangeResult {
  const { mutationId, entityType, entityId, error } = item;
  return { mutationId, entityType, entityId, status: 'REJECTED', error };
}

/** A change that failed unexpectedly and was rolled back: the device sends it again later. */
function failed(change: IncomingChange): AppliedChange {
  const { mutationId, entityType, entityId } = change;
  return {
    result: {
      mutationId,
      entityType,
      entityId,
      status: 'REJECTED',
      error: { code: 'CHANGE_FAILED', message: errorCodes.CHANGE_FAILED.message },
    },
    unrecorded: true,
  };
}
