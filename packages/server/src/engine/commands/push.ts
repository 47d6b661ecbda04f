// Push: a device's changes applied as one batch and the feed read after them, in one tenant
// transaction, so the answer is sent only after COMMIT.
import type { ChangeResult, PushRequest } from '@syncline/protocol';
import type { Actor } from '../actor.js';
import { applyBatch } from '../apply-batch.js';
import type { EngineContext } from '../context.js';
import type { PushPage, RequestMeta } from '../engine-api.js';
import type { FeedEntryDetail } from '../ports.js';
import { pullPage, type HeldRows } from '../pull.js';
import { validateChange } from '../validate-change.js';
import { toWireConflict } from '../wire.js';
import { touchedDevice, usableDevice } from './devices.js';

export async function push(
  engine: EngineContext,
  actor: Actor,
  request: PushRequest,
  meta: RequestMeta = {},
): Promise<PushPage> {
  const started = engine.clock.now();
  const validation = engine.validationContext(request.deviceId, started);
  const validated = request.changes.map((change) => validateChange(change, validation));

  return engine.transact(actor.tenant, async (tx, events) => {
    const now = engine.clock.now();
    // Checked first, written once at the end with the sync token the answer carries.
    const device = await usableDevice(tx, actor, request.deviceId);
    const numbered = request.changes.some((change) => change.seq !== undefined);
    const mark = numbered ? await tx.getMutationMark(request.deviceId) : 0;
    const ctx = {
      ...engine.applyContext(tx, events, actor, request.deviceId, now),
      mutationMark: mark,
    };
    // Where the feed stood before this batch: the versions it writes follow this position.
    const feedBefore = validated.length > 0 ? (await tx.getTenantState()).seq : 0;
    const { results, conflicts, markSeq } = await applyBatch(ctx, validated, {
      seqs: request.changes.map((change) => change.seq),
      feedSeq: feedBefore,
      ...(engine.store.pushChunkSize !== undefined
        ? { chunkSize: engine.store.pushChunkSize }
        : {}),
      onChangeFailed: (err, change) =>
        engine.logError(
          { err, deviceId: request.deviceId, mutationId: change.mutationId },
          'a change failed and was rolled back; the rest of its batch goes on',
        ),
    });
    if (markSeq > mark) await tx.raiseMutationMark(request.deviceId, markSeq, now.toISOString());

    const page = await pullPage(
      tx,
      actor,
      engine.collections,
      engine.crypto,
      { entityTypes: request.entityTypes, syncToken: request.syncToken },
      engine.limits.defaultPageSize,
      request.omitOwnChanges === true
        ? appliedAsSent(request.deviceId, results, feedBefore)
        : undefined,
    );
    await tx.upsertDevice({
      ...touchedDevice(
        actor,
        request.deviceId,
        device,
        now.toISOString(),
        request.deviceName,
        meta.schemaVersions,
      ),
      syncToken: page.token,
    });
    const counts = countResults(results);
    await tx.insertSyncHistory({
      userId: actor.userId,
      deviceId: request.deviceId,
      route: meta.route ?? 'POST /api/sync',
      pushed: request.changes.length,
      ...counts,
      pulled: page.changes.length,
      durationMs: engine.clock.now().getTime() - started.getTime(),
      outcome: counts.rejected > 0 ? 'partial' : 'ok',
      networkType: meta.networkType ?? null,
      createdAt: now.toISOString(),
    });
    const response: PushPage = {
      syncToken: page.token,
      changes: page.changes,
      hasMore: page.hasMore,
      results,
      conflicts: [...conflicts.values()].map(toWireConflict),
      serverTime: now.toISOString(),
    };
    if (page.reset) response.reset = true;
    return response;
  });
}

/**
 * The feed rows a push's response need not carry: versions this very push wrote from the device's
 * own change as sent (APPLIED with no conflict), which the device already holds and confirms from
 * `results`. A version the server wrote on its behalf (a merge, a conflict settled by rule) is
 * still sent, as is everything other devices wrote.
 */
function appliedAsSent(
  deviceId: string,
  results: readonly ChangeResult[],
  feedBefore: number,
): HeldRows | undefined {
  const held = new Set<string>();
  const entityTypes = new Set<string>();
  for (const r of results) {
    if (r.status === 'APPLIED' && r.conflictId === undefined && r.version !== undefined) {
      held.add(versionKey(r.entityType, r.entityId, r.version));
      entityTypes.add(r.entityType);
    }
  }
  if (held.size === 0) return undefined;
  return {
    has: (row: FeedEntryDetail) =>
      row.deviceId === deviceId && held.has(versionKey(row.entityType, row.entityId, row.version)),
    after: feedBefore,
    count: held.size,
    entityTypes,
  };
}
const versionKey = (entityType: string, entityId: string, version: number): string =>
  `${entityType}\u0000${entityId}\u0000${version}`;

function countResults(results: readonly ChangeResult[]) {
  const count = (status: ChangeResult['status']) =>
    results.filter((r) => r.status === status).length;
  return {
    applied: count('APPLIED'),
    duplicates: count('DUPLICATE'),
    conflicts:
      count('CONFLICT') + results.filter((r) => r.status === 'APPLIED' && r.conflictId).length,
    rejected: count('REJECTED'),
  };
}
