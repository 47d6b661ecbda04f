// Wire schemas for the canonical protocol (seed 002's /api/sync shape). Server validates with
// them, the SDK builds requests with the inferred types, the OpenAPI page is generated from them.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const limitsDefaults = {
  maxChangesPerBatch: 1000,
  maxPayloadBytes: 256 * 1024,
  maxBodyBytes: 10 * 1024 * 1024,
  maxFutureSkewMs: 5 * 60 * 1000,
  maxPageSize: 1000,
  /** Snapshot pages are bigger: a first sync of a large tenant is a few hundred round trips. */
  maxSnapshotPageSize: 5000,
  defaultSnapshotPageSize: 1000,
  defaultPageSize: 100,
  /** Nesting levels a payload may have; deeper ones are refused before any recursive work. */
  maxPayloadDepth: 32,
  /** Versions fit a 32-bit integer column on every store. */
  maxVersion: 2_147_483_647,
  /** Row ids (bigint columns) as a JSON number holds them exactly: at most 2^53 − 1. */
  maxRowId: Number.MAX_SAFE_INTEGER,
  /** Paging offsets: far past any list, and inside every store's integer range. */
  maxOffset: 2_147_483_647,
} as const;

export const Operation = { CREATE: 'CREATE', UPDATE: 'UPDATE', DELETE: 'DELETE' } as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

export const ResultStatus = {
  APPLIED: 'APPLIED',
  DUPLICATE: 'DUPLICATE',
  CONFLICT: 'CONFLICT',
  REJECTED: 'REJECTED',
} as const;
export type ResultStatus = (typeof ResultStatus)[keyof typeof ResultStatus];

export const ConflictType = {
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  DELETED: 'DELETED',
  DUPLICATE_CREATE: 'DUPLICATE_CREATE',
  TIME_MISMATCH: 'TIME_MISMATCH',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
} as const;
export type ConflictType = (typeof ConflictType)[keyof typeof ConflictType];

export const ConflictStrategy = {
  SERVER_WINS: 'SERVER_WINS',
  CLIENT_WINS: 'CLIENT_WINS',
  LAST_WRITE_WINS: 'LAST_WRITE_WINS',
  MERGE: 'MERGE',
  MANUAL: 'MANUAL',
} as const;
export type ConflictStrategy = (typeof ConflictStrategy)[keyof typeof ConflictStrategy];

export const ConflictStatus = { RESOLVED: 'RESOLVED', PENDING_REVIEW: 'PENDING_REVIEW' } as const;
export type ConflictStatus = (typeof ConflictStatus)[keyof typeof ConflictStatus];

export const MutationStatus = {
  PENDING: 'PENDING',
  SYNCING: 'SYNCING',
  SYNCED: 'SYNCED',
  CONFLICT: 'CONFLICT',
  FAILED: 'FAILED',
} as const;
export type MutationStatus = (typeof MutationStatus)[keyof typeof MutationStatus];

/** A closed string set as a plain JSON Schema enum, typed as the set's union. */
const literals = <T extends Record<string, string>>(set: T) =>
  Type.Unsafe<T[keyof T]>({ type: 'string', enum: Object.values(set) });

export const operationSchema = literals(Operation);
export const conflictStrategySchema = literals(ConflictStrategy);
export const conflictTypeSchema = literals(ConflictType);
export const resultStatusSchema = literals(ResultStatus);
export const conflictStatusSchema = literals(ConflictStatus);

/** An entity type name: lower-case identifier, as DESIGN.md's collections section defines. */
export const entityTypeSchema = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' });
/** Ids are printable: no NUL or other control characters, which some databases refuse. */
const idPattern = '^[^\\u0000-\\u001F\\u007F]+$';
const idString = () => Type.String({ minLength: 1, maxLength: 128, pattern: idPattern });
export const entityIdSchema = idString();
export const deviceIdSchema = idString();
export const isoTimestampSchema = Type.String({ format: 'date-time' });
export const jsonObjectSchema = Type.Record(Type.String(), Type.Unknown());

export const changeSchema = Type.Object(
  {
    mutationId: Type.Optional(idString()),
    entityType: entityTypeSchema,
    entityId: entityIdSchema,
    operation: operationSchema,
    payload: Type.Optional(Type.Union([jsonObjectSchema, Type.Null()])),
    clientVersion: Type.Integer({ minimum: 0, maximum: limitsDefaults.maxVersion }),
    timestamp: isoTimestampSchema,
    conflictStrategy: Type.Optional(conflictStrategySchema),
    checksum: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    /**
     * The device's outbox sequence of this change, strictly increasing per device. With it the
     * server keeps a per-device high-water mark, so a replay is refused as DUPLICATE even after
     * its mutation record was pruned.
     */
    seq: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { additionalProperties: false },
);
export type Change = Static<typeof changeSchema>;

export const pushRequestSchema = Type.Object(
  {
    deviceId: deviceIdSchema,
    deviceName: Type.Optional(Type.String({ maxLength: 200 })),
    syncToken: Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()])),
    entityTypes: Type.Optional(Type.Array(entityTypeSchema, { maxItems: 100 })),
    changes: Type.Array(changeSchema, { maxItems: limitsDefaults.maxChangesPerBatch }),
    /**
     * The device confirms its own changes from `results`: the answer's `changes` then leave out
     * the versions this push wrote from them as sent. Seed 002's clients, which read their own
     * changes back from the answer, do not send it.
     */
    omitOwnChanges: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type PushRequest = Static<typeof pushRequestSchema>;

