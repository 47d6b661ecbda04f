// Seed 001 (rural healthcare): the server-side sync queue under /api/v1/sync in the seed's own
// shapes. A translation only: the engine stores each operation as a deferred push (PENDING),
// applies it when asked,
// replays an item already processed, detects conflicts and settles them; these routes map names.
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import type { Actor } from '../../engine/actor.js';
import { scopeFor } from '../../engine/authorize.js';
import type { SyncEngine } from '../../engine/engine-api.js';
import { SyncError } from '../../engine/errors.js';
import { actorOf } from '../../http/auth.js';
import { withErrors } from '../../http/schemas.js';
import { seedJsonBody } from '../seed-bodies.js';
import { deferredPushOf } from './queue.js';
import { conflictWording, toItem, conflictDetail, resourceOf, statusOf } from './wire.js';
import {
  resolutionOptions,
  type Resolution,
  userIdSchema,
  queueBodySchema,
  queueResponseSchema,
  scopeQuerySchema,
  idParamsSchema,
  resolveQuerySchema,
  itemSchema,
  processResponseSchema,
  resolveResponseSchema,
  retryQuerySchema,
  retryResponseSchema,
  statsResponseSchema,
} from './schemas.js';

export interface HealthcareRoutesOptions {
  engine: SyncEngine;
}

/** DESIGN: a userId other than the caller's is refused unless the caller is the tenant's admin. */
function assertOwnOrAdmin(actor: Actor, userId: string | undefined): void {
  scopeFor(actor, userId, "Only admins may act on another user's sync queue");
}

/** An admin queueing for a user acts as that user, with no claims of their own. */
function actingFor(actor: Actor, userId: string | undefined): Actor {
  if (userId === undefined || userId === actor.userId) return actor;
  return { tenant: actor.tenant, userId, role: 'user', claims: {} };
}

