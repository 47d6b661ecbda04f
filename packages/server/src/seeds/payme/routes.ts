// Seed 003 (PayMe point of sale): the /api/offline routes, as the PayMe client calls them. A
// translation of PayMe's shapes (snake_case operations, businessId, device headers) to the
// engine's offline operations; queue, conflict, retry and idempotency decisions are the engine's.
import { Type, type Static, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Actor } from '../../engine/actor.js';
import { anotherUsersDevice } from '../../engine/authorize.js';
import { SyncError } from '../../engine/errors.js';
import type { ReplayResolution } from '../../replay/ports.js';
import { offlineBatchDefaults, type AttemptMeta } from '../../replay/operations.js';
import type { OfflineReplay } from '../../replay/replayer.js';
import { actorOf } from '../../http/auth.js';
import { withErrors } from '../../http/schemas.js';
import { toPaymeOperation, toPaymeHistory, toPaymeConfig, toPaymeSummary } from './wire.js';
import {
  idParams,
  scopeQuery,
  pendingQuery,
  queueBody,
  configPatch,
  syncBody,
  syncOneBody,
  resolveBody,
  retryBody,
  cleanupInput,
  historyQuery,
} from './schemas.js';

export interface PaymeCompatOptions {
  /** Seed 003's offline operations and their replayer (built by app/compose.ts). */
  offlineReplay: OfflineReplay;
  /** Refuses a device of another user (SyncEngine.claimDevice): X-Device-Id is checked like any. */
  claimDevice: (actor: Actor, deviceId: string) => Promise<void>;
}

/** DESIGN: a businessId other than the token's tenant is refused (it is never the caller's). */
function checkBusiness(actor: Actor, value: string | number | undefined): void {
  if (value !== undefined && String(value) !== actor.tenant) {
    throw new SyncError('FORBIDDEN', 'businessId is not the business of this token');
  }
}

function header(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  const first = (Array.isArray(value) ? value[0] : value)?.trim();
  return first ? first.slice(0, 128) : null;
}

/** The device's own default when it names none: never a device another user could name. */
const defaultDevice = (actor: Actor) => `user:${actor.userId}`;

/**
 * Seed 003's device headers, X-Device-Id (or the body's device_id) and X-Network-Type. A named
 * device must be the caller's, as on every sync route; ids are refused, not cut, when too long.
 */
async function deviceMeta(
  request: FastifyRequest,
  actor: Actor,
  claimDevice: PaymeCompatOptions['claimDevice'],
  bodyDevice?: string,
): Promise<AttemptMeta> {
  const raw = request.headers['x-device-id'];
  const named = (Array.isArray(raw) ? raw[0] : raw)?.trim() || bodyDevice;
  if (named !== undefined && named.length > 128) {
    throw new SyncError('VALIDATION_FAILED', 'X-Device-Id is longer than 128 characters');
  }
  // `user:<id>` is that user's default device: never anyone else's.
  if (named?.startsWith('user:') && named !== defaultDevice(actor)) {
    throw anotherUsersDevice(named);
  }
  if (named !== undefined && named !== defaultDevice(actor)) await claimDevice(actor, named);
  return {
    deviceId: named ?? null,
    networkType: header(request, 'x-network-type')?.slice(0, 32) ?? null,
  };
}

