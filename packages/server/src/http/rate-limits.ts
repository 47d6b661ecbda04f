// Per-user rate limits: a push budget and a pull budget, keyed by the verified tenant + user,
// shared by every route that spends them. Backed by @fastify/rate-limit (memory, or Redis later).
import rateLimitPlugin from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { SyncError } from '../engine/errors.js';

export interface RateLimit {
  max: number;
  windowMs: number;
}

export const rateLimitDefaults = {
  /** Seed 000: 20 pushes per 5 minutes per user. */
  push: '20/5m',
  /** Generous, so that the first sync of a large tenant (many delta pages) is not throttled. */
  pull: '600/5m',
} as const;

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** '30s', '5m', '1h', '7d' (or a bare unit: 'm' is one minute) → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+)?\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration like 30s, 5m, 1h or 7d`);
  const count = match[1] === undefined ? 1 : Number(match[1]);
  const ms = count * unitMs[match[2] as keyof typeof unitMs];
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`"${text}" is not a positive duration`);
  return ms;
}

/** 'N/5m', 'N/30s', 'N/1h' → { max: N, windowMs }. */
export function parseRateLimit(text: string): RateLimit {
  const slash = text.indexOf('/');
  const max = Number(text.slice(0, slash).trim());
  if (slash < 1 || !Number.isSafeInteger(max) || max < 1) {
    throw new Error(`"${text}" is not a rate limit like 20/5m (requests/window)`);
  }
  return { max, windowMs: parseDuration(text.slice(slash + 1)) };
}

/**
 * The part of an ioredis client that @fastify/rate-limit's Redis store uses (it defines a Lua
 * command, then calls it); an ioredis instance fits.
 */
export interface RateLimitRedis {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

export interface RateLimitsOptions {
  push: RateLimit;
  pull: RateLimit;
  /** Shares the budgets across server instances. Without it they live in this process. */
  redis?: RateLimitRedis;
}

export interface SyncRateLimits {
  /** Spends one push (a batch with changes). */
  push: preHandlerAsyncHookHandler;
  /** Spends one pull (delta pages, empty pushes). */
  pull: preHandlerAsyncHookHandler;
}

declare module 'fastify' {
  interface FastifyInstance {
    syncRateLimits: SyncRateLimits;
  }
}

/** Tenant and user from the verified token; JSON so that no tenant/user pair can collide with another. */
function userKey(kind: string) {
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
    const limiter = (kind: 'push' | 'pull', limit: RateLimit) => {
      // One limiter (and so one store) per budget, reused by every route that spends it.
      const handler = fastify.rateLimit({
        max: limit.max,
        timeWindow: limit.windowMs,
        keyGenerator: userKey(kind),
      });
      return async function spend(this: unknown, request: FastifyRequest, reply: FastifyReply) {
        await handler.call(fastify, request, reply);
      };
    };
    fastify.decorate('syncRateLimits', {
      push: limiter('push', options.push),
      pull: limiter('pull', options.pull),
    });
  },
  { name: 'syncline-rate-limits', dependencies: ['syncline-auth'], fastify: '5.x' },
);