export const healthcareRoutesPlugin = fp<HealthcareRoutesOptions>(
  async (instance, { engine }) => {
    const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['seed 001'];
    // Queueing a change and applying it are both device writes: each spends a push, so a spent
    // push budget stops both (the seed's client makes the two requests for each operation).
    const limits = fastify.syncRateLimits;

    fastify.post(
      '/api/v1/sync/queue',
      {
        schema: {
          tags,
          summary: 'Queue an operation made offline (PENDING until processed)',
          body: queueBodySchema,
          response: withErrors({ 200: queueResponseSchema, 201: queueResponseSchema }),
        },
        onRequest: seedJsonBody,
        preHandler: limits.push,
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const body = request.body;
        assertOwnOrAdmin(actor, body.userId);
        const deferred = deferredPushOf({
          deviceId: body.deviceId,
          entityType: body.resourceType,
          ...(body.resourceId !== undefined ? { entityId: body.resourceId } : {}),
          operation: body.operation,
          payload: body.data ?? null,
          clientVersion: body.version ?? 1,
          timestamp: body.createdAtClient,
          // The seed's conflicts wait for the device (or an admin) to choose a resolution.
          conflictStrategy: 'MANUAL',
        });
        const { mutation, created } = await engine.pushDeferred(
          actingFor(actor, body.userId),
          deferred,
        );
        return reply.code(created ? 201 : 200).send({
          id: mutation.mutationId,
          status: mutation.status,
          message: created ? 'Operation queued for sync' : 'Operation already queued',
        });
      },
    );

    fastify.get(
      '/api/v1/sync/pending',
      {
        schema: {
          tags,
          summary: 'Queued operations not yet synced (PENDING or FAILED)',
          querystring: scopeQuerySchema,
          response: withErrors({ 200: Type.Array(itemSchema) }),
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const { deviceId, userId } = request.query;
        assertOwnOrAdmin(actor, userId);
        const items = await engine.listMutations(actor, {
          ...(deviceId !== undefined ? { deviceId } : {}),
          ...(userId !== undefined ? { userId } : {}),
          statuses: ['PENDING', 'SYNCING', 'FAILED'],
        });
        return items.map(toItem);
      },
    );

    fastify.post(
      '/api/v1/sync/process/:id',
      {
        schema: {
          tags,
          summary: 'Apply a queued operation: SYNCED, CONFLICT (with resolution options) or FAILED',
          params: idParamsSchema,
          response: withErrors({ 200: processResponseSchema }),
        },
        onRequest: seedJsonBody,
        preHandler: limits.push,
      },
      async (request) => {
        const processed = await engine.processMutation(actorOf(request), request.params.id);
        const queued = processed.mutation;
        const id = queued.mutationId;
        if (queued.status === 'SYNCED') {
          const result = resourceOf(processed.entity);
          return {
            id,
            status: 'SYNCED',
            message: 'Operation synced successfully',
            ...(result ? { result } : {}),
          };
        }
        if (queued.status === 'CONFLICT' && processed.conflict) {
          return {
            id,
            status: 'CONFLICT',
            ...conflictWording[processed.conflict.type],
            resolutionOptions: [...resolutionOptions],
            conflict: conflictDetail(processed.conflict),
          };
        }
        return {
          id,
          status: queued.status,
          message: 'Operation failed',
          error: queued.error?.message ?? 'The operation could not be applied',
          ...(queued.error ? { code: queued.error.code } : {}),
        };
      },
    );

    fastify.patch(
      '/api/v1/sync/resolve/:id',
      {
        schema: {
          tags,
          summary: "Settle a queued operation's conflict: CLIENT_WINS, SERVER_WINS or MANUAL",
          params: idParamsSchema,
          querystring: resolveQuerySchema,
          response: withErrors({ 200: resolveResponseSchema }),
        },
        onRequest: seedJsonBody,
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        const { id } = request.params;
        const resolution: Resolution = request.query.resolution;
        const { conflict } = await engine.getMutation(actor, id);
        if (!conflict) {
          throw new SyncError('INVALID_OPERATION', `Queue item ${id} has no conflict to resolve`);
        }
        if (resolution === 'MANUAL') {
          if (conflict.status === 'RESOLVED') {
            throw new SyncError('CONFLICT_ALREADY_RESOLVED', `Conflict ${conflict.id} is resolved`);
          }
          // The conflict already waits in PENDING_REVIEW, where admins review it.
          return {
            id,
            status: 'CONFLICT',
            resolution,
            message: 'Flagged for manual review by an admin',
            conflict: conflictDetail(conflict),
          };
        }
        const resolved = await engine.resolveConflict(actor, {
          conflictId: conflict.id,
          resolution,
        });
        const after = await engine.getMutation(actor, id);
        const change = resolved.change;
        const result =
          change && change.payload
            ? { ...change.payload, id: change.entityId, version: change.version }
            : undefined;
        return {
          id,
          status: after.mutation.status,
          resolution,
          message:
            resolution === 'CLIENT_WINS'
              ? 'Offline data applied over the server version'
              : 'Server version kept; offline data discarded',
          ...(result ? { result } : {}),
          conflict: conflictDetail(resolved.conflict),
        };
      },
    );

    fastify.post(
      '/api/v1/sync/retry',
      {
        schema: {
          tags,
          summary:
            'Retry FAILED operations of a device (or a user, for admins), 100 at most a call',
          querystring: retryQuerySchema,
          response: withErrors({ 200: retryResponseSchema }),
        },
        onRequest: seedJsonBody,
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        const { deviceId, userId, startedAt } = request.query;
        assertOwnOrAdmin(actor, userId);
        const retry = await engine.retryQueue(actor, {
          ...(deviceId !== undefined ? { deviceId } : {}),
          ...(userId !== undefined ? { userId } : {}),
          ...(startedAt !== undefined ? { startedAt } : {}),
        });
        return {
          retried: retry.retried,
          message: retry.hasMore
            ? `${retry.retried} failed operation(s) retried; ${retry.remaining} left for the next call`
            : `${retry.retried} failed operation(s) retried`,
          results: retry.results.map((r) => ({ id: r.mutationId, status: statusOf(r) })),
          remaining: retry.remaining,
          hasMore: retry.hasMore,
          startedAt: retry.startedAt,
        };
      },
    );

    fastify.get(
      '/api/v1/sync/stats',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Sync statistics of a user (or the tenant), with syncRate like "93.33%"',
          querystring: Type.Object(
            { userId: Type.Optional(userIdSchema) },
            { additionalProperties: false },
          ),
          response: withErrors({ 200: statsResponseSchema }),
        },
      },
      async (request) => {
        const { userId } = request.query;
        const stats = await engine.queueStats(
          actorOf(request),
          userId !== undefined ? { userId } : {},
        );
        return {
          total: stats.total,
          pending: stats.byStatus.PENDING,
          synced: stats.byStatus.SYNCED,
          failed: stats.byStatus.FAILED,
          conflicts: stats.byStatus.CONFLICT,
          syncRate: stats.syncRate,
        };
      },
    );
  },
  {
    name: 'syncline-compat-healthcare',
    dependencies: ['syncline-auth', 'syncline-rate-limits'],
    fastify: '5.x',
  },
);
