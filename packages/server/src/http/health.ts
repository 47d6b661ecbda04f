// Liveness and readiness: /healthz answers while the process is up, /readyz only while the
// database answers and the server has not begun shutting down (setNotReady).
import { Type } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { errorResponseSchema } from '@syncline/protocol';
import type { SyncStore } from '../engine/ports.js';
import { SyncError } from '../engine/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Makes /readyz answer 503 from now on, so a load balancer drains this instance. */
    setNotReady(): void;
  }
}

export interface HealthOptions {
  store: Pick<SyncStore, 'ping'>;
  /** How long /readyz waits for the database (default 2 s). */
  pingTimeoutMs?: number;
}

const statusSchema = Type.Object({ status: Type.String() });

async function pingWithin(store: Pick<SyncStore, 'ping'>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database ping took longer than ${ms} ms`)), ms);
  });
  try {
    await Promise.race([store.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const healthPlugin = fp<HealthOptions>(
  async (fastify, { store, pingTimeoutMs = 2000 }) => {
    let ready = true;
    fastify.decorate('setNotReady', () => {
      ready = false;
    });
    const common = { tags: ['health'], security: [] };
    fastify.get(
      '/healthz',
      { config: { auth: 'public' }, schema: { ...common, response: { 200: statusSchema } } },
      async () => ({ status: 'ok' }),
    );
    fastify.get(
      '/readyz',
      {
        config: { auth: 'public' },
        schema: { ...common, response: { 200: statusSchema, 503: errorResponseSchema } },
      },
      async (request) => {
        if (!ready) throw new SyncError('UNAVAILABLE', 'The server is shutting down');
        try {
          await pingWithin(store, pingTimeoutMs);
        } catch (error) {
          request.log.warn({ err: error }, 'readiness check failed');
          throw new SyncError('UNAVAILABLE', 'The database does not answer');
        }
        return { status: 'ok' };
      },
    );
  },
  { name: 'syncline-health', dependencies: ['syncline-auth'], fastify: '5.x' },
);
