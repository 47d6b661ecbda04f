// The canonical /api/sync routes (seed 002): push + pull, delta pages, status, devices, conflicts,
// queue and cache. Each validates its input, spends its rate budget and calls the engine.
import { Type, type TSchema, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  changeResultSchema,
  conflictSchema,
  deltaRequestSchema,
  deltaResponseSchema,
  snapshotRequestSchema,
  snapshotResponseSchema,
  deviceSchema,
  pushRequestSchema,
  pushResponseSchema,
  queueRetryRequestSchema,
  registerDeviceRequestSchema,
  resolveConflictRequestSchema,
  type ChangeResult,
  type Conflict,
  type DeltaResponse,
  type PushRequest,
  type PushResponse,
  type SnapshotResponse,
} from '@syncline/protocol';
import type { RequestMeta, SyncEngine } from '../engine/engine-api.js';
import { snapshotPageJson } from '../engine/snapshot.js';
import { actorOf } from './auth.js';
import { bulkCompression } from './compression.js';
import { deltaPageJson, pushPageJson } from './feed-json.js';
import {
  conflictListQuerySchema,
  conflictListSchema,
  deviceListSchema,
  deviceParamsSchema,
  queueStatsQuerySchema,
  queueStatsSchema,
  resolveResultSchema,
  retryResultSchema,
  syncStatusSchema,
  withErrors,
} from './schemas.js';

/** The facts of one sync request, logged as one line when its response is sent. */
export interface SyncSummary {
  route: string;
  user: string;
  tenant: string;
  device: string;
  pushed: number;
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  pulled: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    syncSummary: SyncSummary | null;
  }
}

export interface SyncRoutesOptions {
  engine: SyncEngine;
}

/**
 * Seed 003's X-Network-Type (wifi, cellular, …), kept in the sync history, and the local schema
 * versions the app sent (schema-version.ts), kept on the device.
 */
function requestMeta(request: FastifyRequest, route: string): RequestMeta {
  const header = request.headers['x-network-type'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim().slice(0, 32);
  return { networkType: value ? value : null, route, schemaVersions: request.schemaVersions };
}

function startSummary(
  request: FastifyRequest,
  route: string,
  device: string,
  pushed: number,
): SyncSummary {
  const actor = actorOf(request);
  const summary: SyncSummary = {
    route,
    user: actor.userId,
    tenant: actor.tenant,
    device,
    pushed,
    applied: 0,
    duplicates: 0,
    conflicts: 0,
    rejected: 0,
    pulled: 0,
  };
  request.syncSummary = summary;
  return summary;
}

/** Route-level onResponse: one info line per sync request, failed ones included. */
async function logSyncSummary(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const summary = request.syncSummary;
  if (!summary) return;
  request.log.info(
    { ...summary, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime) },
    'sync',
  );
}

const resultListSchema = Type.Array(changeResultSchema);
const conflictListOfPushSchema = Type.Array(conflictSchema);

/**
 * Sends JSON the route wrote itself in its response schema's shape (UTF-8 bytes, stored payloads
 * spliced in), past the schema's serializer, whose typing expects the object form.
 */
function sendJsonBytes<T>(reply: FastifyReply, json: Buffer): T {
  return reply.type('application/json; charset=utf-8').send(json) as unknown as T;
}

const emptyBody = async (request: FastifyRequest) => {
  // These bodies have only optional fields; a bare POST means "all of them".
  if (request.body === undefined || request.body === null) request.body = {};
};

