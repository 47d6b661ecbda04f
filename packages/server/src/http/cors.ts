// Cross-origin access to the API for browser apps served from another origin. Clients send bearer
// tokens, never cookies, so credentials stay off and any origin may be allowed by default; an
// operator narrows it to a list. Only /api/... answers: the /admin pages and the other routes send
// no CORS headers, and a preflight for them is not allowed.
import cors from '@fastify/cors';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { parseCorsOrigins } from '../config/env.js';

/** Parses SYNCLINE_CORS_ORIGINS (config/env.ts). */
export { parseCorsOrigins };

export interface CorsOptions {
  /** The origins allowed to call the API (`https://app.example.com`); `'*'` (default) allows any. */
  origins?: '*' | readonly string[];
}

/** The request headers the SDK and other clients send. */
export const corsAllowedHeaders = [
  'authorization',
  'content-type',
  'content-encoding',
  'accept',
  'last-event-id',
  'syncline-schema-version',
];

/** The response headers a browser app may read: the rate limiter's and Retry-After. */
export const corsExposedHeaders = [
  'retry-after',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];

const isApiRoute = (url: string) => url === '/api' || url.startsWith('/api/');

export const corsPlugin = fp<CorsOptions>(
  async (fastify, { origins = '*' }) => {
    const allowed = origins === '*' ? true : [...origins];
    await fastify.register(cors, {
      // Decided per request: the API allows the configured origins, everything else none.
      delegator: (request: FastifyRequest, callback) => {
        const url = request.url.split('?')[0] ?? '';
        callback(null, {
          origin: isApiRoute(url) ? allowed : false,
          credentials: false,
          methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
          allowedHeaders: corsAllowedHeaders,
          exposedHeaders: corsExposedHeaders,
          maxAge: 600,
          strictPreflight: true,
        });
      },
    });
  },
  { name: 'syncline-cors' },
);
