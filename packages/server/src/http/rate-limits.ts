// Per-user rate budgets, keyed by the verified tenant + user and shared by every route that spends
// them: push (device writes), pull (reads of the feed) and admin (retries, replays, cleanup,
// invalidation, resolutions, device and settings changes). Every route that writes or starts work
// spends one; the plugin keeps a table of which, for tests and docs. Backed by @fastify/rate-limit
// (in memory, or in Redis to share the budgets across instances).
import rateLimitPlugin from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { parseDuration } from '../config/durations.js';
import { parseRateLimit, rateLimitDefaults, type RateLimit } from '../config/limits.js';
import { SyncError } from '../engine/errors.js';

export { parseDuration, parseRateLimit, rateLimitDefaults, type RateLimit };

export type Budget = keyof typeof rateLimitDefaults;

/**
 * The part of an ioredis client that @fastify/rate-limit's Redis store uses (it defines a Lua
 * command, then calls it); an ioredis instance fits.
 */
export interface RateLimitRedis {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

export interface RateLimitsOptions extends Record<Budget, RateLimit> {
  /** Shares the budgets across server instances. Without it they live in this process. */
  redis?: RateLimitRedis;
}

/** Each handler spends one unit of its budget (a preHandler); 429 RATE_LIMITED past it. */
export interface SyncRateLimits extends Record<Budget, preHandlerAsyncHookHandler> {
  /** Spends the one of `budgets` that `pick` names for each request (e.g. push for a batch with changes). */
  either<B extends Budget>(
    budgets: readonly B[],
    pick: (request: FastifyRequest) => B,
  ): preHandlerAsyncHookHandler;
}

/** One route and what it spends; `null`: nothing (reads, public routes). */
export interface RouteBudget {
  method: string;
  url: string;
  budget: string | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    syncRateLimits: SyncRateLimits;
    /** Every route registered after the plugin, with the budget its preHandler spends. */
    routeBudgets(): RouteBudget[];
  }
}

/** Tenant and user from the verified token; JSON so that no tenant/user pair can collide with another. */
function userKey(kind: Budget) {
  return (request: FastifyRequest): string => {
    const actor = request.actor;
    // Routes with a budget are authenticated; the IP is a fallback that keeps the limit if not.
    return JSON.stringify([kind, actor?.tenant ?? null, actor?.userId ?? request.ip]);
  };
}

export const rateLimitsPlugin = fp<RateLimitsOptions>(
  async (fastify, options) => {
    await fastify.register(rateLimitPlugin, {
      global: false,
      // Keys are per user; keep far more than the default 5000 before the LRU forgets a budget.
      cache: 100_000,
      nameSpace: 'syncline-rate-limit-',
      ...(options.redis ? { redis: options.redis } : {}),
      errorResponseBuilder: (_request, context) =>
        new SyncError('RATE_LIMITED', `Rate limit exceeded, retry in ${context.after}`, {
          limit: context.max,
          retryAfterSeconds: Math.ceil(context.ttl / 1000),
        }),
    });

    /** Which budget a preHandler function spends, for the route table. */
    const spends = new WeakMap<object, string>();
    const limiter = (kind: Budget) => {
      // One limiter (and so one store) per budget, reused by every route that spends it.
      const handler = fastify.rateLimit({
        max: options[kind].max,
        timeWindow: options[kind].windowMs,
        keyGenerator: userKey(kind),
      });
      const spend = async function spend(request: FastifyRequest, reply: FastifyReply) {
        await handler.call(fastify, request, reply);
      };
      spends.set(spend, kind);
      return spend;
    };
    const handlers = { push: limiter('push'), pull: limiter('pull'), admin: limiter('admin') };
    const either = <B extends Budget>(budgets: readonly B[], pick: (r: FastifyRequest) => B) => {
      const spend = async function spendEither(request: FastifyRequest, reply: FastifyReply) {
        await handlers[pick(request)].call(fastify, request, reply);
      };
      spends.set(spend, budgets.join(' or '));
      return spend;
    };
    fastify.decorate('syncRateLimits', { ...handlers, either });

    const table: RouteBudget[] = [];
    fastify.addHook('onRoute', (route) => {
      const preHandlers = [route.preHandler ?? []].flat() as object[];
      const budget = preHandlers.map((hook) => spends.get(hook)).find((kind) => kind);
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue;
        table.push({ method, url: route.url, budget: budget ?? null });
      }
    });
    fastify.decorate('routeBudgets', () => table.map((entry) => ({ ...entry })));
  },
  { name: 'syncline-rate-limits', dependencies: ['syncline-auth'], fastify: '5.x' },
);
