// Seed 000 (WOTI Attendance): POST /api/attendance/sync in the seed's own request and response
// shapes. A translation only: each record becomes an `attendance` entity handed to the engine's
// upsert, which decides create or update, duplicates, conflicts and their resolution.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { CollectionRegistry } from '../../engine/collections.js';
import type { SyncEngine } from '../../engine/engine-api.js';
import type { JsonObject } from '../../engine/ports.js';
import { createSchemaCompiler } from '../../http/ajv-schema-compiler.js';
import { actorOf } from '../../http/auth.js';
import { withErrors } from '../../http/schemas.js';
import { seedJsonBody } from '../seed-bodies.js';
import {
  attendanceChunkSize,
  attendanceId,
  conflictItem,
  payloadOf,
  recordMutationId,
  recordSchema,
  strategies,
  timeFieldsOf,
  type RecordChange,
  type SeedRecord,
} from './records.js';
import {
  requestSchema,
  responseSchema,
  type ConflictItem,
  type ErrorItem,
  type SyncedItem,
} from './schemas.js';

export interface AttendanceRoutesOptions {
  engine: SyncEngine;
  collections: CollectionRegistry;
}

function networkTypeOf(request: FastifyRequest): string | null {
  const header = request.headers['x-network-type'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim().slice(0, 32);
  return value ? value : null;
}

export const attendanceRoutesPlugin = fp<AttendanceRoutesOptions>(
  async (instance, { engine, collections }) => {
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

        const timeFields = timeFieldsOf(collections, 'attendance');
        const changes = accepted.map(({ record }) => {
          const change: RecordChange = {
            deviceId: record.deviceId,
            entityType: 'attendance',
            entityId: attendanceId(record.deviceId, record.clientTimestamp),
            payload: payloadOf(record),
            version: record.syncVersion ?? 1,
            timestamp: record.clientTimestamp,
            ...(record.conflictResolutionStrategy
              ? { conflictStrategy: strategies[record.conflictResolutionStrategy] }
              : {}),
          };
          return { ...change, mutationId: recordMutationId(change, timeFields) };
        });
        const { outcomes, serverTime } = await engine.upsert(
          actor,
          { changes, chunkSize: attendanceChunkSize, auditAction: 'attendance.sync' },
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
