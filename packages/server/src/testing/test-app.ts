// A real server for HTTP tests: SQLite store in a fresh temp dir, services composed as in
// production (app/compose.ts), buildServer() with a known HS256 secret; drive it with
// app.inject() and mint tokens with token().
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { composeServices, type SynclineServices } from '../app/compose.js';
import type { CollectionsConfig } from '../engine/collections.js';
import type { SyncEngine } from '../engine/engine-api.js';
import { createTokenVerifier, mintToken } from '../http/auth.js';
import { buildServer, type BuildServerOptions, type ServerLimits } from '../http/build-server.js';
import {
  createPostgresSyncStore,
  dropPostgresSchema,
  openStore,
  type KyselySyncStore,
} from '../store/index.js';
import { testPgUrl, testStoreKind } from './env.js';

export interface TestAppOptions {
  config?: CollectionsConfig;
  /** Defaults to budgets no test reaches; rate-limit tests pass the real ones. */
  limits?: ServerLimits;
  /** SYNCLINE_UPSTREAM_ALLOW for seed 003's replays (e.g. a test upstream on 127.0.0.1). */
  upstreamAllow?: readonly string[];
  /** GET /metrics: SYNCLINE_METRICS_TOKEN. */
  metricsToken?: string;
  /** SYNCLINE_CORS_ORIGINS as parsed (default any origin). */
  corsOrigins?: BuildServerOptions['corsOrigins'];
}

export interface TestApp {
  app: FastifyInstance;
  store: KyselySyncStore;
  engine: SyncEngine;
  /** Everything app/compose.ts built, for tests that build a second server on the same services. */
  services: SynclineServices;
  /** The HS256 secret the app verifies with, for tests that sign odd tokens themselves. */
  secret: string;
  dataDir: string;
  token(
    sub: string,
    tenant: string,
    role?: 'user' | 'admin',
    extraClaims?: Record<string, unknown>,
  ): Promise<string>;
  /** Closes the app and the store and removes the temp dir. Safe to call after closing the store. */
  close(): Promise<void>;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-test-'));
  const secret = randomBytes(32).toString('hex');
  const pgSchema =
    testStoreKind === 'postgres' ? `syncline_app_${randomBytes(6).toString('hex')}` : undefined;
  const store = pgSchema
    ? await createPostgresSyncStore({ url: requirePgUrl(), schema: pgSchema, max: 4 })
    : await openStore({ dataDir });
  let services: SynclineServices;
  try {
    services = composeServices({
      store,
      ...(options.config ? { collections: options.config } : {}),
      ...(options.upstreamAllow ? { upstreamAllow: options.upstreamAllow } : {}),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const app = buildServer({
    services,
    auth: createTokenVerifier({ secret }),
    limits: {
      pushLimit: '1000000/1m',
      pullLimit: '1000000/1m',
      adminLimit: '1000000/1m',
      ...options.limits,
    },
    logger: false,
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
  });
  await app.ready();
  let closed = false;
  return {
    app,
    store,
    engine: services.engine,
    services,
    secret,
    dataDir,
    token: (sub, tenant, role = 'user', extraClaims) =>
      mintToken({ secret, sub, tenant, role, ...(extraClaims ? { extra: extraClaims } : {}) }),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await services.close();
      await store.close().catch(() => undefined);
      if (pgSchema) await dropPostgresSchema(requirePgUrl(), pgSchema);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function requirePgUrl(): string {
  if (!testPgUrl) throw new Error('SYNCLINE_TEST_STORE=postgres needs SYNCLINE_TEST_PG_URL');
  return testPgUrl;
}
