// `syncline serve | migrate | token | doctor`: the one module that hands process.env to
// config/env.ts (which reads it) and calls listen(). It opens the store, hands it to the
// composition root (app/compose.ts) and serves.
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { composeServices, createCollections } from './app/compose.js';
import type { CollectionRegistry, CollectionsConfig } from './engine/collections.js';
import { parseDuration } from './config/durations.js';
import {
  authFromEnv,
  connectionLimitsFromEnv,
  EnvError,
  limitsFromEnv,
  listenFromEnv,
  collectionsFileFromEnv,
  readServerEnv,
  redisFromEnv,
  shutdownFromEnv,
  storeFromEnv,
  upstreamFromEnv,
  type Env,
  type RedisEnv,
  type UpstreamEnv,
  type WebAppsEnv,
} from './config/env.js';
import { createSchemaCompiler } from './http/ajv-schema-compiler.js';
import { collectionsConfigErrors } from './http/collections-config.js';
import {
  loadAuthKeys,
  secretFileName,
  secretFileTooOpen,
  type AuthKeySources,
} from './http/auth-keys.js';
import { createTokenVerifier, mintToken } from './http/auth.js';
import { buildServer } from './http/build-server.js';
import type { WebApp } from './http/web-apps.js';
import { createRedisBus } from './realtime/redis-bus.js';
import { createShutdownSequence } from './shutdown.js';
import { isPostgresUrl, migrate, openStore, sqliteFileIn } from './store/index.js';
import { parseUpstreamAllow, parseUpstreamDns } from './app/offline-replay.js';

const usage = `Usage: syncline <command> [options]

Commands:
  serve     Serve the sync API (PORT, HOST, SYNCLINE_DATA_DIR, SYNCLINE_DB_URL, SYNCLINE_CONFIG,
            SYNCLINE_JWT_SECRET | SYNCLINE_JWT_PUBLIC_KEY | SYNCLINE_JWKS_FILE,
            SYNCLINE_PUSH_LIMIT, SYNCLINE_PULL_LIMIT, SYNCLINE_ADMIN_LIMIT, SYNCLINE_LOG_LEVEL,
            SYNCLINE_HEADERS_TIMEOUT, SYNCLINE_BODY_TIMEOUT, SYNCLINE_REQUEST_TIMEOUT,
            SYNCLINE_KEEP_ALIVE_TIMEOUT, SYNCLINE_MAX_REQUESTS_PER_SOCKET,
            SYNCLINE_LARGE_BODY_CONCURRENCY, SYNCLINE_STREAMS_PER_USER, SYNCLINE_STREAMS_PER_TENANT,
            SYNCLINE_REDIS_URL, SYNCLINE_REDIS_PREFIX, SYNCLINE_DRAIN_DELAY,
            SYNCLINE_SHUTDOWN_TIMEOUT, SYNCLINE_UPSTREAM_ALLOW, SYNCLINE_UPSTREAM_DNS,
            SYNCLINE_METRICS_TOKEN, SYNCLINE_DASHBOARD_DIR, SYNCLINE_FIELD_DIR,
            SYNCLINE_CORS_ORIGINS)
  migrate   Bring the database schema up to date, then exit
  token     Print a bearer token: --sub <user> --tenant <tenant> [--role user|admin] [--ttl 1h]
            [--claims '{"facilities":["f1"]}'] [--link [--url http://localhost:3000]]
            --link prints a sign-in link to the admin dashboard instead of the bare token
  doctor    Check the database, the token key and the collections config; exit 1 on a failure
`;

const mintHint = 'npm run syncline -- token --sub u1 --tenant t1 [--role admin]';
const dashboardHint = 'npm run syncline -- token --sub admin --tenant t1 --role admin --link';
const fieldHint = `npm run syncline -- token --sub u1 --tenant t1 --claims '{"facilities":["f1"]}'`;

