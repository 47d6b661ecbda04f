import { describe, expect, it } from 'vitest';
import {
  connectionLimitsFromEnv,
  EnvError,
  limitsFromEnv,
  listenFromEnv,
  readServerEnv,
  redisFromEnv,
  type Env,
} from './env.js';

/** The EnvError `read` throws (fails the test when it throws nothing or something else). */
function envErrorOf(read: () => unknown): EnvError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return error as EnvError;
  }
  throw new Error('expected an EnvError, nothing was thrown');
}

describe('readServerEnv', () => {
  it('gives the defaults for an empty environment (empty values count as unset)', () => {
    const config = readServerEnv({ SYNCLINE_PUSH_LIMIT: '', PORT: '' });
    expect(config).toEqual({
      listen: { port: 3000, host: '127.0.0.1' },
      logLevel: 'info',
      store: { dataDir: './data' },
      auth: { secret: undefined, publicKey: undefined, jwksFile: undefined, production: false },
      collectionsFile: undefined,
      limits: {
        pushLimit: { max: 20, windowMs: 300_000 },
        pullLimit: { max: 600, windowMs: 300_000 },
        adminLimit: { max: 60, windowMs: 300_000 },
        largeBodyConcurrency: 2,
        streams: { perUser: 20, perTenant: 2000 },
      },
      connections: {
        headersTimeoutMs: 10_000,
        bodyTimeoutMs: 20_000,
        requestTimeoutMs: 120_000,
        keepAliveTimeoutMs: 72_000,
        maxRequestsPerSocket: 1000,
      },
      shutdown: { drainDelayMs: 0, timeoutMs: 30_000 },
      redis: undefined,
      corsOrigins: '*',
      upstream: { allow: undefined, dnsServers: undefined },
      metricsToken: undefined,
      webApps: { dashboardDir: undefined, fieldDir: undefined },
    });
  });

  it('reads every value it is given, typed', () => {
    const env: Env = {
      PORT: '8080',
      HOST: '0.0.0.0',
      NODE_ENV: 'production',
      SYNCLINE_LOG_LEVEL: 'WARN',
      SYNCLINE_DATA_DIR: '/var/lib/syncline',
      SYNCLINE_DB_URL: 'postgres://sync@db/sync',
      SYNCLINE_JWT_SECRET: 's3cret',
      SYNCLINE_CONFIG: '/etc/syncline/collections.json',
      SYNCLINE_PUSH_LIMIT: '100/1m',
      SYNCLINE_PULL_LIMIT: '5/30s',
      SYNCLINE_ADMIN_LIMIT: '7/1h',
      SYNCLINE_LARGE_BODY_CONCURRENCY: '4',
      SYNCLINE_STREAMS_PER_USER: '3',
      SYNCLINE_STREAMS_PER_TENANT: '30',
      SYNCLINE_HEADERS_TIMEOUT: '5s',
      SYNCLINE_BODY_TIMEOUT: '1m',
      SYNCLINE_REQUEST_TIMEOUT: '10m',
      SYNCLINE_KEEP_ALIVE_TIMEOUT: '90s',
      SYNCLINE_MAX_REQUESTS_PER_SOCKET: '0',
      SYNCLINE_DRAIN_DELAY: '10s',
      SYNCLINE_SHUTDOWN_TIMEOUT: '1m',
      SYNCLINE_REDIS_URL: 'rediss://cache:6380/2',
      SYNCLINE_REDIS_PREFIX: 'east:',
      SYNCLINE_CORS_ORIGINS: 'https://a.example, https://b.example:8443',
      SYNCLINE_UPSTREAM_ALLOW: ' api.example ,10.0.0.0/8,, ',
      SYNCLINE_UPSTREAM_DNS: '10.0.0.2:53',
      SYNCLINE_METRICS_TOKEN: 'scrape',
      SYNCLINE_DASHBOARD_DIR: '/srv/dashboard',
    };
    expect(readServerEnv(env)).toEqual({
      listen: { port: 8080, host: '0.0.0.0' },
      logLevel: 'warn',
      store: { dataDir: '/var/lib/syncline', url: 'postgres://sync@db/sync' },
      auth: { secret: 's3cret', publicKey: undefined, jwksFile: undefined, production: true },
      collectionsFile: '/etc/syncline/collections.json',
      limits: {
        pushLimit: { max: 100, windowMs: 60_000 },
        pullLimit: { max: 5, windowMs: 30_000 },
        adminLimit: { max: 7, windowMs: 3_600_000 },
        largeBodyConcurrency: 4,
        streams: { perUser: 3, perTenant: 30 },
      },
      connections: {
        headersTimeoutMs: 5_000,
        bodyTimeoutMs: 60_000,
        requestTimeoutMs: 600_000,
        keepAliveTimeoutMs: 90_000,
        maxRequestsPerSocket: 0,
      },
      shutdown: { drainDelayMs: 10_000, timeoutMs: 60_000 },
      redis: { url: 'rediss://cache:6380/2', prefix: 'east:' },
      corsOrigins: ['https://a.example', 'https://b.example:8443'],
      upstream: { allow: ['api.example', '10.0.0.0/8'], dnsServers: ['10.0.0.2:53'] },
      metricsToken: 'scrape',
      webApps: { dashboardDir: '/srv/dashboard', fieldDir: undefined },
    });
  });

  it.each([
    ['PORT', '70000', /^PORT: "70000" is not a port number$/],
    ['PORT', '80a', /^PORT: "80a" is not a port number$/],
    ['SYNCLINE_LOG_LEVEL', 'loud', /^SYNCLINE_LOG_LEVEL: "loud" is not one of fatal, error/],
    ['SYNCLINE_PUSH_LIMIT', '20', /^SYNCLINE_PUSH_LIMIT: "20" is not a rate limit like 20\/5m/],
    ['SYNCLINE_PULL_LIMIT', '20/soon', /^SYNCLINE_PULL_LIMIT: "soon" is not a duration/],
    [
      'SYNCLINE_STREAMS_PER_USER',
      '0',
      /^SYNCLINE_STREAMS_PER_USER: "0" is not a whole number of at least 1$/,
    ],
    [
      'SYNCLINE_LARGE_BODY_CONCURRENCY',
      '1.5',
      /^SYNCLINE_LARGE_BODY_CONCURRENCY: "1.5" is not a whole/,
    ],
    ['SYNCLINE_BODY_TIMEOUT', 'later', /^SYNCLINE_BODY_TIMEOUT: "later" is not a duration/],
    [
      'SYNCLINE_MAX_REQUESTS_PER_SOCKET',
      '-1',
      /^SYNCLINE_MAX_REQUESTS_PER_SOCKET: "-1" is not a whole/,
    ],
    ['SYNCLINE_DRAIN_DELAY', 'soon', /^SYNCLINE_DRAIN_DELAY: "soon" is not a duration/],
    ['SYNCLINE_SHUTDOWN_TIMEOUT', '0', /^SYNCLINE_SHUTDOWN_TIMEOUT: "0" is not a duration/],
    ['SYNCLINE_REDIS_URL', 'cache:6379', /^SYNCLINE_REDIS_URL: "cache:6379" is not a redis:\/\//],
    ['SYNCLINE_REDIS_URL', 'not a url', /^SYNCLINE_REDIS_URL: "not a url" is not a URL/],
    ['SYNCLINE_CORS_ORIGINS', 'https://a.example/', /^SYNCLINE_CORS_ORIGINS: .*did you mean/],
  ])('refuses %s=%s with an error naming the variable', (variable, value, message) => {
    const error = envErrorOf(() => readServerEnv({ [variable]: value }));
    expect(error.message).toMatch(message);
    expect(error).toMatchObject({ variable, value, code: 'CONFIG_INVALID' });
  });

  it('refuses a headers timeout longer than the request timeout, naming both', () => {
    const error = envErrorOf(() =>
      connectionLimitsFromEnv({ SYNCLINE_HEADERS_TIMEOUT: '5m', SYNCLINE_REQUEST_TIMEOUT: '1m' }),
    );
    expect(error.message).toBe(
      'SYNCLINE_HEADERS_TIMEOUT must not be longer than SYNCLINE_REQUEST_TIMEOUT',
    );
    expect(error).toMatchObject({ variable: 'SYNCLINE_HEADERS_TIMEOUT', value: '5m' });
  });
});

describe('the parts read alone (for doctor)', () => {
  it('reads one part without judging the others', () => {
    const env = { SYNCLINE_STREAMS_PER_TENANT: '0', PORT: '0', SYNCLINE_REDIS_URL: '/run/r.sock' };
    expect(listenFromEnv(env)).toEqual({ port: 0, host: '127.0.0.1' });
    expect(redisFromEnv(env)).toEqual({ url: '/run/r.sock', prefix: 'syncline:' });
    expect(envErrorOf(() => limitsFromEnv(env)).variable).toBe('SYNCLINE_STREAMS_PER_TENANT');
  });
});
