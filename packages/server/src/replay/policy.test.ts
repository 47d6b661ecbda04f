import { describe, expect, it } from 'vitest';
import {
  conflictTypeOf,
  decideAttempt,
  isOverwrite,
  offlineConfigDefaults,
  overwriteHeaders,
  refuseEndpoint,
  refuseOffline,
  refuseUpstreamUrl,
  replayDelayMs,
  serverIdOf,
  upstreamTarget,
  type UpstreamAnswer,
} from './policy.js';
import { createUpstreamPolicy } from './upstream-address.js';

const publicOnly = createUpstreamPolicy();

const now = new Date('2024-02-03T18:00:00.000Z');
const config = { default_conflict_strategy: 'manual' as const };
const response = (status: number, body: unknown = null, retryAfterMs?: number): UpstreamAnswer => ({
  kind: 'response',
  status,
  body,
  durationMs: 12,
  ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
});

describe('decideAttempt', () => {
  const fresh = {
    idempotencyKey: 'k1',
    syncAttempts: 0,
    attemptLimit: 4,
    overwriteKey: null,
    resolutionStrategy: null,
  };

  it('2xx: synced, with the response, the server id and the attempt counted', () => {
    const d = decideAttempt(fresh, response(201, { data: { id: 77 } }), config, now);
    expect(d.outcome).toBe('synced');
    expect(d.patch).toMatchObject({
      status: 'synced',
      statusCode: 201,
      serverId: '77',
      syncAttempts: 1,
      syncedAt: now.toISOString(),
      serverResponse: { data: { id: 77 } },
    });
    expect(d.history.status).toBe('success');
  });

  it.each([
    [{ conflict_type: 'DUPLICATE', id: 's1' }, 'DUPLICATE', 'server_wins'],
    [{ error: { code: 'VERSION_MISMATCH' } }, 'VERSION_MISMATCH', 'manual'],
    [{ type: 'deleted' }, 'DELETED', 'manual'],
    [{ message: 'someone else changed it' }, 'MANUAL', 'manual'],
  ])('409 %j: a %s conflict resolved by %s', (body, type, strategy) => {
    const d = decideAttempt(fresh, response(409, body), config, now);
    expect(d.outcome).toBe('conflict');
    expect(d.patch).toMatchObject({
      status: 'conflict',
      conflictType: type,
      conflictData: body,
      resolutionStrategy: strategy,
      nextAttemptAt: null,
    });
  });

  it('409 under client_wins: sent once more as an overwrite; a second refusal waits for a person', () => {
    const clientWins = { default_conflict_strategy: 'client_wins' as const };
    const first = decideAttempt(
      fresh,
      response(409, { type: 'VERSION_MISMATCH' }),
      clientWins,
      now,
    );
    expect(first.outcome).toBe('conflict');
    expect(first.patch).toMatchObject({
      status: 'pending',
      conflictType: 'VERSION_MISMATCH',
      resolutionStrategy: 'client_wins',
      nextAttemptAt: now.toISOString(),
    });
    const operation = { ...fresh, ...first.patch } as typeof fresh;
    expect(isOverwrite(operation)).toBe(true);
    expect(overwriteHeaders(operation)).toEqual({
      'idempotency-key': 'k1.client_wins',
      'x-conflict-resolution': 'client_wins',
    });
    const second = decideAttempt(operation, response(409, { type: 'DELETED' }), clientWins, now);
    expect(second.patch).toMatchObject({ status: 'conflict', resolutionStrategy: 'manual' });
    const accepted = decideAttempt(operation, response(200, { id: 'x' }), clientWins, now);
    expect(accepted.patch).toMatchObject({ status: 'synced', serverId: 'x' });
    // A duplicate is never overwritten.
    const dup = decideAttempt(fresh, response(409, { code: 'DUPLICATE' }), clientWins, now);
    expect(dup.patch).toMatchObject({ status: 'conflict', resolutionStrategy: 'server_wins' });
  });

  it('5xx: pending again after an exponential delay, failed at the attempt limit', () => {
    const first = decideAttempt(fresh, response(503), config, now);
    expect(first.outcome).toBe('pending');
    expect(first.patch.nextAttemptAt).toBe(new Date(now.getTime() + 2_000).toISOString());
    const third = decideAttempt({ ...fresh, syncAttempts: 2 }, response(500), config, now);
    expect(third.patch.nextAttemptAt).toBe(new Date(now.getTime() + 8_000).toISOString());
    const last = decideAttempt({ ...fresh, syncAttempts: 3 }, response(500), config, now);
    expect(last.outcome).toBe('failed');
    expect(last.patch).toMatchObject({ status: 'failed', errorCategory: 'SERVER_ERROR' });
  });

  it('network errors and timeouts retry; a policy refusal fails at once', () => {
    const network: UpstreamAnswer = {
      kind: 'error',
      category: 'NETWORK',
      message: 'ECONNREFUSED',
      durationMs: 1,
    };
    expect(decideAttempt(fresh, network, config, now).outcome).toBe('pending');
    const policy: UpstreamAnswer = { ...network, category: 'POLICY' };
    expect(decideAttempt(fresh, policy, config, now).patch).toMatchObject({
      status: 'failed',
      errorCategory: 'POLICY',
    });
  });

  it('429 waits at least Retry-After', () => {
    const d = decideAttempt(fresh, response(429, null, 60_000), config, now);
    expect(d.outcome).toBe('pending');
    expect(d.patch.nextAttemptAt).toBe(new Date(now.getTime() + 60_000).toISOString());
  });

  it('other 4xx (and redirects): failed with the error kept', () => {
    const d = decideAttempt(fresh, response(422, { error: { message: 'total < 0' } }), config, now);
    expect(d.patch).toMatchObject({
      status: 'failed',
      statusCode: 422,
      errorCategory: 'CLIENT_ERROR',
      errorMessage: 'HTTP 422: total < 0',
    });
    expect(decideAttempt(fresh, response(302), config, now).outcome).toBe('failed');
  });
});

