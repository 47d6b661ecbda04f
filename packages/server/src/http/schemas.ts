// Route schemas the protocol package does not define: the shapes of status, queue stats, lists
// and route parameters, as the HTTP layer answers them.
import { Type, type TSchema } from '@fastify/type-provider-typebox';
import {
  changeResultSchema,
  conflictSchema,
  deviceIdSchema,
  deviceSchema,
  entityIdSchema,
  entityTypeSchema,
  errorResponseSchema,
  historyEntrySchema,
  isoTimestampSchema,
  serverChangeSchema,
} from '@syncline/protocol';

const count = Type.Integer({ minimum: 0 });

export const mutationCountsSchema = Type.Object({
  PENDING: count,
  SYNCING: count,
  SYNCED: count,
  CONFLICT: count,
  FAILED: count,
});

export const syncStatusSchema = Type.Object({
  userId: Type.String(),
  serverTime: isoTimestampSchema,
  syncToken: Type.String(),
  devices: Type.Array(deviceSchema),
  pendingConflicts: count,
  queue: mutationCountsSchema,
  lastSyncAt: Type.Union([isoTimestampSchema, Type.Null()]),
});

export const queueStatsSchema = Type.Object({
  total: count,
  byStatus: mutationCountsSchema,
  syncRate: Type.String(),
  pendingConflicts: count,
});

export const queueStatsQuerySchema = Type.Object(
  {
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    deviceId: Type.Optional(deviceIdSchema),
  },
  { additionalProperties: false },
);

export const deviceListSchema = Type.Object({ devices: Type.Array(deviceSchema) });
export const deviceParamsSchema = Type.Object({ deviceId: deviceIdSchema });

export const conflictListQuerySchema = Type.Object(
  {
    /** Seed 002 lists unresolved conflicts: PENDING_REVIEW unless asked otherwise. */
    status: Type.Optional(
      Type.Union([Type.Literal('PENDING_REVIEW'), Type.Literal('RESOLVED'), Type.Literal('ALL')], {
        default: 'PENDING_REVIEW',
      }),
    ),
    entityType: Type.Optional(entityTypeSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export const conflictListSchema = Type.Object({ conflicts: Type.Array(conflictSchema) });

export const resolveResultSchema = Type.Object({
  conflict: conflictSchema,
  change: Type.Optional(serverChangeSchema),
});

export const retryResultSchema = Type.Object({
  retried: count,
  results: Type.Array(changeResultSchema),
  /** FAILED mutations in scope this round has not re-run yet (call again with `startedAt`). */
  remaining: count,
  hasMore: Type.Boolean(),
  /** When this retry round began: send it back to continue the round. */
  startedAt: isoTimestampSchema,
});
export const invalidateResultSchema = Type.Object({ epoch: Type.Integer() });

export const entityParamsSchema = Type.Object({ type: entityTypeSchema, id: entityIdSchema });
export const historyListSchema = Type.Object({ history: Type.Array(historyEntrySchema) });

/** Adds the error body to a route's responses, so that the OpenAPI document shows it. */
export function withErrors<T extends Record<number, TSchema>>(responses: T) {
  return { ...responses, '4xx': errorResponseSchema, '5xx': errorResponseSchema };
}
