// Checks one change before any storage work: known type, timestamps, forbidden keys, size,
// checksum, the create's schema. A refused change leaves no trace and never fails its batch.
import {
  canonicalJson,
  ConflictStrategy,
  findJsonProblem,
  limitsDefaults,
  type Change,
  type ErrorCode,
  type Operation,
} from '@syncline/protocol';
import type { Collection, CollectionRegistry } from './collections.js';
import { SyncError } from './errors.js';
import { isPlainObject, jsonByteLength } from './json.js';
import type { Crypto, JsonObject } from './ports.js';

/** A change that passed validation, with its idempotency key settled. */
export interface IncomingChange {
  mutationId: string;
  entityType: string;
  entityId: string;
  operation: Operation;
  /** CREATE: the full payload; UPDATE: a JSON Merge Patch; DELETE: null. */
  payload: JsonObject | null;
  clientVersion: number;
  /** The device's edit time, ISO. */
  timestamp: string;
  conflictStrategy: ConflictStrategy | undefined;
  /** The device's outbox sequence, when its client numbers mutations (see the mutation mark). */
  seq?: number;
}

export interface ChangeError {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export type ValidatedChange =
  | { ok: true; change: IncomingChange; collection: Collection }
  | { ok: false; mutationId: string; entityType: string; entityId: string; error: ChangeError };

export interface ValidationContext {
  deviceId: string;
  collections: CollectionRegistry;
  crypto: Crypto;
  now: Date;
  maxFutureSkewMs: number;
  maxPayloadBytes: number;
  checkSchema: (collection: Collection, payload: JsonObject) => string[];
}

/** Without a mutationId, the key is derived from what identifies the edit on its device. */
export function deriveMutationId(deviceId: string, change: Change, crypto: Crypto): string {
  const identity = [
    deviceId,
    change.entityType,
    change.entityId,
    change.operation,
    change.clientVersion,
    change.timestamp,
  ];
  return `d-${crypto.sha256Hex(canonicalJson(identity)).slice(0, 40)}`;
}

export function validateChange(change: Change, ctx: ValidationContext): ValidatedChange {
  const mutationId = change.mutationId ?? deriveMutationId(ctx.deviceId, change, ctx.crypto);
  const refuse = (code: ErrorCode, message: string, details?: unknown): ValidatedChange => ({
    ok: false,
    mutationId,
    entityType: change.entityType,
    entityId: change.entityId,
    error: details === undefined ? { code, message } : { code, message, details },
  });

  let collection: Collection;
  try {
    collection = ctx.collections.get(change.entityType);
  } catch (error) {
    if (error instanceof SyncError) return refuse(error.code, error.message);
    throw error;
  }

  if (
    change.conflictStrategy !== undefined &&
    !Object.hasOwn(ConflictStrategy, change.conflictStrategy)
  ) {
    return refuse(
      'VALIDATION_FAILED',
      `conflictStrategy is not one of ${Object.keys(ConflictStrategy).join(', ')}`,
    );
  }

  const editedAt = Date.parse(change.timestamp);
  if (!Number.isFinite(editedAt))
    return refuse('VALIDATION_FAILED', 'timestamp is not a valid date-time');
  if (editedAt > ctx.now.getTime() + ctx.maxFutureSkewMs) {
    return refuse('FUTURE_TIMESTAMP', 'timestamp is more than 5 minutes in the future', {
      timestamp: change.timestamp,
      serverTime: ctx.now.toISOString(),
    });
  }

  const payload = change.payload ?? null;
  if (payload !== null) {
    if (!isPlainObject(payload))
      return refuse('VALIDATION_FAILED', 'payload must be a JSON object');
    // The body parser checked these already; the engine has other callers too.
    const problem = findJsonProblem(payload, limitsDefaults.maxPayloadDepth);
    if (problem?.kind === 'depth') {
      return refuse(
        'VALIDATION_FAILED',
        `payload nests deeper than ${limitsDefaults.maxPayloadDepth} levels`,
      );
    }
    if (problem) {
      const code = problem.kind === 'forbidden-key' ? 'FORBIDDEN_KEY' : 'VALIDATION_FAILED';
      return refuse(code, problem.message, { path: problem.path });
    }
    if (jsonByteLength(payload) > ctx.maxPayloadBytes) {
      return refuse('PAYLOAD_TOO_LARGE', `payload is larger than ${ctx.maxPayloadBytes} bytes`);
    }
  }
  if (change.operation !== 'DELETE' && payload === null) {
    return refuse('VALIDATION_FAILED', `${change.operation} needs a payload`);
  }
  const future = payload ? futureField(payload, collection.notInFuture, ctx) : undefined;
  if (future) {
    return refuse(
      'FUTURE_TIMESTAMP',
      `${future} is more than ${ctx.maxFutureSkewMs / 60_000} minutes in the future`,
      { field: future, value: payload?.[future], serverTime: ctx.now.toISOString() },
    );
  }
  if (change.operation === 'CREATE' && change.clientVersion > 1) {
    return refuse('VALIDATION_FAILED', 'a CREATE is made on version 1 (clientVersion 0 or 1)');
  }
  if (change.checksum !== undefined) {
    const actual = ctx.crypto.sha256Hex(canonicalJson(payload));
    if (actual !== change.checksum) {
      return refuse(
        'CHECKSUM_MISMATCH',
        'payload does not match its checksum (damaged in transit?)',
        {
          conflictType: 'CHECKSUM_MISMATCH',
          expected: change.checksum,
          actual,
        },
      );
    }
  }
  if (change.operation === 'CREATE' && payload) {
    const problems = ctx.checkSchema(collection, payload);
    if (problems.length > 0) return refuse('SCHEMA_VIOLATION', problems.join('; '), { problems });
  }

  return {
    ok: true,
    collection,
    change: {
      mutationId,
      entityType: change.entityType,
      entityId: change.entityId,
      operation: change.operation,
      payload: change.operation === 'DELETE' ? null : payload,
      clientVersion: change.clientVersion,
      timestamp: new Date(editedAt).toISOString(),
      conflictStrategy: change.conflictStrategy,
      ...(change.seq !== undefined ? { seq: change.seq } : {}),
    },
  };
}

/** The first of `fields` whose time lies beyond the allowed skew (an UPDATE checks what it sets). */
function futureField(
  payload: JsonObject,
  fields: readonly string[],
  ctx: Pick<ValidationContext, 'now' | 'maxFutureSkewMs'>,
): string | undefined {
  const latest = ctx.now.getTime() + ctx.maxFutureSkewMs;
  return fields.find((field) => {
    const value = Object.hasOwn(payload, field) ? payload[field] : undefined;
    return typeof value === 'string' && Date.parse(value) > latest;
  });
}
