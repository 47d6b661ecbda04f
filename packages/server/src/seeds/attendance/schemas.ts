// Seed 000 (WOTI Attendance): POST /api/attendance/sync's request and response schemas.
import { Type } from '@fastify/type-provider-typebox';
import { limitsDefaults } from '@syncline/protocol';

export const requestSchema = Type.Object(
  { records: Type.Array(Type.Unknown(), { maxItems: limitsDefaults.maxChangesPerBatch }) },
  { additionalProperties: false },
);

const syncedSchema = Type.Object({
  id: Type.String(),
  action: Type.Union([Type.Literal('created'), Type.Literal('updated')]),
  syncVersion: Type.Integer(),
  duplicate: Type.Optional(Type.Boolean()),
});
const conflictSchema = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  clientTimestamp: Type.String(),
  type: Type.String(),
  strategy: Type.String(),
  status: Type.Union([Type.Literal('resolved'), Type.Literal('pending_review')]),
  syncVersion: Type.Integer(),
  serverVersion: Type.Integer(),
  clientVersion: Type.Integer(),
  serverRecord: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  clientRecord: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  conflictId: Type.String(),
});
const errorSchema = Type.Object({
  index: Type.Integer(),
  id: Type.Union([Type.String(), Type.Null()]),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  clientTimestamp: Type.Union([Type.String(), Type.Null()]),
  code: Type.String(),
  error: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
export const responseSchema = Type.Object({
  success: Type.Boolean(),
  synced: Type.Integer(),
  conflicts: Type.Integer(),
  errors: Type.Integer(),
  timestamp: Type.String(),
  data: Type.Object({
    synced: Type.Array(syncedSchema),
    conflicts: Type.Array(conflictSchema),
    errors: Type.Array(errorSchema),
  }),
});

export type SyncedItem = (typeof syncedSchema)['static'];
export type ConflictItem = (typeof conflictSchema)['static'];
export type ErrorItem = (typeof errorSchema)['static'];
