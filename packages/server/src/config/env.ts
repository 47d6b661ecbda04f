// The server's environment (PORT, HOST, NODE_ENV and every SYNCLINE_* the server reads; the jobs'
// own are read by jobs-env.ts beside it) as one typed ServerEnv. Nothing outside config/ reads
// the environment: the CLI hands process.env here and passes the result on. A bad value is an
// EnvError naming the variable, the value and what was expected.
import { parseDuration } from './durations.js';
import {
  bodyAdmissionDefaults,
  connectionLimitsDefaults,
  parseRateLimit,
  rateLimitDefaults,
  streamCapsDefaults,
  type ConnectionLimits,
  type RateLimit,
  type StreamCaps,
} from './limits.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A variable with a value the server cannot use; `message` starts with the variable's name. */
export class EnvError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    /** The variable at fault (for a pair that disagrees, the first of them). */
    readonly variable: string,
    /** Its value as set (undefined when the fault is that it is missing). */
    readonly value: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'EnvError';
  }
}

/** `VARIABLE: reason`, the shape of every EnvError but a disagreement between two variables. */
const fault = (variable: string, value: string | undefined, reason: string) =>
  new EnvError(variable, value, `${variable}: ${reason}`);

/** A variable's value; an empty one counts as unset, as in a compose file's `FOO=`. */
export const present = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;

/** `a, b,,c` → ['a', 'b', 'c']: the comma lists SYNCLINE_* variables hold. */
export const listOf = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** The duration `name` holds, else `fallbackMs`; `zero` lets '0' mean none. */
function durationOf(env: Env, name: string, fallbackMs: number, zero = false): number {
  const text = present(env[name]);
  if (text === undefined) return fallbackMs;
  if (zero && text.trim() === '0') return 0;
  try {
    return parseDuration(text);
  } catch (error) {
    throw fault(name, text, (error as Error).message);
  }
}

/** A whole number of at least `min`. */
function countOf(env: Env, name: string, fallback: number, min: number): number {
  const text = present(env[name]);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw fault(name, text, `"${text}" is not a whole number of at least ${min}`);
  }
  return value;
}

function rateLimitOf(env: Env, name: string, fallback: string): RateLimit {
  const text = present(env[name]);
  try {
    return parseRateLimit(text ?? fallback);
  } catch (error) {
    throw fault(name, text, (error as Error).message);
  }
}

export interface ListenEnv {
  /** PORT (default 3000; 0 picks a free one). */
  port: number;
  /** HOST (default 127.0.0.1: a development server is not on the network by accident). */
  host: string;
}

export function listenFromEnv(env: Env): ListenEnv {
  const text = present(env.PORT) ?? '3000';
  const port = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(port) || port > 65535) {
    throw fault('PORT', text, `"${text}" is not a port number`);
  }
  return { port, host: present(env.HOST) ?? '127.0.0.1' };
}

/** pino's levels, and `silent`. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** SYNCLINE_LOG_LEVEL (default info). */
export function logLevelFromEnv(env: Env): LogLevel {
  const text = present(env.SYNCLINE_LOG_LEVEL) ?? 'info';
  const level = logLevels.find((name) => name === text.trim().toLowerCase());
  if (!level)
    throw fault('SYNCLINE_LOG_LEVEL', text, `"${text}" is not one of ${logLevels.join(', ')}`);
  return level;
}

export interface StoreEnv {
  /** SYNCLINE_DATA_DIR (default ./data): the SQLite file and the development token secret. */
  dataDir: string;
  /** SYNCLINE_DB_URL: a postgres:// URL, else SQLite in dataDir. */
  url?: string;
}

export function storeFromEnv(env: Env): StoreEnv {
  const url = present(env.SYNCLINE_DB_URL);
  return { dataDir: present(env.SYNCLINE_DATA_DIR) ?? './data', ...(url ? { url } : {}) };
}

export interface AuthEnv {
  /** SYNCLINE_JWT_SECRET: HS256. */
  secret: string | undefined;
  /** SYNCLINE_JWT_PUBLIC_KEY: a PEM (RS256/ES256). */
  publicKey: string | undefined;
  /** SYNCLINE_JWKS_FILE: a JWKS file of public keys. */
  jwksFile: string | undefined;
  /** NODE_ENV=production: no development secret is made up. */
  production: boolean;
}