/** One committed change as devices pull it: the entity's state at `version`. */
export const serverChangeSchema = Type.Object({
  entityType: Type.String(),
  entityId: Type.String(),
  operation: operationSchema,
  payload: Type.Union([jsonObjectSchema, Type.Null()]),
  version: Type.Integer(),
  /** Seed 002 names the version field clientVersion in server changes; both are sent. */
  clientVersion: Type.Integer(),
  timestamp: isoTimestampSchema,
  updatedBy: Type.String(),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  checksum: Type.Union([Type.String(), Type.Null()]),
  deletedAt: Type.Union([isoTimestampSchema, Type.Null()]),
  seq: Type.Integer(),
  /**
   * The entity left the reader's view (its access field moved): drop the local copy. Sent as a
   * DELETE without deletedAt; the entity itself lives on.
   */
  revoked: Type.Optional(Type.Literal(true)),
});
export type ServerChange = Static<typeof serverChangeSchema>;

export const errorBodySchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
export type ErrorBody = Static<typeof errorBodySchema>;

export const changeResultSchema = Type.Object({
  mutationId: Type.String(),
  entityType: Type.String(),
  entityId: Type.String(),
  status: resultStatusSchema,
  version: Type.Optional(Type.Integer()),
  /** For DUPLICATE: the status the first delivery answered. */
  originalStatus: Type.Optional(resultStatusSchema),
  conflictId: Type.Optional(Type.String()),
  error: Type.Optional(errorBodySchema),
});
export type ChangeResult = Static<typeof changeResultSchema>;

export const conflictSchema = Type.Object({
  id: Type.String(),
  type: conflictTypeSchema,
  entityType: Type.String(),
  entityId: Type.String(),
  mutationId: Type.Union([Type.String(), Type.Null()]),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  clientVersion: Type.Integer(),
  serverVersion: Type.Integer(),
  clientData: Type.Union([jsonObjectSchema, Type.Null()]),
  serverData: Type.Union([jsonObjectSchema, Type.Null()]),
  baseData: Type.Union([jsonObjectSchema, Type.Null()]),
  suggestedResolution: conflictStrategySchema,
  resolution: Type.Union([conflictStrategySchema, Type.Null()]),
  status: conflictStatusSchema,
  resolvedBy: Type.Union([Type.String(), Type.Null()]),
  resolvedAt: Type.Union([isoTimestampSchema, Type.Null()]),
  createdAt: isoTimestampSchema,
  /** Fields both sides changed, when MERGE could not settle them. */
  overlappingFields: Type.Optional(Type.Array(Type.String())),
});
export type Conflict = Static<typeof conflictSchema>;

export const pushResponseSchema = Type.Object({
  syncToken: Type.String(),
  changes: Type.Array(serverChangeSchema),
  hasMore: Type.Boolean(),
  reset: Type.Optional(Type.Boolean()),
  results: Type.Array(changeResultSchema),
  conflicts: Type.Array(conflictSchema),
  serverTime: isoTimestampSchema,
});
export type PushResponse = Static<typeof pushResponseSchema>;

export const deltaRequestSchema = Type.Object(
  {
    deviceId: deviceIdSchema,
    entityTypes: Type.Optional(Type.Array(entityTypeSchema, { maxItems: 100 })),
    syncToken: Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()])),
    lastSyncTimestamp: Type.Optional(Type.Union([isoTimestampSchema, Type.Null()])),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: limitsDefaults.maxPageSize })),
    pageToken: Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type DeltaRequest = Static<typeof deltaRequestSchema>;

export const deltaResponseSchema = Type.Object({
  changes: Type.Array(serverChangeSchema),
  nextPageToken: Type.Union([Type.String(), Type.Null()]),
  hasMore: Type.Boolean(),
  syncToken: Type.String(),
  reset: Type.Optional(Type.Boolean()),
});
export type DeltaResponse = Static<typeof deltaResponseSchema>;

/**
 * A fresh device's first sync: each visible, live entity's latest state once, paged in
 * (entityType, entityId) order up to the feed position the snapshot began at. The last page's
 * `syncToken` continues with the delta feed from that position.
 */
