// Queue statistics: the caller's (or, for admins, a user's or device's) mutations by status.
import type { Actor } from '../actor.js';
import { scopeFor } from '../authorize.js';
import type { EngineContext } from '../context.js';
import type { QueueStats } from '../engine-api.js';
import { queueStatsOf } from '../wire.js';

export async function queueStats(
  engine: EngineContext,
  actor: Actor,
  filter: { userId?: string; deviceId?: string } = {},
): Promise<QueueStats> {
  const tenant = engine.store.forTenant(actor.tenant);
  const scope = {
    ...scopeFor(actor, filter.userId || undefined, "Only admins may read another user's queue"),
    ...(filter.deviceId ? { deviceId: filter.deviceId } : {}),
  };
  const [byStatus, pending] = await Promise.all([
    tenant.countMutations(scope),
    tenant.listConflicts({
      ...(scope.userId ? { userId: scope.userId } : {}),
      status: 'PENDING_REVIEW',
      limit: 1000,
    }),
  ]);
  return queueStatsOf(byStatus, pending.length);
}