export function authFromEnv(env: Env): AuthEnv {
  return {
    secret: present(env.SYNCLINE_JWT_SECRET),
    publicKey: present(env.SYNCLINE_JWT_PUBLIC_KEY),
    jwksFile: present(env.SYNCLINE_JWKS_FILE),
    production: env.NODE_ENV === 'production',
  };
}

/** SYNCLINE_CONFIG: the collections config file (JSON); undefined: the presets only. */
export function collectionsFileFromEnv(env: Env): string | undefined {
  return present(env.SYNCLINE_CONFIG);
}

export interface LimitsEnv {
  /** SYNCLINE_PUSH_LIMIT, SYNCLINE_PULL_LIMIT, SYNCLINE_ADMIN_LIMIT: 'N/5m' per user. */
  pushLimit: RateLimit;
  pullLimit: RateLimit;
  adminLimit: RateLimit;
  /** SYNCLINE_LARGE_BODY_CONCURRENCY: bodies over 1 MiB read and handled at once (at least 1). */
  largeBodyConcurrency: number;
  /** SYNCLINE_STREAMS_PER_USER, SYNCLINE_STREAMS_PER_TENANT (each at least 1). */
  streams: StreamCaps;
}

export function limitsFromEnv(env: Env): LimitsEnv {
  return {
    pushLimit: rateLimitOf(env, 'SYNCLINE_PUSH_LIMIT', rateLimitDefaults.push),
    pullLimit: rateLimitOf(env, 'SYNCLINE_PULL_LIMIT', rateLimitDefaults.pull),
    adminLimit: rateLimitOf(env, 'SYNCLINE_ADMIN_LIMIT', rateLimitDefaults.admin),
    largeBodyConcurrency: countOf(
      env,
      'SYNCLINE_LARGE_BODY_CONCURRENCY',
      bodyAdmissionDefaults.largeBodyConcurrency,
      1,
    ),
    streams: {
      perUser: countOf(env, 'SYNCLINE_STREAMS_PER_USER', streamCapsDefaults.perUser, 1),
      perTenant: countOf(env, 'SYNCLINE_STREAMS_PER_TENANT', streamCapsDefaults.perTenant, 1),
    },
  };
}

/** SYNCLINE_HEADERS_TIMEOUT, _BODY_TIMEOUT, _REQUEST_TIMEOUT, _KEEP_ALIVE_TIMEOUT, _MAX_REQUESTS_PER_SOCKET. */
export function connectionLimitsFromEnv(env: Env): ConnectionLimits {
  const d = connectionLimitsDefaults;
  const limits: ConnectionLimits = {
    headersTimeoutMs: durationOf(env, 'SYNCLINE_HEADERS_TIMEOUT', d.headersTimeoutMs),
    bodyTimeoutMs: durationOf(env, 'SYNCLINE_BODY_TIMEOUT', d.bodyTimeoutMs),
    requestTimeoutMs: durationOf(env, 'SYNCLINE_REQUEST_TIMEOUT', d.requestTimeoutMs),
    keepAliveTimeoutMs: durationOf(env, 'SYNCLINE_KEEP_ALIVE_TIMEOUT', d.keepAliveTimeoutMs),
    maxRequestsPerSocket: countOf(
      env,
      'SYNCLINE_MAX_REQUESTS_PER_SOCKET',
      d.maxRequestsPerSocket,
      0,
    ),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new EnvError(
      'SYNCLINE_HEADERS_TIMEOUT',
      present(env.SYNCLINE_HEADERS_TIMEOUT),
      'SYNCLINE_HEADERS_TIMEOUT must not be longer than SYNCLINE_REQUEST_TIMEOUT',
    );
  }
  return limits;
}

export interface ShutdownEnv {
  /** SYNCLINE_DRAIN_DELAY (default 0: no load balancer to wait for). */
  drainDelayMs: number;
  /** SYNCLINE_SHUTDOWN_TIMEOUT (default 30 s). */
  timeoutMs: number;
}

export function shutdownFromEnv(env: Env): ShutdownEnv {
  return {
    drainDelayMs: durationOf(env, 'SYNCLINE_DRAIN_DELAY', 0, true),
    timeoutMs: durationOf(env, 'SYNCLINE_SHUTDOWN_TIMEOUT', 30_000),
  };
}

export interface RedisEnv {
  /** SYNCLINE_REDIS_URL: redis:// or rediss://, or a socket path. */
  url: string;
  /** SYNCLINE_REDIS_PREFIX (default `syncline:`): every key, so deployments can share a Redis. */
  prefix: string;
}

