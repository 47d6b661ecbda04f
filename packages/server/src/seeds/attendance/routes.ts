// Seed 000 (WOTI Attendance): POST /api/attendance/sync in the seed's own request and response
// shapes. A translation only: each record becomes an `attendance` entity handed to the engine's
// record sync, which decides create or update, duplicates, conflicts and their resolution.
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  canonicalJson,
  deviceIdSchema,
  isoTimestampSchema,
  limitsDefaults,
  type Conflict,
  type ConflictStrategy,
} from '@syncline/protocol';
import type { SyncEngine } from '../../engine/engine-api.js';
import type { JsonObject } from '../../engine/ports.js';
import type { RecordOutcome, SyncRecord } from '../../engine/record-sync.js';
import { createSchemaCompiler } from '../../http/ajv-schema-compiler.js';
import { actorOf } from '../../http/auth.js';
import { nodeCrypto } from '../../http/node-crypto.js';
import { withErrors } from '../../http/schemas.js';
import { seedJsonBody } from '../seed-bodies.js';

export interface AttendanceRoutesOptions {
  engine: SyncEngine;
}

/** Seed 000's values, as its clients send them. */
const strategies = {
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

/** Seed 000: "Large sync batches split into chunks" of 50. */
export const attendanceChunkSize = 50;

/** The sync metadata seed 000's server checks on every record ("Validate Metadata"). */
const recordSchema = Type.Object(
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
type SeedRecord = JsonObject & {
  facilityId: string;
  deviceId: string;
  clientTimestamp: string;
  syncVersion?: number;
  conflictResolutionStrategy?: SeedStrategy;
};

const requestSchema = Type.Object(
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
const responseSchema = Type.Object({
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

type SyncedItem = (typeof syncedSchema)['static'];
type ConflictItem = (typeof conflictSchema)['static'];
type ErrorItem = (typeof errorSchema)['static'];

/**
 * A record's entity id: seed 000 finds duplicates by device and client timestamp, so the two name
 * the record. The timestamp is normalised, so "…08:00:00Z" and "…08:00:00.000Z" are one record.
 */
export function attendanceId(deviceId: string, clientTimestamp: string): string {
  const identity = canonicalJson([deviceId, new Date(clientTimestamp).toISOString()]);
  return `att-${nodeCrypto.sha256Hex(identity).slice(0, 32)}`;
}

/** The record as the entity stores it: everything but the per-sync settings. */
function payloadOf(record: SeedRecord): JsonObject {
  const { syncVersion: _v, conflictResolutionStrategy: _s, ...payload } = record;
  return payload;
}

function networkTypeOf(request: FastifyRequest): string | null {
  const header = request.headers['x-network-type'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim().slice(0, 32);
  return value ? value : null;
}

export const attendanceRoutesPlugin = fp<AttendanceRoutesOptions>(
  async (instance, { engine }) => {
    const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
    const checkRecord = createSchemaCompiler()(recordSchema);
    const route = 'POST /api/attendance/sync';

    fastify.post(
      '/api/attendance/sync',
      {
        schema: {
          tags: ['seed 000'],
          summary: 'WOTI Attendance: sync offline attendance records (seed 000)',
          body: requestSchema,
          response: withErrors({ 200: responseSchema }),
        },
        onRequest: seedJsonBody,
        // Seed 000: 20 sync requests per 5 minutes per user.
        preHandler: fastify.syncRateLimits.push,
      },
      async (request) => {
        const started = Date.now();
        const actor = actorOf(request);
        const errors: ErrorItem[] = [];
        const accepted: Array<{ index: number; record: SeedRecord }> = [];
        request.body.records.forEach((raw, index) => {
          const problems = checkRecord(raw);
          if (problems.length === 0) {
            accepted.push({ index, record: raw as SeedRecord });
            return;
          }
          const fields = (typeof raw === 'object' && raw !== null ? raw : {}) as JsonObject;
          errors.push({
            index,
            id: null,
            deviceId: typeof fields.deviceId === 'string' ? fields.deviceId : null,
            clientTimestamp:
              typeof fields.clientTimestamp === 'string' ? fields.clientTimestamp : null,
            code: 'VALIDATION_FAILED',
            error: problems.join('; '),
            details: { problems },
          });
        });

        const records: SyncRecord[] = accepted.map(({ record }) => ({
          deviceId: record.deviceId,
          entityType: 'attendance',
          entityId: attendanceId(record.deviceId, record.clientTimestamp),
          payload: payloadOf(record),
          version: record.syncVersion ?? 1,
          timestamp: record.clientTimestamp,
          ...(record.conflictResolutionStrategy
            ? { conflictStrategy: strategies[record.conflictResolutionStrategy] }
            : {}),
        }));
        const { outcomes, serverTime } = await engine.syncRecords(
          actor,
          { records, chunkSize: attendanceChunkSize, auditAction: 'attendance.sync' },
          { route, networkType: networkTypeOf(request) },
        );

        const synced: SyncedItem[] = [];
        const conflicts: ConflictItem[] = [];
        outcomes.forEach((outcome, i) => {
          const { index, record } = accepted[i]!;
          const id = outcome.result.entityId;
          if (outcome.conflict) {
            conflicts.push(conflictItem(id, record, outcome, outcome.conflict));
          } else if (outcome.result.status === 'REJECTED') {
            const error = outcome.result.error ?? { code: 'INTERNAL', message: 'Rejected' };
            errors.push({
              index,
              id,
              deviceId: record.deviceId,
              clientTimestamp: record.clientTimestamp,
              code: error.code,
              error: error.message,
              ...(error.details !== undefined ? { details: error.details } : {}),
            });
          } else {
            synced.push({
              id,
              action: outcome.operation === 'CREATE' ? 'created' : 'updated',
              syncVersion: outcome.result.version ?? record.syncVersion ?? 1,
              ...(outcome.result.status === 'DUPLICATE' ? { duplicate: true } : {}),
            });
          }
        });
        errors.sort((a, b) => a.index - b.index);

        request.log.info(
          {
            userId: actor.userId,
            synced: synced.length,
            conflicts: conflicts.length,
            errors: errors.length,
            duration: Date.now() - started,
          },
          'Offline sync completed',
        );
        return {
          success: true,
          synced: synced.length,
          conflicts: conflicts.length,
          errors: errors.length,
          timestamp: serverTime,
          data: { synced, conflicts, errors },
        };
      },
    );
  },
  {
    name: 'syncline-compat-attendance',
    dependencies: ['syncline-auth', 'syncline-rate-limits'],
    fastify: '5.x',
  },
);

/** A record that met a conflict, with both copies, as seed 000's manual review stores them. */
function conflictItem(
  id: string,
  record: SeedRecord,
  outcome: RecordOutcome,
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
