// Pulls: a page of the feed (delta) or of the current entities (snapshot), read without the
// tenant's write lock; the device's sync time, token and history row are written later.
import { limitsDefaults, type DeltaRequest, type SnapshotRequest } from '@syncline/protocol';
import type { Actor } from '../actor.js';
import { assertDeviceUsable } from '../authorize.js';
import type { EngineContext } from '../context.js';
import type { DeltaPage, RequestMeta } from '../engine-api.js';
import type { SyncHistoryRecord, TenantReads } from '../ports.js';
import { pullPage } from '../pull.js';
import { snapshotPage, type SnapshotPage } from '../snapshot.js';
import { touchDevice } from './devices.js';

export async function delta(
  engine: EngineContext,
  actor: Actor,
  request: DeltaRequest,
  meta: RequestMeta = {},
): Promise<DeltaPage> {
  const started = engine.clock.now();
  const pageSize = Math.min(
    request.pageSize ?? engine.limits.defaultPageSize,
    engine.limits.maxPageSize,
  );
  const page = await readAsDevice(engine, actor, request.deviceId, meta.schemaVersions, (reads) =>
    pullPage(reads, actor, engine.collections, engine.crypto, request, pageSize),
  );
  notePull(engine, actor, request.deviceId, started.toISOString(), page.token, {
    route: meta.route ?? 'POST /api/sync/delta',
    pulled: page.changes.length,
    durationMs: engine.clock.now().getTime() - started.getTime(),
    networkType: meta.networkType ?? null,
  });
  return {
    changes: page.changes,
    nextPageToken: page.hasMore ? page.token : null,
    hasMore: page.hasMore,
    syncToken: page.token,
    ...(page.reset ? { reset: true } : {}),
  };
}

export async function snapshot(
  engine: EngineContext,
  actor: Actor,
  request: SnapshotRequest,
  meta: RequestMeta = {},
): Promise<SnapshotPage> {
  const started = engine.clock.now();
  const pageSize = Math.min(
    request.pageSize ?? limitsDefaults.defaultSnapshotPageSize,
    limitsDefaults.maxSnapshotPageSize,
  );
  const page = await readAsDevice(engine, actor, request.deviceId, meta.schemaVersions, (reads) =>
    snapshotPage(reads, actor, engine.collections, engine.crypto, request, pageSize),
  );
  // The device's sync token moves only when the snapshot is complete.
  notePull(
    engine,
    actor,
    request.deviceId,
    started.toISOString(),
    page.hasMore ? undefined : page.syncToken,
    {
      route: meta.route ?? 'POST /api/sync/snapshot',
      pulled: page.changes.length,
      durationMs: engine.clock.now().getTime() - started.getTime(),
      networkType: meta.networkType ?? null,
    },
  );
  return page;
}

/**
 * Runs a pull's reads for a device without the tenant's write lock: the device checks are a
 * read of the committed device row, so a revoked device is refused on its very next request.
 * Only an unknown device, or one whose schema versions changed, is written first (touchDevice).
 */
async function readAsDevice<T>(
  engine: EngineContext,
  actor: Actor,
  deviceId: string,
  schemaVersions: string | null | undefined,
  fn: (reads: TenantReads) => Promise<T>,
): Promise<T> {
  const tenant = engine.store.forTenant(actor.tenant);
  for (let attempt = 0; ; attempt++) {
    const outcome = await tenant.read(async (reads) => {
      const device = await reads.getDevice(deviceId);
      assertDeviceUsable(actor, deviceId, device);
      const known =
        device !== undefined && (schemaVersions ?? device.schemaVersions) === device.schemaVersions;
      // A second pass reads on even if another request changed the device meanwhile.
      if (!known && attempt === 0) return { read: false } as const;
      return { read: true, value: await fn(reads) } as const;
    });
    if (outcome.read) return outcome.value;
    await tenant.transact((tx) =>
      touchDevice(tx, actor, deviceId, engine.clock.now().toISOString(), undefined, schemaVersions),
    );
  }
}

/** A pull's device time, sync token and history row, written later (sync-notes.ts). */
function notePull(
  engine: EngineContext,
  actor: Actor,
  deviceId: string,
  now: string,
  syncToken: string | undefined,
  history: Pick<SyncHistoryRecord, 'route' | 'pulled' | 'durationMs' | 'networkType'>,
): void {
  engine.syncNotes.note(actor.tenant, {
    userId: actor.userId,
    deviceId,
    lastSyncAt: now,
    ...(syncToken !== undefined ? { syncToken } : {}),
    history: {
      userId: actor.userId,
      deviceId,
      pushed: 0,
      applied: 0,
      duplicates: 0,
      conflicts: 0,
      rejected: 0,
      outcome: 'ok',
      createdAt: now,
      ...history,
    },
  });
}
