// Record sync (seed 000): each record is a device's full copy of one entity, sent with the version
// it was made on. The engine creates the entity when the server has none and otherwise updates it
// through the usual conflict checks; a resend of the same copy is a duplicate, never a second
// write. Records are applied in chunks, one transaction each; one audit row covers the request.
import {
  canonicalJson,
  type Change,
  type ChangeResult,
  type Conflict,
  type ConflictStrategy,
} from '@syncline/protocol';
import type { Actor } from './actor.js';
import { applyChange } from './apply-push.js';
import type { RequestMeta } from './engine-api.js';
import { isSyncError } from './errors.js';
import type { EngineContext } from './context.js';
import type { Crypto, JsonObject, TenantTx } from './ports.js';
import { validateChange, type ChangeError } from './validate-change.js';
import { yieldToEventLoop } from './yield.js';

export const recordSyncDefaults = {
  /** Records per transaction: seed 000 processes its batches in chunks of 50. */
  chunkSize: 50,
  auditAction: 'records.sync',
} as const;

export interface SyncRecord {
  deviceId: string;
  entityType: string;
  entityId: string;
  /** The device's full copy; on an existing entity it is applied as a merge patch. */
  payload: JsonObject;
  /** The version the device's copy was made on (1 for a record the server has not seen). */
  version: number;
  /** The device's edit time, ISO. */
  timestamp: string;
  conflictStrategy?: ConflictStrategy;
}

export interface SyncRecordsRequest {
  records: SyncRecord[];
  /** Records per transaction (default 50). */
  chunkSize?: number;
  /** The action of the one audit row written for the request. */
  auditAction?: string;
}

export interface RecordOutcome {
  /** CREATE when the server had no copy, else UPDATE; for a duplicate, what the first delivery was. */
  operation: 'CREATE' | 'UPDATE';
  result: ChangeResult;
  /** The conflict the record raised (for a duplicate, the one its first delivery raised). */
  conflict?: Conflict;
}

export interface SyncRecordsResult {
  outcomes: RecordOutcome[];
  serverTime: string;
}

/**
 * The idempotency key of one record: the same copy of the same record, sent again, is the same
 * mutation. The payload and strategy are part of it, so an edited copy or a retry that asks for
 * another strategy is a new change rather than a replay of the first. Times are compared as
 * instants ("…08:00:00Z" and "…08:00:00.000Z" are one), both the edit time and the payload's
 * `timeFields`; the payload is stored as the device spelled it.
 */
export function recordMutationId(
  crypto: Crypto,
  record: SyncRecord,
  timeFields: readonly string[] = [],
): string {
  const payload = { ...record.payload };
  for (const field of timeFields) {
    const value = payload[field];
    if (typeof value === 'string') payload[field] = instant(value);
  }
  const identity = [
    record.deviceId,
    record.entityType,
    record.entityId,
    record.version,
    instant(record.timestamp),
    record.conflictStrategy ?? null,
    payload,
  ];
  return `r-${crypto.sha256Hex(canonicalJson(identity)).slice(0, 40)}`;
}

/** One spelling of a time (toISOString's); text that is not a time stays as it is. */
function instant(text: string): string {
  const time = Date.parse(text);
  return Number.isFinite(time) ? new Date(time).toISOString() : text;
}

/** The payload fields a collection declares as times (its time detector's and notInFuture). */
function timeFieldsOf(engine: EngineContext, entityType: string): string[] {
  try {
    const collection = engine.collections.get(entityType);
    return [...new Set([...(collection.timeDetector?.fields ?? []), ...collection.notInFuture])];
  } catch {
    return []; // an unknown type is refused by validation, below
  }
}

export async function syncRecords(
  engine: EngineContext,
  actor: Actor,
  request: SyncRecordsRequest,
  meta: RequestMeta = {},
): Promise<SyncRecordsResult> {
  const started = engine.clock.now();
  const chunkSize = Math.max(1, Math.floor(request.chunkSize ?? recordSyncDefaults.chunkSize));
  const tenant = engine.store.forTenant(actor.tenant);
  const outcomes: RecordOutcome[] = [];
  for (let i = 0; i < request.records.length; i += chunkSize) {
    // Between chunks other requests (of this tenant and of others) get their turn.
    if (i > 0) await yieldToEventLoop();
    const chunk = request.records.slice(i, i + chunkSize);
    outcomes.push(...(await tenant.transact((tx) => applyChunk(engine, tx, actor, chunk))));
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
      deviceId: singleDevice(request.records),
      route: meta.route ?? 'records',
      pushed: request.records.length,
      ...counts,
      pulled: 0,
      durationMs,
      outcome: counts.rejected > 0 ? 'partial' : 'ok',
      networkType: meta.networkType ?? null,
      createdAt: now,
    });
    await tx.insertAudit({
      actor: actor.userId,
      action: request.auditAction ?? recordSyncDefaults.auditAction,
      target: null,
      details: { records: request.records.length, ...counts, durationMs },
      createdAt: now,
    });
  });
  return { outcomes, serverTime: now };
}

async function applyChunk(
  engine: EngineContext,
  tx: TenantTx,
  actor: Actor,
  chunk: readonly SyncRecord[],
): Promise<RecordOutcome[]> {
  const now = engine.clock.now();
  const deviceRefusals = new Map<string, ChangeError | null>();
  const outcomes: RecordOutcome[] = [];
  for (const record of chunk) {
    const { entityType, entityId, deviceId } = record;
    const mutationId = recordMutationId(engine.crypto, record, timeFieldsOf(engine, entityType));
    let refusal = deviceRefusals.get(deviceId);
    if (refusal === undefined) {
      refusal = await deviceRefusal(engine, tx, actor, deviceId, now.toISOString());
      deviceRefusals.set(deviceId, refusal);
    }
    // Create or update is settled here, inside the transaction; a repeat keeps its first answer.
    const previous = await tx.getMutation(deviceId, mutationId);
    const current = previous ? undefined : await tx.getEntity(entityType, entityId);
    const operation: RecordOutcome['operation'] =
      previous?.operation === 'CREATE' || (!previous && !current) ? 'CREATE' : 'UPDATE';
    const rejected = (error: ChangeError): RecordOutcome => ({
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
      payload: record.payload,
      clientVersion: operation === 'CREATE' ? 1 : record.version,
      timestamp: record.timestamp,
      ...(record.conflictStrategy ? { conflictStrategy: record.conflictStrategy } : {}),
    };
    const validated = validateChange(change, engine.validationContext(deviceId, now));
    if (!validated.ok) {
      outcomes.push(rejected(validated.error));
      continue;
    }
    const applied = await applyChange(
      engine.applyContext(tx, actor, deviceId, now),
      validated.change,
      validated.collection,
    );
    outcomes.push({
      operation,
      result: applied.result,
      ...(applied.conflict ? { conflict: engine.toWireConflict(applied.conflict) } : {}),
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
    await engine.touchDevice(tx, actor, deviceId, now);
    return null;
  } catch (error) {
    if (isSyncError(error)) return { code: error.code, message: error.message };
    throw error;
  }
}

function singleDevice(records: readonly SyncRecord[]): string | null {
  const devices = new Set(records.map((r) => r.deviceId));
  return devices.size === 1 ? [...devices][0]! : null;
}