/** Undefined when SYNCLINE_REDIS_URL is not set (rate limits and pokes stay in the process). */
export function redisFromEnv(env: Env): RedisEnv | undefined {
  const text = present(env.SYNCLINE_REDIS_URL);
  if (text === undefined) return undefined;
  const prefix = present(env.SYNCLINE_REDIS_PREFIX) ?? 'syncline:';
  // ioredis takes a socket path too.
  if (text.startsWith('/')) return { url: text, prefix };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fault('SYNCLINE_REDIS_URL', text, `"${text}" is not a URL like redis://host:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw fault('SYNCLINE_REDIS_URL', text, `"${text}" is not a redis:// or rediss:// URL`);
  }
  return { url: text, prefix };
}

/** SYNCLINE_CORS_ORIGINS: `*` or a comma list of origins (scheme://host[:port]). */
export function parseCorsOrigins(text: string | undefined): '*' | string[] {
  if (text === undefined || text.trim() === '' || text.trim() === '*') return '*';
  const origins = listOf(text);
  for (const origin of origins) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw fault(
        'SYNCLINE_CORS_ORIGINS',
        text,
        `"${origin}" is not an origin (https://host[:port])`,
      );
    }
    if (parsed.origin !== origin) {
      throw fault(
        'SYNCLINE_CORS_ORIGINS',
        text,
        `"${origin}" is not an origin; did you mean "${parsed.origin}"?`,
      );
    }
  }
  return origins;
}

export interface UpstreamEnv {
  /**
   * SYNCLINE_UPSTREAM_ALLOW: the entries (hosts, addresses, CIDRs) as listed; undefined when
   * unset. Their grammar belongs to replay/upstream-address.ts, which checks them when the
   * replay is composed (app/offline-replay.ts: parseUpstreamAllow).
   */
  allow: string[] | undefined;
  /** SYNCLINE_UPSTREAM_DNS: DNS servers (`ip` or `ip:port`) instead of the system resolver. */
  dnsServers: string[] | undefined;
}

export function upstreamFromEnv(env: Env): UpstreamEnv {
  const allow = listOf(env.SYNCLINE_UPSTREAM_ALLOW);
  const dnsServers = listOf(env.SYNCLINE_UPSTREAM_DNS);
  return {
    allow: allow.length > 0 ? allow : undefined,
    dnsServers: dnsServers.length > 0 ? dnsServers : undefined,
  };
}

export interface WebAppsEnv {
  /** SYNCLINE_DASHBOARD_DIR: a built dashboard to serve at /admin (default: the repository's). */
  dashboardDir: string | undefined;
  /** SYNCLINE_FIELD_DIR: a built field app to serve at /app (default: the repository's). */
  fieldDir: string | undefined;
}

/** Everything `syncline serve` reads, each part as its reader above returns it. */
export interface ServerEnv {
  listen: ListenEnv;
  logLevel: LogLevel;
  store: StoreEnv;
  auth: AuthEnv;
  /** SYNCLINE_CONFIG: the collections config file. */
  collectionsFile: string | undefined;
  limits: LimitsEnv;
  connections: ConnectionLimits;
  shutdown: ShutdownEnv;
  redis: RedisEnv | undefined;
  corsOrigins: '*' | string[];
  upstream: UpstreamEnv;
  /** SYNCLINE_METRICS_TOKEN: GET /metrics asks for it as a bearer token. */
  metricsToken: string | undefined;
  webApps: WebAppsEnv;
}

/** Reads the whole environment; throws the first EnvError, in the order of ServerEnv. */
export function readServerEnv(env: Env): ServerEnv {
  return {
    listen: listenFromEnv(env),
    logLevel: logLevelFromEnv(env),
    store: storeFromEnv(env),
    auth: authFromEnv(env),
    collectionsFile: collectionsFileFromEnv(env),
    limits: limitsFromEnv(env),
    connections: connectionLimitsFromEnv(env),
    shutdown: shutdownFromEnv(env),
    redis: redisFromEnv(env),
    corsOrigins: parseCorsOrigins(present(env.SYNCLINE_CORS_ORIGINS)),
    upstream: upstreamFromEnv(env),
    metricsToken: present(env.SYNCLINE_METRICS_TOKEN),
    webApps: {
      dashboardDir: present(env.SYNCLINE_DASHBOARD_DIR),
      fieldDir: present(env.SYNCLINE_FIELD_DIR),
    },
  };
}
