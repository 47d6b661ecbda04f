// Admin commands: invalidating the tenant's sync tokens, an entity's history, restoring a version.
import type { HistoryEntry, ServerChange } from '@syncline/protocol';
import type { Actor } from '../actor.js';
import { requireAdmin } from '../authorize.js';
import { writeVersion } from '../apply-push.js';
import type { EngineContext } from '../context.js';
import { SyncError } from '../errors.js';
import { toServerChange } from '../pull.js';

export async function invalidateCache(
  engine: EngineContext,
  actor: Actor,
  request: { deviceId?: string },
): Promise<{ epoch: number }> {
  requireAdmin(actor);
  const at = engine.clock.now();
  const now = at.toISOString();
  return engine.transact(actor.tenant, async (tx, events) => {
    // Each invalidation makes every device of the tenant pull its whole feed again: one per
    // cooldown, whoever asks, so that repeating it cannot multiply that work.
    const [last] = await tx.listAudit({ action: 'cache.invalidate', limit: 1 });
    const waitMs = last
      ? Date.parse(last.createdAt) + engine.limits.invalidateCooldownMs - at.getTime()
      : 0;
    if (waitMs > 0) {
      const retryAfterSeconds = Math.ceil(waitMs / 1000);
      throw new SyncError(
        'RATE_LIMITED',
        `The tenant's sync tokens were invalidated at ${last?.createdAt}; retry in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
    const epoch = await tx.bumpEpoch();
    events.epochBumped();
    await tx.insertAudit({
      actor: actor.userId,
      action: 'cache.invalidate',
      target: request.deviceId ?? null,
      details: { epoch },
      createdAt: now,
    });
    return { epoch };
  });
}

export async function entityHistory(
  engine: EngineContext,
  actor: Actor,
  entityType: string,
  entityId: string,
): Promise<HistoryEntry[]> {
  requireAdmin(actor);
  const rows = await engine.store.forTenant(actor.tenant).listHistory(entityType, entityId);
  if (rows.length === 0) throw new SyncError('NOT_FOUND', `${entityType} ${entityId} not found`);
  return [...rows]
    .sort((a, b) => a.version - b.version)
    .map((row) => ({
      version: row.version,
      operation: row.operation,
      payload: row.payload,
      checksum: row.checksum,
      updatedBy: row.updatedBy,
      deviceId: row.deviceId,
      mutationId: row.mutationId,
      timestamp: row.updatedAt,
      deletedAt: row.deletedAt,
      seq: row.seq,
    }));
}

export async function restore(
  engine: EngineContext,
  actor: Actor,
  entityType: string,
  entityId: string,
  version: number,
): Promise<ServerChange> {
  requireAdmin(actor);
  const now = engine.clock.now().toISOString();
  return engine.transact(actor.tenant, async (tx, events) => {
    const [old, current] = await Promise.all([
      tx.getHistoryVersion(entityType, entityId, version),
      tx.getEntity(entityType, entityId),
    ]);
    if (!old || !current)
      throw new SyncError('NOT_FOUND', `${entityType} ${entityId} v${version} not found`);
    const ctx = { tx, events, actor, deviceId: 'server', crypto: engine.crypto, now };
    const newVersion = await writeVersion(
      ctx,
      { entityType, entityId, mutationId: null, timestamp: now },
      current,
      old.payload,
    );
    await tx.insertAudit({
      actor: actor.userId,
      action: 'entity.restore',
      target: `${entityType}/${entityId}`,
      details: { restoredVersion: version, newVersion },
      createdAt: now,
    });
    const written = await tx.getHistoryVersion(entityType, entityId, newVersion);
    if (!written) throw new Error('restore: the written version is missing');
    return toServerChange(written);
  });
}