export const snapshotRequestSchema = Type.Object(
  {
    deviceId: deviceIdSchema,
    entityTypes: Type.Optional(Type.Array(entityTypeSchema, { maxItems: 100 })),
    /** Where the snapshot stopped (the previous page's `cursor`); absent to begin one. */
    cursor: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
    pageSize: Type.Optional(
      Type.Integer({ minimum: 1, maximum: limitsDefaults.maxSnapshotPageSize }),
    ),
  },
  { additionalProperties: false },
);
export type SnapshotRequest = Static<typeof snapshotRequestSchema>;

export const snapshotResponseSchema = Type.Object({
  /** Entities as server changes (CREATE at version 1, else UPDATE; never a tombstone). */
  changes: Type.Array(serverChangeSchema),
  /** Continues the snapshot; null on the last page. */
  cursor: Type.Union([Type.String(), Type.Null()]),
  hasMore: Type.Boolean(),
  /** The delta feed's token at the position the snapshot began at: store it after the last page. */
  syncToken: Type.String(),
  /** About how many entities the whole snapshot brings (counted when it began). */
  total: Type.Integer({ minimum: 0 }),
});
export type SnapshotResponse = Static<typeof snapshotResponseSchema>;

export const resolveConflictRequestSchema = Type.Object(
  {
    conflictId: Type.String({ minLength: 1, maxLength: 64 }),
    resolution: Type.Union([
      Type.Literal('CLIENT_WINS'),
      Type.Literal('SERVER_WINS'),
      Type.Literal('MERGE'),
      Type.Literal('MANUAL'),
    ]),
    /** With MANUAL (or MERGE with overlaps): the payload a person settled on. */
    resolvedData: Type.Optional(jsonObjectSchema),
  },
  { additionalProperties: false },
);
export type ResolveConflictRequest = Static<typeof resolveConflictRequestSchema>;

export const deviceSchema = Type.Object({
  deviceId: Type.String(),
  userId: Type.String(),
  deviceName: Type.Union([Type.String(), Type.Null()]),
  platform: Type.Union([Type.String(), Type.Null()]),
  appVersion: Type.Union([Type.String(), Type.Null()]),
  lastSyncAt: Type.Union([isoTimestampSchema, Type.Null()]),
  syncToken: Type.Union([Type.String(), Type.Null()]),
  isActive: Type.Boolean(),
  createdAt: isoTimestampSchema,
});
export type Device = Static<typeof deviceSchema>;

export const registerDeviceRequestSchema = Type.Object(
  {
    deviceId: deviceIdSchema,
    /** Admins only: the user the device is registered (or handed on) to. */
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: idPattern })),
    deviceName: Type.Optional(Type.String({ maxLength: 200 })),
    platform: Type.Optional(Type.String({ maxLength: 64 })),
    appVersion: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type RegisterDeviceRequest = Static<typeof registerDeviceRequestSchema>;

/** Each call re-runs at most this many FAILED mutations; the answer says what is left. */
export const queueRetryMaxMutations = 100;

export const queueRetryRequestSchema = Type.Object(
  {
    deviceId: Type.Optional(deviceIdSchema),
    mutationIds: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 1000 })),
    /** At most this many re-runs in this call (1–100, default 100). */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: queueRetryMaxMutations })),
    /**
     * Continues a retry round: the `startedAt` of the round's first answer. Mutations already
     * re-run since then are left for the next round, so `hasMore` ends.
     */
    startedAt: Type.Optional(isoTimestampSchema),
  },
  { additionalProperties: false },
);
export type QueueRetryRequest = Static<typeof queueRetryRequestSchema>;

export const cacheInvalidateRequestSchema = Type.Object(
  { deviceId: Type.Optional(deviceIdSchema) },
  { additionalProperties: false },
);

export const restoreRequestSchema = Type.Object(
  { version: Type.Integer({ minimum: 1, maximum: limitsDefaults.maxVersion }) },
  { additionalProperties: false },
);

export const historyEntrySchema = Type.Object({
  version: Type.Integer(),
  operation: operationSchema,
  payload: Type.Union([jsonObjectSchema, Type.Null()]),
  checksum: Type.Union([Type.String(), Type.Null()]),
  updatedBy: Type.String(),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  mutationId: Type.Union([Type.String(), Type.Null()]),
  timestamp: isoTimestampSchema,
  deletedAt: Type.Union([isoTimestampSchema, Type.Null()]),
  seq: Type.Integer(),
});
export type HistoryEntry = Static<typeof historyEntrySchema>;

/** Wraps a schema as the error response body `{ error: { code, message, details? } }`. */
export const errorResponseSchema = Type.Object({ error: errorBodySchema });

export type { Static, TSchema };
