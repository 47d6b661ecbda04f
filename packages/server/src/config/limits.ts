// The server's limits as settings: their defaults and the parsers of the forms the configuration
// writes them in. The layers that enforce them (http/rate-limits.ts, http/connection-limits.ts,
// http/body-admission.ts, realtime/stream-slots.ts) take them from here, and so does env.ts.
import { parseDuration } from './durations.js';

export interface RateLimit {
  max: number;
  windowMs: number;
}

export const rateLimitDefaults = {
  /** Seed 000: 20 pushes per 5 minutes per user. */
  push: '20/5m',
  /** Generous, so that the first sync of a large tenant (many delta pages) is not throttled. */
  pull: '600/5m',
  /** Requests that start bounded heavy work (a retry re-runs up to 100 mutations). */
  admin: '60/5m',
} as const;

/** 'N/5m', 'N/30s', 'N/1h' → { max: N, windowMs }. */
export function parseRateLimit(text: string): RateLimit {
  const slash = text.indexOf('/');
  const max = Number(text.slice(0, slash).trim());
  if (slash < 1 || !Number.isSafeInteger(max) || max < 1) {
    throw new Error(`"${text}" is not a rate limit like 20/5m (requests/window)`);
  }
  return { max, windowMs: parseDuration(text.slice(slash + 1)) };
}

export interface ConnectionLimits {
  /** A request's headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** The longest pause while a body arrives; the client is answered 408 and the connection closed. */
  bodyTimeoutMs: number;
  /** Headers and body must arrive within this, however steadily the body comes. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection closes after this (above common load balancers' 60 s). */
  keepAliveTimeoutMs: number;
  /** A connection closes after this many requests (0: no limit), so clients spread over instances. */
  maxRequestsPerSocket: number;
}

export const connectionLimitsDefaults: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 20_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 72_000,
  maxRequestsPerSocket: 1000,
};

export const bodyAdmissionDefaults = {
  largeBodyConcurrency: 2,
  largeBodyBytes: 1024 * 1024,
} as const;

export interface StreamCaps {
  /** Open streams of one user (all their devices and tabs). */
  perUser: number;
  /** Open streams of one tenant. */
  perTenant: number;
}

export const streamCapsDefaults: StreamCaps = { perUser: 20, perTenant: 2000 };
