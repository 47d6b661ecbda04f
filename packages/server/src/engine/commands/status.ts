// Status: the caller's devices, pending conflicts, queue counts and current sync token.
import type { Actor } from '../actor.js';
import { ownScope } from '../authorize.js';
import type { EngineContext } from '../context.js';
import type { SyncStatus } from '../engine-api.js';
import { encodeCursor, viewScope } from '../sync-token.js';
import { toWireDevice } from '../wire.js';

export async function status(engine: EngineContext, actor: Actor): Promise<SyncStatus> {
  await engine.syncNotes.flush(actor.tenant);
  const tenant = engine.store.forTenant(actor.tenant);
  const [state, devices, conflicts, queue] = await Promise.all([
    tenant.getTenantState(),
    tenant.listDevices(ownScope(actor)),
    tenant.listConflicts({ ...ownScope(actor), status: 'PENDING_REVIEW', limit: 1000 }),
    tenant.countMutations(ownScope(actor)),
  ]);
  const lastSyncAt = devices
    .map((d) => d.lastSyncAt)
    .filter((t): t is string => t !== null)
    .sort()
    .at(-1);
  return {
    userId: actor.userId,
    serverTime: engine.clock.now().toISOString(),
    syncToken: encodeCursor({
      ...state,
      scope: viewScope(actor, engine.collections, undefined, engine.crypto),
    }),
    devices: devices.map(toWireDevice),
    pendingConflicts: conflicts.length,
    queue,
    lastSyncAt: lastSyncAt ?? null,
  };
}