export const syncRoutesPlugin = fp<SyncRoutesOptions>(
  async (instance, { engine }) => {
    const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
    fastify.decorateRequest('syncSummary', null);
    const limits = fastify.syncRateLimits;
    const tags = ['sync'];

    fastify.post(
      '/api/sync',
      {
        schema: {
          tags,
          summary: 'Push a batch of changes and pull what changed since the sync token',
          body: pushRequestSchema,
          response: withErrors({ 200: pushResponseSchema }),
        },
        // Its answer is a feed page like the delta's (up to its page size of others' changes).
        compress: bulkCompression,
        // A batch with changes spends the push budget; an empty one is a pull.
        preHandler: limits.either(['push', 'pull'], (request) =>
          (request.body as PushRequest).changes.length > 0 ? 'push' : 'pull',
        ),
        onResponse: logSyncSummary,
      },
      async (request, reply) => {
        const summary = startSummary(
          request,
          '/api/sync',
          request.body.deviceId,
          request.body.changes.length,
        );
        const response = await engine.push(
          actorOf(request),
          request.body,
          requestMeta(request, '/api/sync'),
        );
        for (const result of response.results) {
          if (result.status === 'APPLIED') summary.applied++;
          else if (result.status === 'DUPLICATE') summary.duplicates++;
          else if (result.status === 'CONFLICT') summary.conflicts++;
          else summary.rejected++;
        }
        summary.pulled = response.changes.length;
        // The serializer's typing takes objects; it compiles array schemas all the same.
        const serialize = (value: unknown, schema: TSchema) =>
          reply.serializeInput(value as Record<string, unknown>, schema);
        const json = pushPageJson(response, {
          results: (results: ChangeResult[]) => serialize(results, resultListSchema),
          conflicts: (conflicts: Conflict[]) => serialize(conflicts, conflictListOfPushSchema),
        });
        return sendJsonBytes<PushResponse>(reply, json);
      },
    );

    fastify.post(
      '/api/sync/delta',
      {
        schema: {
          tags,
          summary: 'Page the change feed after a sync token or a timestamp',
          body: deltaRequestSchema,
          response: withErrors({ 200: deltaResponseSchema }),
        },
        compress: bulkCompression,
        preHandler: limits.pull,
        onResponse: logSyncSummary,
      },
      async (request, reply) => {
        const summary = startSummary(request, '/api/sync/delta', request.body.deviceId, 0);
        const page = await engine.delta(
          actorOf(request),
          request.body,
          requestMeta(request, '/api/sync/delta'),
        );
        summary.pulled = page.changes.length;
        return sendJsonBytes<DeltaResponse>(reply, deltaPageJson(page));
      },
    );

    fastify.post(
      '/api/sync/snapshot',
      {
        schema: {
          tags,
          summary: "A fresh device's first sync: each entity's latest state, paged",
          body: snapshotRequestSchema,
          response: withErrors({ 200: snapshotResponseSchema }),
        },
        compress: bulkCompression,
        preHandler: limits.pull,
        onResponse: logSyncSummary,
      },
      async (request, reply) => {
        const summary = startSummary(request, '/api/sync/snapshot', request.body.deviceId, 0);
        const page = await engine.snapshot(
          actorOf(request),
          request.body,
          requestMeta(request, '/api/sync/snapshot'),
        );
        summary.pulled = page.changes.length;
        return sendJsonBytes<SnapshotResponse>(reply, snapshotPageJson(page));
      },
    );

    fastify.get(
      '/api/sync/status',
      {
        schema: {
          tags,
          summary: "The caller's sync status",
          response: withErrors({ 200: syncStatusSchema }),
        },
      },
      async (request) => engine.status(actorOf(request)),
    );

    fastify.get(
      '/api/sync/devices',
      {
        schema: {
          tags,
          summary: "The caller's registered devices",
          response: withErrors({ 200: deviceListSchema }),
        },
      },
      async (request) => ({ devices: await engine.listDevices(actorOf(request)) }),
    );

    fastify.post(
      '/api/sync/devices',
      {
        schema: {
          tags,
          summary: 'Register a device (again, after it was unregistered)',
          body: registerDeviceRequestSchema,
          response: withErrors({ 200: deviceSchema }),
        },
        preHandler: limits.admin,
      },
      async (request) => engine.registerDevice(actorOf(request), request.body),
    );

    fastify.delete(
      '/api/sync/devices/:deviceId',
      {
        schema: {
          tags,
          summary: 'Unregister a device: it is refused until registered again',
          params: deviceParamsSchema,
          response: withErrors({ 204: Type.Null() }),
        },
        preHandler: limits.admin,
      },
      async (request, reply) => {
        await engine.unregisterDevice(actorOf(request), request.params.deviceId);
        return reply.code(204).send(null);
      },
    );

    fastify.get(
      '/api/sync/conflicts',
      {
        schema: {
          tags,
          summary: 'List conflicts (unresolved unless status says otherwise)',
          querystring: conflictListQuerySchema,
          response: withErrors({ 200: conflictListSchema }),
        },
      },
      async (request) => {
        const { status = 'PENDING_REVIEW', entityType, limit } = request.query;
        const conflicts = await engine.listConflicts(actorOf(request), {
          ...(status !== 'ALL' ? { status } : {}),
          ...(entityType !== undefined ? { entityType } : {}),
          ...(limit !== undefined ? { limit } : {}),
        });
        return { conflicts };
      },
    );

    // Open to users too: the engine lets a user settle only conflicts of their own changes and
    // lets admins settle any in the tenant (seed 002: "users can only resolve conflicts for their
    // organization").
    fastify.post(
      '/api/sync/conflicts/resolve',
      {
        schema: {
          tags,
          summary: 'Resolve a conflict',
          body: resolveConflictRequestSchema,
          response: withErrors({ 200: resolveResultSchema }),
        },
        preHandler: limits.admin,
      },
      async (request) => engine.resolveConflict(actorOf(request), request.body),
    );

    fastify.post(
      '/api/sync/queue/retry',
      {
        schema: {
          tags,
          summary: 'Retry FAILED mutations',
          body: queueRetryRequestSchema,
          response: withErrors({ 200: retryResultSchema }),
        },
        preValidation: emptyBody,
        // Bounded: at most retryQueueDefaults.maxMutations re-runs per call (engine).
        preHandler: limits.admin,
      },
      async (request) => engine.retryQueue(actorOf(request), request.body),
    );

    fastify.get(
      '/api/sync/queue/stats',
      {
        schema: {
          tags,
          summary: 'Mutation counts by status',
          querystring: queueStatsQuerySchema,
          response: withErrors({ 200: queueStatsSchema }),
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const { userId, deviceId } = request.query;
        // DESIGN: a userId other than the token's is refused unless the caller is an admin
        // (the engine's authorize rules).
        return engine.queueStats(actor, {
          ...(userId !== undefined ? { userId } : {}),
          ...(deviceId !== undefined ? { deviceId } : {}),
        });
      },
    );
  },
  {
    name: 'syncline-sync-routes',
    dependencies: ['syncline-auth', 'syncline-rate-limits', 'syncline-schema-version'],
    fastify: '5.x',
  },
);
