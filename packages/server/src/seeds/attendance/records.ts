// Seed 000 (WOTI Attendance): a seed record as an `attendance` entity (its id, its payload, its
// conflict strategy) and a conflict back in the shape seed 000's manual review keeps.
import { Type } from '@fastify/type-provider-typebox';
import {
  canonicalJson,
  deviceIdSchema,
  isoTimestampSchema,
  limitsDefaults,
  type Conflict,
  type ConflictStrategy,
} from '@syncline/protocol';
import type { CollectionRegistry } from '../../engine/collections.js';
import type { UpsertChange, UpsertOutcome } from '../../engine/commands/upsert.js';
import type { JsonObject } from '../../engine/ports.js';
import { nodeCrypto } from '../../http/node-crypto.js';
import type { ConflictItem } from './schemas.js';

/** Seed 000's values, as its clients send them. */
export const strategies = {
  server_wins: 'SERVER_WINS',
  client_wins: 'CLIENT_WINS',
  manual: 'MANUAL',
} as const satisfies Record<string, ConflictStrategy>;
type SeedStrategy = keyof typeof strategies;
const seedStrategyOf = (strategy: ConflictStrategy | null): SeedStrategy | null =>
  strategy === 'SERVER_WINS'
    ? 'server_wins'
    : strategy === 'CLIENT_WINS'
      ? 'client_wins'
      : strategy === 'MANUAL'
        ? 'manual'
        : null;

/** The sync metadata seed 000's server checks on every record ("Validate Metadata"). */
export const recordSchema = Type.Object(
  {
    facilityId: Type.String({ minLength: 1 }),
    deviceId: deviceIdSchema,
    clientTimestamp: isoTimestampSchema,
    syncVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: limitsDefaults.maxVersion })),
    conflictResolutionStrategy: Type.Optional(
      Type.Unsafe<SeedStrategy>({ type: 'string', enum: Object.keys(strategies) }),
    ),
  },
  { additionalProperties: true },
);
export type SeedRecord = JsonObject & {
  facilityId: string;
  deviceId: string;
  clientTimestamp: string;
  syncVersion?: number;
  conflictResolutionStrategy?: SeedStrategy;
};

/**
 * A record's entity id: seed 000 finds duplicates by device and client timestamp, so the two name
 * the record. The timestamp is normalised, so "…08:00:00Z" and "…08:00:00.000Z" are one record.
 */
export function attendanceId(deviceId: string, clientTimestamp: string): string {
  const identity = canonicalJson([deviceId, new Date(clientTimestamp).toISOString()]);
  return `att-${nodeCrypto.sha256Hex(identity).slice(0, 32)}`;
}

/** The record as the entity stores it: everything but the per-sync settings. */
export function payloadOf(record: SeedRecord): JsonObject {
  const { syncVersion: _v, conflictResolutionStrategy: _s, ...payload } = record;
  return payload;
}

/** A record that met a conflict, with both copies, as seed 000's manual review stores them. */
export function conflictItem(
  id: string,
  record: SeedRecord,
  outcome: UpsertOutcome,
  conflict: Conflict,
): ConflictItem {
  const strategy =
    seedStrategyOf(conflict.resolution) ?? record.conflictResolutionStrategy ?? 'manual';
  return {
    id,
    deviceId: record.deviceId,
    clientTimestamp: record.clientTimestamp,
    type: conflict.type,
    strategy,
    status: conflict.status === 'RESOLVED' ? 'resolved' : 'pending_review',
    // client_wins: the server's version + 1; otherwise the server's version stands.
    syncVersion: outcome.result.version ?? conflict.serverVersion,
    serverVersion: conflict.serverVersion,
    clientVersion: conflict.clientVersion,
    serverRecord: conflict.serverData,
    clientRecord: conflict.clientData,
    conflictId: conflict.id,
  };
}

/** Records per transaction: seed 000 processes its batches in chunks of 50. */
export const attendanceChunkSize = 50;

/** A seed record as the engine's upsert change, before its idempotency key is worked out. */
export type RecordChange = Omit<UpsertChange, 'mutationId'>;

/**
 * The idempotency key of one record: the same copy of the same record, sent again, is the same
 * mutation. The payload and strategy are part of it, so an edited copy or a retry that asks for
 * another strategy is a new change rather than a replay of the first. Times are compared as
 * instants ("…08:00:00Z" and "…08:00:00.000Z" are one), both the edit time and the payload's
 * `timeFields`; the payload is stored as the device spelled it.
 */
export function recordMutationId(record: RecordChange, timeFields: readonly string[] = []): string {
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
  return `r-${nodeCrypto.sha256Hex(canonicalJson(identity)).slice(0, 40)}`;
}

/** One spelling of a time (toISOString's); text that is not a time stays as it is. */
function instant(text: string): string {
  const time = Date.parse(text);
  return Number.isFinite(time) ? new Date(time).toISOString() : text;
}

/** The payload fields a collection declares as times (its time detector's and notInFuture). */
export function timeFieldsOf(collections: CollectionRegistry, entityType: string): string[] {
  try {
    const collection = collections.get(entityType);
    return [...new Set([...(collection.timeDetector?.fields ?? []), ...collection.notInFuture])];
  } catch {
    return []; // an unknown type is refused by the engine's validation
  }
}
