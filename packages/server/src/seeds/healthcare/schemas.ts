// Seed 001 (rural healthcare): the /api/v1/sync queue routes' request and response schemas.
import { Type } from '@fastify/type-provider-typebox';
import {
  deviceIdSchema,
  entityIdSchema,
  entityTypeSchema,
  isoTimestampSchema,
  jsonObjectSchema,
  limitsDefaults,
} from '@syncline/protocol';

export const resolutionOptions = ['CLIENT_WINS', 'SERVER_WINS', 'MANUAL'] as const;
export type Resolution = (typeof resolutionOptions)[number];

export const userIdSchema = Type.String({ minLength: 1, maxLength: 256 });
const operationSchema = Type.Union([
  Type.Literal('CREATE'),
  Type.Literal('UPDATE'),
  Type.Literal('DELETE'),
]);

export const queueBodySchema = Type.Object(
  {
    userId: Type.Optional(userIdSchema),
    deviceId: deviceIdSchema,
    operation: operationSchema,
    resourceType: entityTypeSchema,
    resourceId: Type.Optional(entityIdSchema),
    data: Type.Optional(Type.Union([jsonObjectSchema, Type.Null()])),
    createdAtClient: isoTimestampSchema,
    version: Type.Optional(Type.Integer({ minimum: 0, maximum: limitsDefaults.maxVersion })),
  },
  { additionalProperties: false },
);
export const queueResponseSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  message: Type.String(),
});
export const scopeQuerySchema = Type.Object(
  { deviceId: Type.Optional(deviceIdSchema), userId: Type.Optional(userIdSchema) },
  { additionalProperties: false },
);
export const idParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export const resolveQuerySchema = Type.Object(
  {
    resolution: Type.Union(resolutionOptions.map((option) => Type.Literal(option))),
  },
  { additionalProperties: false },
);

const objectOrNull = Type.Union([jsonObjectSchema, Type.Null()]);
export const itemSchema = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  deviceId: Type.String(),
  operation: Type.String(),
  resourceType: Type.String(),
  resourceId: Type.String(),
  data: objectOrNull,
  status: Type.String(),
  retryCount: Type.Integer(),
  version: Type.Integer(),
  createdAtClient: Type.String(),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const conflictDetailSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  status: Type.String(),
  resolution: Type.Union([Type.String(), Type.Null()]),
  clientVersion: Type.Integer(),
  serverVersion: Type.Integer(),
  clientData: objectOrNull,
  serverData: objectOrNull,
});
export const processResponseSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  message: Type.String(),
  result: Type.Optional(jsonObjectSchema),
  error: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  resolutionOptions: Type.Optional(Type.Array(Type.String())),
  conflict: Type.Optional(conflictDetailSchema),
});
export const resolveResponseSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  resolution: Type.String(),
  message: Type.String(),
  result: Type.Optional(jsonObjectSchema),
  conflict: conflictDetailSchema,
});
export const retryQuerySchema = Type.Object(
  {
    deviceId: Type.Optional(deviceIdSchema),
    userId: Type.Optional(userIdSchema),
    /** Continues a retry round (the previous answer's startedAt). */
    startedAt: Type.Optional(isoTimestampSchema),
  },
  { additionalProperties: false },
);
export const retryResponseSchema = Type.Object({
  retried: Type.Integer(),
  message: Type.String(),
  results: Type.Array(Type.Object({ id: Type.String(), status: Type.String() })),
  remaining: Type.Integer(),
  hasMore: Type.Boolean(),
  startedAt: Type.String(),
});
export const statsResponseSchema = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  synced: Type.Integer(),
  failed: Type.Integer(),
  conflicts: Type.Integer(),
  syncRate: Type.String(),
});