/** The repository's built dashboard, unless SYNCLINE_DASHBOARD_DIR names another build. */
const defaultDashboardDir = fileURLToPath(new URL('../../../apps/dashboard/dist', import.meta.url));
/** The repository's built field app, unless SYNCLINE_FIELD_DIR names another build. */
const defaultFieldDir = fileURLToPath(new URL('../../../apps/field/dist', import.meta.url));

function webAppsOf(dirs: WebAppsEnv): WebApp[] {
  return [
    {
      prefix: '/admin',
      root: resolve(dirs.dashboardDir ?? defaultDashboardDir),
      buildHint: 'npm run build --workspace apps/dashboard',
    },
    {
      prefix: '/app',
      root: resolve(dirs.fieldDir ?? defaultFieldDir),
      buildHint: 'npm run build --workspace apps/field',
    },
  ];
}

/** A fault in the configuration: reported as one line, without a stack. */
class ConfigError extends Error {}

function keySources(env: Env): AuthKeySources {
  return { ...authFromEnv(env), dataDir: storeFromEnv(env).dataDir };
}

/** The token key, as loadAuthKeys finds it; its refusals are configuration faults. */
async function authKeysOf(env: Env) {
  try {
    return await loadAuthKeys(keySources(env));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** Reads SYNCLINE_CONFIG (JSON) and compiles every schema, so that a bad config fails at startup. */
export async function loadCollections(
  path: string | undefined,
): Promise<{ registry: CollectionRegistry; config: CollectionsConfig }> {
  let config: CollectionsConfig = {};
  if (path !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new ConfigError(`SYNCLINE_CONFIG ${path}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`SYNCLINE_CONFIG ${path}: expected a JSON object`);
    }
    const faults = collectionsConfigErrors(parsed);
    if (faults.length > 0) throw new ConfigError(`SYNCLINE_CONFIG ${path}: ${faults.join('; ')}`);
    config = parsed as CollectionsConfig;
  }
  let registry: CollectionRegistry;
  try {
    registry = createCollections(config);
    const compile = createSchemaCompiler();
    for (const name of registry.names()) {
      const schema = registry.get(name).schema;
      try {
        if (schema) compile(schema);
      } catch (error) {
        throw new Error(`schema of "${name}": ${(error as Error).message}`);
      }
    }
  } catch (error) {
    throw new ConfigError(`${path ?? 'collections config'}: ${(error as Error).message}`);
  }
  return { registry, config };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** ioredis loads only when SYNCLINE_REDIS_URL is set: an embedded server never holds it. */
const loadIoredis = () => import('ioredis');

interface RedisConnections {
  /** Rate-limit counters and publishing. */
  publisher: Redis;
  /** Pub/sub only: a subscribed connection can run nothing else. */
  subscriber: Redis;
  prefix: string;
  close(): Promise<void>;
}

/**
 * SYNCLINE_REDIS_URL: one command connection and one subscriber per instance, every key under
 * SYNCLINE_REDIS_PREFIX (default `syncline:`) so deployments can share a Redis.
 */
async function connectRedis(
  config: RedisEnv | undefined,
  logger: Logger,
): Promise<RedisConnections | undefined> {
  if (config === undefined) return undefined;
  const { url, prefix } = config;
  const options = { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 3 };
  const { Redis } = await loadIoredis();
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, options);
  let lastError: Error | undefined;
  for (const [name, client] of [
    ['publisher', publisher],
    ['subscriber', subscriber],
  ] as const) {
    // ioredis reconnects by itself; without a listener an error event would crash the process.
    client.on('error', (error: Error) => {
      lastError = error;
      logger.warn({ err: error, redis: name }, 'redis error');
    });
  }
  try {
    await Promise.all([publisher.connect(), subscriber.connect()]);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw new ConfigError(`SYNCLINE_REDIS_URL: ${(lastError ?? (error as Error)).message}`);
  }
  return {
    publisher,
    subscriber,
    prefix,
    async close() {
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}

/** SYNCLINE_UPSTREAM_ALLOW and SYNCLINE_UPSTREAM_DNS (seed 003's upstream requests), checked. */
function upstreamOf(upstream: UpstreamEnv) {
  return {
    upstreamAllow: parseUpstreamAllow(upstream.allow),
    resolver: parseUpstreamDns(upstream.dnsServers),
  };
}

async function serve(env: Env, out: NodeJS.WritableStream): Promise<number> {
  const config = readServerEnv(env);
  const logger = pino({ level: config.logLevel });
  const { port, host } = config.listen;
  const limits = { ...config.limits, connections: config.connections };
  const { registry } = await loadCollections(config.collectionsFile);
  const keys = await authKeysOf(env);
  const verifier = createTokenVerifier(keys.config);

  const shutdownTiming = config.shutdown;
  const upstream = upstreamOf(config.upstream);
  const { corsOrigins } = config;
  const redis = await connectRedis(config.redis, logger);
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(config.store);
  } catch (error) {
    await redis?.close();
    throw error;
  }
  const { upstreamAllow, resolver } = upstream;
  let services;
  try {
    services = composeServices({
      store,
      collections: registry,
      logger,
      jobsEnv: env,
      ...(redis
        ? {
            realtimeBus: createRedisBus({
              publisher: redis.publisher,
              subscriber: redis.subscriber,
              channel: `${redis.prefix}realtime`,
              logger,
            }),
          }
        : {}),
      ...(upstreamAllow ? { upstreamAllow } : {}),
      ...(resolver ? { resolver } : {}),
    });
  } catch (error) {
    await redis?.close();
    await store.close();
    throw new ConfigError((error as Error).message);
  }
  const { jobs, realtime } = services;
  const app = buildServer({
    services,
    auth: verifier,
    limits: { ...limits, ...(redis ? { redis: redis.publisher } : {}) },
    logger,
    metricsToken: config.metricsToken,
    webApps: webAppsOf(config.webApps),
    corsOrigins,
  });

  // Shutdown, in order: readiness goes to 503 (and stays so for the drain delay, long enough for
  // the load balancer's health check to see it); streams get a reconnect hint and the server
  // stops accepting while requests in flight finish and commit; then Redis and the store close.
  const shutdown = createShutdownSequence(logger);
  shutdown.add('stop-accepting', 'readiness', async () => {
    app.setNotReady();
    if (shutdownTiming.drainDelayMs > 0) await sleep(shutdownTiming.drainDelayMs);
  });
  shutdown.add('drain', 'http', async () => {
    const closed = app.close();
    // close() ends the connections idle at that moment; one busy with a request becomes idle
    // when its response is sent and would otherwise linger until its keep-alive timeout.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    try {
      await closed;
    } finally {
      clearInterval(sweep);
    }
  });
  shutdown.add('stop-workers', 'jobs', () => jobs.stop());
  shutdown.add('release', 'realtime', () => realtime.close());
  if (redis) shutdown.add('release', 'redis', () => redis.close());
  shutdown.add('release', 'store', () => store.close());

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: shutdownTiming.timeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, shutdownTiming.timeoutMs);
    timer.unref();
    void shutdown.run().then((ok) => process.exit(ok ? 0 : 1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  try {
    await app.listen({ port, host });
  } catch (error) {
    await realtime.close();
    await redis?.close();
    await store.close();
    throw error;
  }
  await jobs.start();
  logger.info(
    {
      database: store.dialect,
      collections: registry.names().length,
      auth: keys.source,
      algorithms: verifier.algorithms,
      shared: redis ? 'redis' : 'in-process',
    },
    'syncline ready',
  );
  if (keys.source === 'data-dir-secret') {
    out.write(
      `\nNo SYNCLINE_JWT_SECRET / SYNCLINE_JWT_PUBLIC_KEY / SYNCLINE_JWKS_FILE set: tokens are verified with the ` +
        `development secret in ${keys.secretFile}${keys.created ? ' (just created)' : ''}.\n` +
        `Mint a token with:  ${mintHint}\n` +
        `Admin dashboard:    http://localhost:${port}/admin/ (sign-in link: ${dashboardHint})\n` +
        `Field app:          http://localhost:${port}/app/ (a user's token: ${fieldHint})\n\n`,
    );
  }
  return 0;
}

async function runMigrate(env: Env, out: NodeJS.WritableStream): Promise<number> {
  const ran = await migrate(storeFromEnv(env));
  out.write(
    ran.length === 0
      ? 'The database is up to date.\n'
      : `Ran ${ran.length} migration(s): ${ran.join(', ')}\n`,
  );
  return 0;
}

async function token(args: string[], env: Env, out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      tenant: { type: 'string' },
      role: { type: 'string', default: 'user' },
      ttl: { type: 'string', default: '1h' },
      // More claims for access rules, as JSON: --claims '{"facilities":["f1"]}'.
      claims: { type: 'string' },
      // Print a dashboard sign-in link: the token rides in the URL fragment, which browsers never send.
      link: { type: 'boolean', default: false },
      url: { type: 'string' },
    },
    strict: true,
  });
  if (!values.sub || !values.tenant)
    throw new ConfigError(`token needs --sub and --tenant: ${mintHint}`);
  if (values.role !== 'user' && values.role !== 'admin')
    throw new ConfigError('--role must be user or admin');
  let ttlMs: number;
  try {
    ttlMs = parseDuration(values.ttl);
  } catch (error) {
    throw new ConfigError(`--ttl: ${(error as Error).message}`);
  }
  let extra: Record<string, unknown> | undefined;
  if (values.claims !== undefined) {
    try {
      extra = JSON.parse(values.claims) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`--claims: ${(error as Error).message}`);
    }
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra))
      throw new ConfigError('--claims must be a JSON object, e.g. \'{"facilities":["f1"]}\'');
  }
  const keys = await authKeysOf(env);
  if (keys.secret === undefined) {
    throw new ConfigError(
      'The server verifies tokens with a public key; mint them where the private key lives (your identity provider).',
    );
  }
  const jwt = await mintToken({
    secret: keys.secret,
    sub: values.sub,
    tenant: values.tenant,
    role: values.role,
    ttlSeconds: Math.max(1, Math.round(ttlMs / 1000)),
    ...(extra ? { extra } : {}),
  });
  if (!values.link) {
    out.write(`${jwt}\n`);
    return 0;
  }
  out.write(`${dashboardLink(values.url ?? `http://localhost:${listenFromEnv(env).port}`, jwt)}\n`);
  return 0;
}