describe('backoff schedule', () => {
  it('doubles from 2 s and stops at 10 minutes', () => {
    expect([1, 2, 3, 4, 5].map((n) => replayDelayMs(n))).toEqual([2000, 4000, 8000, 16000, 32000]);
    expect(replayDelayMs(40)).toBe(600_000);
  });
});

describe('upstream URLs', () => {
  it('accepts public http(s) URLs without credentials; refuses other schemes and private hosts', () => {
    expect(refuseUpstreamUrl('https://api.payme.example/v1', publicOnly)).toBeUndefined();
    expect(refuseUpstreamUrl('http://8.8.8.8:8080', publicOnly)).toBeUndefined();
    expect(refuseUpstreamUrl('http://127.0.0.1:8080', publicOnly)).toMatch(/loopback/);
    expect(refuseUpstreamUrl('ftp://x.example', publicOnly)).toMatch(/http/);
    expect(refuseUpstreamUrl('file:///etc/passwd', publicOnly)).toMatch(/http/);
    expect(refuseUpstreamUrl('https://u:p@x.example', publicOnly)).toMatch(/credentials/);
    expect(refuseUpstreamUrl('http://169.254.169.254/latest', publicOnly)).toMatch(/link-local/);
    expect(refuseUpstreamUrl('http://metadata.google.internal', publicOnly)).toMatch(/metadata/);
    expect(refuseUpstreamUrl('not a url', publicOnly)).toMatch(/valid/);
  });

  it('with an allow-list, only listed hosts pass', () => {
    const allow = createUpstreamPolicy(['api.payme.example', '*.shops.example', '127.0.0.1:9000']);
    expect(refuseUpstreamUrl('https://api.payme.example', allow)).toBeUndefined();
    expect(refuseUpstreamUrl('https://a.shops.example', allow)).toBeUndefined();
    expect(refuseUpstreamUrl('http://127.0.0.1:9000', allow)).toBeUndefined();
    expect(refuseUpstreamUrl('http://127.0.0.1:9001', allow)).toMatch(/ALLOW/);
    expect(refuseUpstreamUrl('https://evil.example', allow)).toMatch(/ALLOW/);
  });

  it('joins the base path and the endpoint, and never leaves the origin', () => {
    expect(upstreamTarget('https://api.example/v1/', '/api/sales?x=1', publicOnly)).toEqual({
      url: 'https://api.example/v1/api/sales?x=1',
    });
    expect(refuseEndpoint('//evil.example/x')).toBeDefined();
    expect(refuseEndpoint('http://evil.example')).toBeDefined();
    expect(refuseEndpoint('/a\\b')).toBeDefined();
    expect(refuseEndpoint('/a b')).toBeDefined();
    // Dot segments would climb out of the base path the admin configured.
    expect(upstreamTarget('https://api.example/api', '/x/../../y', publicOnly)).toEqual({
      refused: 'endpoint may not hold . or .. segments',
    });
    expect(refuseEndpoint('/x/%2e%2E/y')).toBeDefined();
    expect(refuseEndpoint('/x/./y')).toBeDefined();
    expect(refuseEndpoint('/x/..y/v1.2')).toBeUndefined();
  });
});

describe('offline permissions and answers', () => {
  it('refuses operation types the config does not allow offline', () => {
    expect(refuseOffline(offlineConfigDefaults, 'sale')).toBeUndefined();
    expect(refuseOffline(offlineConfigDefaults, 'stock_adjustment')).toMatch(/stock/);
    expect(refuseOffline({ ...offlineConfigDefaults, offline_mode_enabled: false }, 'sale')).toBe(
      'Offline mode is disabled for this business',
    );
    expect(refuseOffline(offlineConfigDefaults, 'loyalty_points')).toBeUndefined();
  });

  it('reads conflict types and server ids from common body shapes', () => {
    expect(conflictTypeOf({ conflictType: 'already_exists' })).toBe('DUPLICATE');
    expect(conflictTypeOf('plain text')).toBe('MANUAL');
    expect(serverIdOf({ server_id: 'a' })).toBe('a');
    expect(serverIdOf({ _id: 'b' })).toBe('b');
    expect(serverIdOf([1])).toBeNull();
  });
});
