// Assembles the Fastify app from its plugins without listening (Fastify's Testing guide): tests
// call app.inject(), the CLI calls listen().
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { LoggerOptions } from 'pino';
import { limitsDefaults } from '@syncline/protocol';
import type { CollectionRegistry } from '../engine/collections.js';
import type { SyncEngine } from '../engine/engine-api.js';
import type { TenantSettingsService } from '../jobs/tenant-settings.js';
import type { Realtime } from '../realtime/realtime.js';
import type { DashboardQueries } from '../store/dashboard-queries.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { adminRoutesPlugin } from './admin-routes.js';
import { createValidatorCompiler } from './ajv-schema-compiler.js';
import {
  authPlugin,
  createTokenVerifier,
  withoutAccessToken,
  type TokenVerifier,
  type TokenVerifierConfig,
} from './auth.js';
import { bodyAdmissionDefaults, bodyAdmissionPlugin } from './body-admission.js';
import { bodyParsingPlugin } from './body-parsing.js';
import { compressionPlugin } from './compression.js';
import {
  clientErrorHandler,
  connectionLimitsDefaults,
  connectionServerOptions,
  type ConnectionLimits,
} from './connection-limits.js';
import { corsPlugin } from './cors.js';
import { docsPlugin } from './docs.js';
import { errorHandlerPlugin, sendRefusal, toRefusal } from './error-handler.js';
import { healthPlugin } from './health.js';
import { nodeCrypto } from './node-crypto.js';
import {
  parseRateLimit,
  rateLimitDefaults,
  rateLimitsPlugin,
  type RateLimit,
  type RateLimitRedis,
} from './rate-limits.js';
import { schemaVersionPlugin } from './schema-version.js';
import { syncRoutesPlugin } from './sync-routes.js';
import { streamRoutesPlugin } from './stream-routes.js';
import type { StreamCaps } from '../realtime/stream-slots.js';
import { settingsRoutesPlugin } from './settings-routes.js';
import { dashboardRoutesPlugin } from './dashboard-routes.js';
import { metricsPlugin, type ServerMetrics } from './metrics.js';
import { webAppsPlugin, type WebApp } from './web-apps.js';

export interface ServerLimits {
  /** Largest request body in bytes, after gzip decompression (default 10 MiB). */
  bodyLimit?: number;
  /** Pushes per user: 'N/5m', 'N/30s', 'N/1h' or { max, windowMs } (default '20/5m'). */
  pushLimit?: string | RateLimit;
  /** Pulls per user (default '600/5m'). */
  pullLimit?: string | RateLimit;
  /** Admin work per user: retries, replays, cleanup, invalidation, resolutions (default '60/5m'). */
  adminLimit?: string | RateLimit;
  /** An ioredis-like client: rate budgets shared across server instances. */
  redis?: RateLimitRedis;
  /** Timeouts and keep-alive limits for slow clients (connectionLimitsDefaults). */
  connections?: Partial<ConnectionLimits>;
  /** Bodies over 1 MiB (or of unknown length) read and handled at the same time (default 2). */
  largeBodyConcurrency?: number;
  /** Open realtime streams per user and per tenant, on this instance (streamCapsDefaults). */
  streams?: Partial<StreamCaps>;
}

/** Registers a group of routes on the app (e.g. `(app) => void app.register(plugin, options)`). */
export type ServerRoutes = (app: FastifyInstance) => void;

/** What the routes serve; app/compose.ts builds them (its SynclineServices fit this). */
export interface ServerServices {
  /** /readyz pings it; the dashboard and stream routes read it. */
  readonly store: KyselySyncStore;
  readonly collections: CollectionRegistry;
  readonly engine: SyncEngine;
  /** GET /api/sync/stream's hub; the engine must publish its commits to it. */
  readonly realtime: Realtime;
  /**
   * Routes beside the canonical API, registered after the admin routes: the seeds' (seeds/),
   * which app/compose.ts hands over.
   */
  readonly compatRoutes?: readonly ServerRoutes[];
  /** GET/PATCH /api/sync/admin/settings. */
  readonly settings: TenantSettingsService;
  /** GET /metrics counts into it. */
  readonly metrics: ServerMetrics;
  readonly dashboardQueries: DashboardQueries;
}

export interface BuildServerOptions {
  /** What app/compose.ts built: the routes call these; buildServer builds none of them. */
  services: ServerServices;
  /** A verifier, or the key config to build one from (createTokenVerifier). */
  auth: TokenVerifier | TokenVerifierConfig;
  limits?: ServerLimits;
  /** pino options, a pino logger (shared with the engine), or false for silence (tests). */
  logger?: LoggerOptions | FastifyBaseLogger | false;
  /** GET /metrics: SYNCLINE_METRICS_TOKEN (counted into services.metrics). */
  metricsToken?: string | undefined;
  /** Built web apps to serve, e.g. the admin dashboard at /admin. */
  webApps?: readonly WebApp[];
  /** Origins allowed to call /api/... from browsers (SYNCLINE_CORS_ORIGINS); default any. */
  corsOrigins?: '*' | readonly string[];
}