/** `<server>/admin/#access_token=…`: the dashboard keeps the token and clears the fragment. */
export function dashboardLink(serverUrl: string, jwt: string): string {
  let base: URL;
  try {
    base = new URL(serverUrl);
  } catch {
    throw new ConfigError(`--url: "${serverUrl}" is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new ConfigError('--url must be an http:// or https:// URL');
  }
  const link = new URL('admin/', base.href.endsWith('/') ? base.href : `${base.href}/`);
  link.hash = `access_token=${jwt}`;
  return link.href;
}

async function doctor(env: Env, out: NodeJS.WritableStream): Promise<number> {
  let failed = false;
  const check = async (name: string, run: () => Promise<string>) => {
    try {
      out.write(`ok    ${name}: ${await run()}\n`);
    } catch (error) {
      failed = true;
      out.write(`FAIL  ${name}: ${(error as Error).message}\n`);
    }
  };

  await check('database', async () => {
    const options = storeFromEnv(env);
    const store = await openStore({ ...options, migrate: false });
    try {
      await store.ping();
    } finally {
      await store.close();
    }
    return isPostgresUrl(options.url)
      ? `PostgreSQL answers`
      : `SQLite ${sqliteFileIn(options.dataDir)} answers`;
  });

  await check('token key', async () => {
    const sources = keySources(env);
    const devSecret = join(sources.dataDir, secretFileName);
    const none = !sources.secret && !sources.publicKey && !sources.jwksFile;
    if (none && !sources.production && !existsSync(devSecret)) {
      return `none configured; serve will create a development secret in ${devSecret}`;
    }
    const keys = await loadAuthKeys(sources);
    const verifier = createTokenVerifier(keys.config);
    if (keys.secretFile && (await secretFileTooOpen(keys.secretFile))) {
      throw new Error(`${keys.secretFile} is readable by others: chmod 600 it`);
    }
    return `${keys.source}${keys.secretFile ? ` (${keys.secretFile})` : ''}, algorithms ${verifier.algorithms.join(', ')}`;
  });

  await check('collections config', async () => {
    const path = collectionsFileFromEnv(env);
    const { registry } = await loadCollections(path);
    return `${path ?? 'presets only'}: ${registry.names().length} collections${registry.strict ? ' (strict)' : ''}`;
  });

  await check('redis', async () => {
    const redis = redisFromEnv(env);
    if (redis === undefined) return 'not set: rate limits and realtime pokes stay in this process';
    const { url, prefix } = redis;
    const { Redis } = await loadIoredis();
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    let lastError: Error | undefined;
    client.on('error', (error: Error) => {
      lastError = error;
    });
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      throw lastError ?? error;
    } finally {
      client.disconnect();
    }
    return `answers; keys under "${prefix}"`;
  });

  await check('shutdown', async () => {
    const { drainDelayMs, timeoutMs } = shutdownFromEnv(env);
    return `drain delay ${drainDelayMs / 1000} s, timeout ${timeoutMs / 1000} s`;
  });

  await check('upstream', async () => {
    const upstream = upstreamFromEnv(env);
    const { upstreamAllow } = upstreamOf(upstream);
    const dns = upstream.dnsServers?.join(', ');
    const hosts = upstreamAllow
      ? `only ${upstreamAllow.join(', ')}`
      : 'any host at a public address (SYNCLINE_UPSTREAM_ALLOW not set)';
    return `seed 003 replays reach ${hosts}; names resolve through ${dns ?? 'the system resolver'}`;
  });

  await check('rate limits', async () => {
    const { pushLimit, pullLimit, adminLimit, streams } = limitsFromEnv(env);
    const show = (l: { max: number; windowMs: number }) => `${l.max} per ${l.windowMs / 1000} s`;
    return (
      `push ${show(pushLimit)}, pull ${show(pullLimit)}, admin ${show(adminLimit)}, ` +
      `streams ${streams.perUser} per user and ${streams.perTenant} per tenant on each instance`
    );
  });

  await check('timeouts', async () => {
    const c = connectionLimitsFromEnv(env);
    const s = (ms: number) => `${ms / 1000} s`;
    return (
      `headers ${s(c.headersTimeoutMs)}, body pause ${s(c.bodyTimeoutMs)}, ` +
      `request ${s(c.requestTimeoutMs)}, keep-alive ${s(c.keepAliveTimeoutMs)}, ` +
      `${c.maxRequestsPerSocket || 'unlimited'} requests per connection`
    );
  });

  return failed ? 1 : 0;
}

/** Runs one command; resolves to the exit code (serve resolves once listening). */
export async function main(
  argv: string[],
  env: Env = process.env,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(env, out);
      case 'migrate':
        return await runMigrate(env, out);
      case 'token':
        return await token(rest, env, out);
      case 'doctor':
        return await doctor(env, out);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(usage);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`Unknown command "${command}".\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    const known =
      error instanceof ConfigError ||
      error instanceof EnvError ||
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    process.stderr.write(
      `syncline ${command}: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`,
    );
    return 1;
  }
}

// Run when executed directly (node dist/cli.js …, or the sources under tsx); bin/syncline.js calls
// main() itself.
const entry = process.argv[1];
if (entry && existsSync(entry) && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  void main(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
