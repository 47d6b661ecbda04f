// Applies a push's changes set-based: one read of all their mutation keys and one of all their
// entities, the per-change decisions in memory (applyChange, unchanged), then the new versions and
// mutation rows in a few multi-row writes. Bounded chunks keep the event loop free: on SQLite the
// database work is synchronous, and a batch of 1,000 would otherwise hold every other request.
import type { ChangeResult } from '@syncline/protocol';
import { applyChange, type ApplyContext } from './apply-push.js';
import { BatchTx } from './batch-tx.js';
import type { ConflictRecord, TenantTx } from './ports.js';
import type { ValidatedChange } from './validate-change.js';
import { yieldToEventLoop } from './yield.js';

export const applyBatchDefaults = {
  /** Changes decided and written per stretch before the event loop gets a turn. */
  chunkSize: 250,
} as const;

export interface AppliedBatch {
  results: ChangeResult[];
  /** The conflicts the batch raised or replayed, by id. */
  conflicts: Map<string, ConflictRecord>;
}

export async function applyBatch(
  ctx: Omit<ApplyContext, 'tx'> & { tx: TenantTx },
  items: readonly ValidatedChange[],
  chunkSize: number = applyBatchDefaults.chunkSize,
): Promise<AppliedBatch> {
  const batch = new BatchTx(ctx.tx, ctx.deviceId);
  const batchCtx: ApplyContext = { ...ctx, tx: batch };
  const results: ChangeResult[] = [];
  const conflicts = new Map<string, ConflictRecord>();
  for (let start = 0; start < items.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    const chunk = items.slice(start, start + chunkSize);
    await batch.prefetch(chunk.flatMap((item) => (item.ok ? [item.change] : [])));
    for (const item of chunk) {
      if (!item.ok) {
        const { mutationId, entityType, entityId, error } = item;
        results.push({ mutationId, entityType, entityId, status: 'REJECTED', error });
        continue;
      }
      const applied = await applyChange(batchCtx, item.change, item.collection);
      results.push(applied.result);
      if (applied.conflict) conflicts.set(applied.conflict.id, applied.conflict);
    }
    await batch.flush();
  }
  return { results, conflicts };
}
