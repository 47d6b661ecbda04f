// Admin routes: an entity's version history, restoring an old version, and invalidating the
// tenant's sync tokens (once a minute at most). Tenant admins only; the auth hook answers
// ADMIN_REQUIRED to users first.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import {
  cacheInvalidateRequestSchema,
  restoreRequestSchema,
  serverChangeSchema,
} from '@syncline/protocol';
import type { SyncEngine } from '../engine/engine-api.js';
import { isSyncError } from '../engine/errors.js';
import { actorOf } from './auth.js';
import {
  entityParamsSchema,
  historyListSchema,
  invalidateResultSchema,
  withErrors,
} from './schemas.js';

export interface AdminRoutesOptions {
  engine: SyncEngine;
}

export const adminRoutesPlugin = fp<AdminRoutesOptions>(
  async (instance, { engine }) => {
    const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['admin'];

    fastify.get(
      '/api/sync/entities/:type/:id/history',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Every version of one entity, oldest first',
          params: entityParamsSchema,
          response: withErrors({ 200: historyListSchema }),
        },
      },
      async (request) => ({
        history: await engine.entityHistory(
          actorOf(request),
          request.params.type,
          request.params.id,
        ),
      }),
    );

    fastify.post(
      '/api/sync/entities/:type/:id/restore',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Bring an old version back as a new version',
          params: entityParamsSchema,
          body: restoreRequestSchema,
          response: withErrors({ 200: serverChangeSchema }),
        },
        preHandler: fastify.syncRateLimits.admin,
      },
      async (request) =>
        engine.restore(
          actorOf(request),
          request.params.type,
          request.params.id,
          request.body.version,
        ),
    );

    // Tenant-wide: every device's older sync token answers `reset: true` and pulls afresh.
    fastify.post(
      '/api/sync/cache/invalidate',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "Invalidate the tenant's sync tokens: older tokens answer reset: true",
          body: cacheInvalidateRequestSchema,
          response: withErrors({ 200: invalidateResultSchema }),
        },
        // Every field is optional; a bare POST means "all of them".
        preValidation: async (request) => {
          request.body ??= {};
        },
        preHandler: fastify.syncRateLimits.admin,
      },
      async (request, reply) => {
        const { deviceId } = request.body;
        try {
          return await engine.invalidateCache(
            actorOf(request),
            deviceId !== undefined ? { deviceId } : {},
          );
        } catch (error) {
          // Inside the tenant's cooldown: say when, as the rate budgets do.
          const details = isSyncError(error)
            ? (error.details as { retryAfterSeconds?: unknown })
            : undefined;
          if (typeof details?.retryAfterSeconds === 'number') {
            void reply.header('retry-after', String(details.retryAfterSeconds));
          }
          throw error;
        }
      },
    );
  },
  {
    name: 'syncline-admin-routes',
    dependencies: ['syncline-auth', 'syncline-rate-limits'],
    fastify: '5.x',
  },
);