export const paymeCompatPlugin = fp<PaymeCompatOptions>(
  async (instance, options) => {
    const { claimDevice } = options;
    const { operations, replayer } = options.offlineReplay;
    const { replayMax } = offlineBatchDefaults;
    /** What a bounded request leaves for the next call. */
    const leftOver = (count: number) => ({
      remaining: Math.max(0, count),
      hasMore: count > 0,
    });
    /** Of the operations a retry named, those still failed (not reopened by this call). */
    const failedAmong = async (actor: Actor, ids: readonly number[]) => {
      const wanted = new Set(ids);
      const failed = await operations.list(actor, { status: 'failed', limit: 1000 });
      return failed.filter((op) => wanted.has(op.id)).length;
    };
    const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
    const limits = fastify.syncRateLimits;
    const tags = ['seed 003 — PayMe offline'];
    // PayMe's answers are documented by example, not by schema: they are described loosely.
    const answers = withErrors({ 200: Type.Unknown() });

    fastify.get(
      '/api/offline/status',
      {
        schema: {
          tags,
          summary: 'Offline operation counts',
          querystring: scopeQuery,
          response: answers,
        },
      },
      async (request) => {
        const actor = actorOf(request);
        checkBusiness(actor, request.query.businessId);
        const { userId } = request.query;
        return operations.status(actor, userId !== undefined ? { userId } : {});
      },
    );

    fastify.get(
      '/api/offline/pending',
      {
        schema: {
          tags,
          summary: 'Operations waiting to sync (or of another status), oldest first',
          querystring: pendingQuery,
          response: answers,
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const { businessId: business, ...filter } = request.query;
        checkBusiness(actor, business);
        const rows = await operations.list(actor, filter);
        return rows.map((op) => toPaymeOperation(actor.tenant, op));
      },
    );

    fastify.get(
      '/api/offline/history/:id',
      {
        schema: {
          tags,
          summary: "One operation's sync attempts, newest first",
          params: idParams,
          querystring: historyQuery,
          response: answers,
        },
      },
      async (request) => {
        const rows = await operations.history(
          actorOf(request),
          request.params.id,
          request.query.limit ?? 50,
        );
        return rows.map(toPaymeHistory);
      },
    );

    fastify.post(
      '/api/offline/sync',
      {
        schema: {
          tags,
          summary: 'Sync every pending operation',
          body: syncBody,
          response: answers,
        },
        preValidation: async (request) => {
          request.body ??= {};
        },
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        checkBusiness(actor, request.body.businessId);
        const { pending } = await operations.status(actor, {});
        const meta = await deviceMeta(request, actor, claimDevice);
        const summary = await replayer.replay(actor, { kind: 'pending', limit: replayMax }, meta);
        return { ...toPaymeSummary(actor.tenant, summary), ...leftOver(pending - replayMax) };
      },
    );

    /** Settles a conflict, then sends an overwrite at once; what /resolve/:id and /sync/:id share. */
    const settle = async (
      request: FastifyRequest,
      id: number,
      strategy: ReplayResolution,
      requestBody: unknown,
    ) => {
      const actor = actorOf(request);
      const settled = await operations.resolve(actor, id, {
        strategy,
        ...(requestBody !== undefined ? { requestBody } : {}),
      });
      if (settled.status !== 'pending') return { operation: settled, attempted: false };
      const summary = await replayer.replay(
        actor,
        { kind: 'one', id },
        await deviceMeta(request, actor, claimDevice),
      );
      return {
        operation: summary.results[0]?.operation ?? (await operations.get(actor, id)),
        attempted: summary.total > 0,
      };
    };

    fastify.post(
      '/api/offline/sync/:id',
      {
        schema: {
          tags,
          summary: 'Sync one operation now',
          description:
            'A pending or failed operation is sent now. A synced one is settled and not sent ' +
            'again; so is a conflict, unless an admin overrides it with { "strategy": ' +
            '"client_wins" }, which re-sends it as an overwrite (as POST /api/offline/resolve/:id).',
          params: idParams,
          body: syncOneBody,
          response: answers,
        },
        preValidation: async (request) => {
          request.body ??= {};
        },
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        checkBusiness(actor, request.body.businessId);
        const { id } = request.params;
        if (request.body.strategy) {
          const { operation, attempted } = await settle(
            request,
            id,
            request.body.strategy,
            undefined,
          );
          return {
            synced: operation.status === 'synced',
            attempted,
            operation: toPaymeOperation(actor.tenant, operation),
          };
        }
        const summary = await replayer.replay(
          actor,
          { kind: 'one', id },
          await deviceMeta(request, actor, claimDevice),
        );
        const operation = summary.results[0]?.operation ?? (await operations.get(actor, id));
        return {
          synced: operation.status === 'synced',
          attempted: summary.total > 0,
          operation: toPaymeOperation(actor.tenant, operation),
        };
      },
    );

    fastify.post(
      '/api/offline/resolve/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "Settle an operation's conflict (seed 003's resolveConflict(queueId, strategy))",
          description:
            'Admins. server_wins: the API copy stands; the operation becomes synced. ' +
            'client_wins: the request is sent again at once as an overwrite ' +
            '(X-Conflict-Resolution: client_wins, an idempotency key of its own). merge: ' +
            'request_body, the version the admin combined from request_body and conflict_data, ' +
            'replaces the request and is sent the same way (X-Conflict-Resolution: merge). ' +
            'A DUPLICATE can only be settled with server_wins (the API already has it).',
          params: idParams,
          body: resolveBody,
          response: answers,
        },
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        const { businessId: business, strategy, request_body: requestBody } = request.body;
        checkBusiness(actor, business);
        const { operation, attempted } = await settle(
          request,
          request.params.id,
          strategy,
          requestBody,
        );
        return {
          resolved: true,
          strategy,
          synced: operation.status === 'synced',
          attempted,
          operation: toPaymeOperation(actor.tenant, operation),
        };
      },
    );

    fastify.post(
      '/api/offline/retry',
      {
        schema: { tags, summary: 'Retry failed operations', body: retryBody, response: answers },
        preValidation: async (request) => {
          request.body ??= {};
        },
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        checkBusiness(actor, request.body.businessId);
        const meta = await deviceMeta(request, actor, claimDevice);
        const { ids } = request.body;
        const retried = await operations.reopenFailed(actor, ids, replayMax);
        const { pending, failed } = await operations.status(actor, {});
        const notReopened = ids ? await failedAmong(actor, ids) : failed;
        const summary = await replayer.replay(actor, { kind: 'pending', limit: replayMax }, meta);
        return {
          retried,
          ...toPaymeSummary(actor.tenant, summary),
          ...leftOver(notReopened + Math.max(0, pending - replayMax)),
        };
      },
    );

    fastify.get(
      '/api/offline/config',
      {
        schema: {
          tags,
          summary: "The business's offline settings",
          querystring: scopeQuery,
          response: answers,
        },
      },
      async (request) => {
        const actor = actorOf(request);
        checkBusiness(actor, request.query.businessId);
        return toPaymeConfig(actor.tenant, await operations.getConfig(actor));
      },
    );

    fastify.patch(
      '/api/offline/config',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "Change the business's offline settings",
          body: configPatch,
          response: answers,
        },
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        const { businessId: business, ...patch } = request.body;
        checkBusiness(actor, business);
        return toPaymeConfig(actor.tenant, await operations.updateConfig(actor, patch));
      },
    );

    fastify.delete(
      '/api/offline/cleanup',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: 'Remove synced operations older than olderThanDays (default 7)',
          querystring: cleanupInput,
          body: cleanupInput,
          response: answers,
        },
        // The seed sends a body; a bare DELETE with the query alone is accepted too.
        preValidation: async (request) => {
          request.body ??= {};
        },
        preHandler: limits.admin,
      },
      async (request) => {
        const actor = actorOf(request);
        const input: Static<typeof cleanupInput> = { ...request.query, ...request.body };
        checkBusiness(actor, input.businessId);
        const olderThanDays = input.olderThanDays ?? 7;
        const { deleted, hasMore } = await operations.cleanup(actor, olderThanDays);
        return { deleted, olderThanDays, hasMore };
      },
    );

    fastify.post(
      '/api/offline/queue',
      {
        schema: {
          tags,
          summary: 'Queue an operation to replay when online',
          body: queueBody,
          response: withErrors({ 200: Type.Unknown(), 202: Type.Unknown() }),
        },
        preHandler: limits.pull,
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const body = request.body;
        checkBusiness(actor, body.businessId);
        const operationType = body.operation_type ?? body.operationType;
        if (operationType === undefined) {
          throw new SyncError('VALIDATION_FAILED', 'operation_type is required');
        }
        const meta = await deviceMeta(request, actor, claimDevice, body.device_id);
        const operationId = body.operation_id ?? body.operationId;
        const { operation, created } = await operations.queue(actor, {
          deviceId: meta.deviceId ?? defaultDevice(actor),
          networkType: meta.networkType ?? null,
          operationType,
          operationId,
          endpoint: body.endpoint,
          method: body.method,
          requestBody: body.request_body ?? body.requestBody ?? null,
        });
        return reply.code(created ? 202 : 200).send({
          success: true,
          queued: created,
          duplicate: !created,
          queueId: operation.id,
          operationId: operation.operationId,
          message: created
            ? 'Operation queued for sync when connection available'
            : 'Operation already queued',
          operation: toPaymeOperation(actor.tenant, operation),
        });
      },
    );
  },
  {
    name: 'syncline-compat-payme',
    dependencies: ['syncline-auth', 'syncline-rate-limits'],
    fastify: '5.x',
  },
);
