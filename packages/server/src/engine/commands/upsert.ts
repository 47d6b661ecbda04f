// Upsert: each change is a device's full copy of one entity, sent with the version it was made on
// and with its own idempotency key. The engine creates the entity when it holds no copy and
// otherwise updates it through the usual conflict checks; a resend under the same key is a
// duplicate, never a second write. Changes are applied in chunks, one transaction each and every
// change in a savepoint of its own (one unexpected error fails that change only); one audit row
// covers the request.
import type { Change, ChangeResult, Conflict, ConflictStrategy } from '@syncline/protocol';
import type { Actor } from '../actor.js';
import { applyInSavepoint } from '../apply-batch.js';
import type { CommitEvents } from '../commit-events.js';
import type { EngineContext } from '../context.js';
import type { RequestMeta } from '../engine-api.js';
import { isSyncError } from '../errors.js';
import type { JsonObject, TenantTx } from '../ports.js';
import { validateChange, type ChangeError } from '../validate-change.js';
import { yieldToEventLoop } from '../yield.js';
import { touchDevice } from './devices.js';
import { toWireConflict } from '../wire.js';

export const upsertDefaults = {
  /** Changes per transaction. */
  chunkSize: 50,
  auditAction: 'entities.upsert',
  route: 'upsert',
} as const;

export interface UpsertChange {
  deviceId: string;
  /** The change's idempotency key on its device: the same key again is a duplicate. */
  mutationId: string;
  entityType: string;
  entityId: string;
  /** The device's full copy; on an existing entity it is applied as a merge patch. */
  payload: JsonObject;
  /** The version the device's copy was made on (1 for an entity the server has not seen). */
  version: number;
  /** The device's edit time, ISO. */
  timestamp: string;
  conflictStrategy?: ConflictStrategy;
}

export interface UpsertRequest {
  changes: UpsertChange[];
  /** Changes per transaction (default 50). */
  chunkSize?: number;
  /** The action of the one audit row written for the request. */
  auditAction?: string;
}

export interface UpsertOutcome {
  /** CREATE when the server had no copy, else UPDATE; for a duplicate, what the first delivery was. */
  operation: 'CREATE' | 'UPDATE';
  result: ChangeResult;
  /** The conflict the change raised (for a duplicate, the one its first delivery raised). */
  conflict?: Conflict;
}

export interface UpsertResult {
  outcomes: UpsertOutcome[];
  serverTime: string;
}

export async function upsert(
  engine: EngineContext,
  actor: Actor,
  request: UpsertRequest,
  meta: RequestMeta = {},
): Promise<UpsertResult> {
  const started = engine.clock.now();
  const chunkSize = Math.max(1, Math.floor(request.chunkSize ?? upsertDefaults.chunkSize));
  const tenant = engine.store.forTenant(actor.tenant);
  const outcomes: UpsertOutcome[] = [];
  for (let i = 0; i < request.changes.length; i += chunkSize) {
    // Between chunks other requests (of this tenant and of others) get their turn.
    if (i > 0) await yieldToEventLoop();
    const chunk = request.changes.slice(i, i + chunkSize);
    outcomes.push(
      ...(await engine.transact(actor.tenant, (tx, events) =>
        applyChunk(engine, tx, events, actor, chunk),
      )),
    );
  }

  const now = engine.clock.now().toISOString();
  const count = (status: ChangeResult['status']) =>
    outcomes.filter((o) => o.result.status === status).length;
  const counts = {
    applied: count('APPLIED'),
    duplicates: count('DUPLICATE'),
    conflicts: outcomes.filter((o) => o.conflict).length,
    rejected: count('REJECTED'),
  };
  const durationMs = Date.now() - started.getTime();
  await tenant.transact(async (tx) => {
    await tx.insertSyncHistory({
      userId: actor.userId,
      deviceId: singleDevice(request.changes),
      route: meta.route ?? upsertDefaults.route,
      pushed: request.changes.length,
      ...counts,
      pulled: 0,
      durationMs,
      outcome: counts.rejected > 0 ? 'partial' : 'ok',
      networkType: meta.networkType ?? null,
      createdAt: now,
    });
    await tx.insertAudit({
      actor: actor.userId,
      action: request.auditAction ?? upsertDefaults.auditAction,
      target: null,
      details: { records: request.changes.length, ...counts, durationMs },
      createdAt: now,
    });
  });
  return { outcomes, serverTime: now };
}

async function applyChunk(
  engine: EngineContext,
  tx: TenantTx,
  events: CommitEvents,
  actor: Actor,
  chunk: readonly UpsertChange[],
): Promise<UpsertOutcome[]> {
  const now = engine.clock.now();
  const deviceRefusals = new Map<string, ChangeError | null>();
  const outcomes: UpsertOutcome[] = [];
  for (const upserted of chunk) {
    const { mutationId, entityType, entityId, deviceId } = upserted;
    let refusal = deviceRefusals.get(deviceId);
    if (refusal === undefined) {
      refusal = await deviceRefusal(engine, tx, actor, deviceId, now.toISOString());
      deviceRefusals.set(deviceId, refusal);
    }
    // Create or update is settled here, inside the transaction; a repeat keeps its first answer.
    const previous = await tx.getMutation(deviceId, mutationId);
    const current = previous ? undefined : await tx.getEntity(entityType, entityId);
    const operation: UpsertOutcome['operation'] =
      previous?.operation === 'CREATE' || (!previous && !current) ? 'CREATE' : 'UPDATE';
    const rejected = (error: ChangeError): UpsertOutcome => ({
      operation,
      result: { mutationId, entityType, entityId, status: 'REJECTED', error },
    });
    if (refusal) {
      outcomes.push(rejected(refusal));
      continue;
    }
    const change: Change = {
      mutationId,
      entityType,
      entityId,
      operation,
      payload: upserted.payload,
      clientVersion: operation === 'CREATE' ? 1 : upserted.version,
      timestamp: upserted.timestamp,
      ...(upserted.conflictStrategy ? { conflictStrategy: upserted.conflictStrategy } : {}),
    };
    const validated = validateChange(change, engine.validationContext(deviceId, now));
    if (!validated.ok) {
      outcomes.push(rejected(validated.error));
      continue;
    }
    const { applied, failure } = await applyInSavepoint(
      engine.applyContext(tx, events, actor, deviceId, now),
      validated.change,
      validated.collection,
    );
    if (failure) {
      engine.logError(
        { err: failure.error, deviceId, mutationId },
        'a change failed and was rolled back; the rest of its request goes on',
      );
    }
    outcomes.push({
      operation,
      result: applied.result,
      ...(applied.conflict ? { conflict: toWireConflict(applied.conflict) } : {}),
    });
  }
  return outcomes;
}

/** Why the actor may not sync from this device (revoked, another user's), or null. */
async function deviceRefusal(
  engine: EngineContext,
  tx: TenantTx,
  actor: Actor,
  deviceId: string,
  now: string,
): Promise<ChangeError | null> {
  try {
    await touchDevice(tx, actor, deviceId, now);
    return null;
  } catch (error) {
    if (isSyncError(error)) return { code: error.code, message: error.message };
    throw error;
  }
}

function singleDevice(changes: readonly UpsertChange[]): string | null {
  const devices = new Set(changes.map((c) => c.deviceId));
  return devices.size === 1 ? [...devices][0]! : null;
}
