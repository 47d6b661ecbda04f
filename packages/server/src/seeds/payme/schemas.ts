// Seed 003 (PayMe): the /api/offline routes' request schemas, as the PayMe client sends them.
import { Type } from '@fastify/type-provider-typebox';
import { jsonObjectSchema, limitsDefaults } from '@syncline/protocol';
import type { OfflineConfig, ReplayResolution } from '../../replay/ports.js';

const statusValues = ['pending', 'syncing', 'synced', 'conflict', 'failed'] as const;
const rowId = () => Type.Integer({ minimum: 1, maximum: limitsDefaults.maxRowId });
const businessId = Type.Union([
  Type.String({ minLength: 1, maxLength: 256 }),
  Type.Integer({ minimum: 0, maximum: limitsDefaults.maxRowId }),
]);
const text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
export const idParams = Type.Object({ id: rowId() });

export const scopeQuery = Type.Object(
  {
    businessId: Type.Optional(businessId),
    userId: Type.Optional(text(256)),
  },
  { additionalProperties: false },
);

export const pendingQuery = Type.Object(
  {
    businessId: Type.Optional(businessId),
    userId: Type.Optional(text(256)),
    status: Type.Optional(Type.Unsafe<(typeof statusValues)[number]>({ enum: [...statusValues] })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: limitsDefaults.maxOffset })),
  },
  { additionalProperties: false },
);

export const queueBody = Type.Object(
  {
    businessId: Type.Optional(businessId),
    operation_type: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' })),
    operationType: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' })),
    operation_id: Type.Optional(text(128)),
    operationId: Type.Optional(text(128)),
    device_id: Type.Optional(text(128)),
    endpoint: Type.String({ minLength: 1, maxLength: 2048 }),
    method: Type.Unsafe<'POST' | 'PUT' | 'PATCH' | 'DELETE'>({
      type: 'string',
      enum: ['POST', 'PUT', 'PATCH', 'DELETE'],
    }),
    request_body: Type.Optional(
      Type.Union([jsonObjectSchema, Type.Array(Type.Unknown()), Type.Null()]),
    ),
    requestBody: Type.Optional(
      Type.Union([jsonObjectSchema, Type.Array(Type.Unknown()), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);

// merge is listed so that it is refused with the reason (a person merges: /resolve/:id).
const strategy = Type.Unsafe<OfflineConfig['default_conflict_strategy'] | 'merge'>({
  type: 'string',
  enum: ['client_wins', 'server_wins', 'merge', 'manual'],
  description:
    'client_wins re-sends a refused request as an overwrite; server_wins lets the API copy stand; ' +
    'manual waits for a person (POST /api/offline/resolve/:id). merge is refused here: it is a ' +
    "person's resolution, with the combined version as request_body",
});

export const configPatch = Type.Object(
  {
    businessId: Type.Optional(businessId),
    offline_mode_enabled: Type.Optional(Type.Boolean()),
    auto_sync_enabled: Type.Optional(Type.Boolean()),
    sync_interval_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })),
    max_retry_attempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
    max_queue_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    default_conflict_strategy: Type.Optional(strategy),
    allow_sales_offline: Type.Optional(Type.Boolean()),
    allow_expenses_offline: Type.Optional(Type.Boolean()),
    allow_records_offline: Type.Optional(Type.Boolean()),
    allow_payments_offline: Type.Optional(Type.Boolean()),
    allow_stock_adjustment_offline: Type.Optional(Type.Boolean()),
    upstream_base_url: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);

export const syncBody = Type.Object(
  { businessId: Type.Optional(businessId) },
  { additionalProperties: false },
);
const requestBodySchema = Type.Union([jsonObjectSchema, Type.Array(Type.Unknown()), Type.Null()]);
export const syncOneBody = Type.Object(
  {
    businessId: Type.Optional(businessId),
    strategy: Type.Optional(
      Type.Literal('client_wins', {
        description: 'On a conflict (admins): re-send the request as an overwrite of the API copy',
      }),
    ),
  },
  { additionalProperties: false },
);
export const resolveBody = Type.Object(
  {
    businessId: Type.Optional(businessId),
    strategy: Type.Unsafe<ReplayResolution>({
      type: 'string',
      enum: ['client_wins', 'server_wins', 'merge'],
      description:
        'client_wins: re-send the request as an overwrite; server_wins: the API copy stands and ' +
        'the operation is settled; merge: send request_body, the version combined from both',
    }),
    request_body: Type.Optional(requestBodySchema),
  },
  { additionalProperties: false },
);
export const retryBody = Type.Object(
  {
    businessId: Type.Optional(businessId),
    ids: Type.Optional(Type.Array(rowId(), { minItems: 1, maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export const cleanupInput = Type.Object(
  {
    businessId: Type.Optional(businessId),
    olderThanDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 36_500 })),
  },
  { additionalProperties: false },
);
export const historyQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);