/** A device counts as active in /metrics when it synced within this long. */
const activeDeviceMs = 24 * 60 * 60_000;

const toRateLimit = (value: string | RateLimit): RateLimit =>
  typeof value === 'string' ? parseRateLimit(value) : value;

function isLogger(value: unknown): value is FastifyBaseLogger {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { child?: unknown }).child === 'function'
  );
}

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const limits = options.limits ?? {};
  const bodyLimit = limits.bodyLimit ?? limitsDefaults.maxBodyBytes;
  const push = toRateLimit(limits.pushLimit ?? rateLimitDefaults.push);
  const pull = toRateLimit(limits.pullLimit ?? rateLimitDefaults.pull);
  const admin = toRateLimit(limits.adminLimit ?? rateLimitDefaults.admin);
  const logger = options.logger ?? { level: 'info' };
  const connections = { ...connectionLimitsDefaults, ...limits.connections };

  const app = Fastify({
    ...(isLogger(logger) ? { loggerInstance: logger } : { logger }),
    ...connectionServerOptions(connections),
    clientErrorHandler,
    bodyLimit,
    // Belt and braces: body-parsing.ts replaces Fastify's JSON parser and refuses all three keys
    // itself (FORBIDDEN_KEY), but any Fastify-owned parsing must refuse poisoning too.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // One summary line per sync request instead of two lines per request.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // Path parameters are bounded by their schemas (ids up to 128 characters), not by the
    // router's default of 100; a path past this or one that does not decode is refused in the
    // protocol's error shape, like every other refusal.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: (error, _request, reply) => sendRefusal(reply, toRefusal(error)),
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(createValidatorCompiler());

  const { services } = options;
  const { store, engine, realtime, collections, metrics, dashboardQueries } = services;
  app.addHook('onReady', async () => {
    await realtime.ready;
  });

  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        url: withoutAccessToken(request.url),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  // Order matters: the docs plugin must see every route, and routes use auth and the limits.
  // A refused body is read up to four times the limit before the answer, so that a client which
  // sends a little too much still receives it.
  void app.register(errorHandlerPlugin, {
    drainBytes: 4 * bodyLimit,
    bodyTimeoutMs: connections.bodyTimeoutMs,
  });
  void app.register(bodyAdmissionPlugin, {
    bodyTimeoutMs: connections.bodyTimeoutMs,
    largeBodyConcurrency: limits.largeBodyConcurrency ?? bodyAdmissionDefaults.largeBodyConcurrency,
    largeBodyBytes: bodyAdmissionDefaults.largeBodyBytes,
  });
  void app.register(bodyParsingPlugin, { bodyLimit });
  // Before the routes: the plugin wraps each route as it is added.
  void app.register(compressionPlugin);
  // Before auth: a preflight carries no token and is answered before any route runs.
  void app.register(corsPlugin, { origins: options.corsOrigins ?? '*' });
  void app.register(docsPlugin);
  const verifier = 'verify' in options.auth ? options.auth : createTokenVerifier(options.auth);
  void app.register(authPlugin, { verifier });
  void app.register(rateLimitsPlugin, {
    push,
    pull,
    admin,
    ...(limits.redis ? { redis: limits.redis } : {}),
  });
  void app.register(healthPlugin, { store });
  // Before the routes: its latency hook must be in place when they are added.
  void app.register(metricsPlugin, {
    metrics,
    token: options.metricsToken,
    openStreams: () => realtime.hub.size(),
    groupCommits: store.groupCommits,
    totals: () =>
      dashboardQueries.serverTotals(new Date(Date.now() - activeDeviceMs).toISOString()),
  });
  void app.register(schemaVersionPlugin);
  void app.register(syncRoutesPlugin, { engine });
  void app.register(adminRoutesPlugin, { engine });
  for (const routes of services.compatRoutes ?? []) routes(app);
  void app.register(streamRoutesPlugin, {
    hub: realtime.hub,
    store,
    collections: realtime.collections,
    crypto: nodeCrypto,
    ...(limits.streams ? { caps: limits.streams } : {}),
  });
  void app.register(settingsRoutesPlugin, { settings: services.settings });
  void app.register(dashboardRoutesPlugin, {
    store,
    engine,
    collections,
    tenantSettings: services.settings,
  });
  if (options.webApps?.length) void app.register(webAppsPlugin, { apps: options.webApps });
  return app;
}
