// Push and pull budgets per user: the 21st push in five minutes answers 429 with Retry-After,
// pulls spend their own budget, and one user's budget is not another's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { parseDuration, parseRateLimit } from './rate-limits.js';

describe('parseRateLimit', () => {
  it('reads N/window', () => {
    expect(parseRateLimit('20/5m')).toEqual({ max: 20, windowMs: 300_000 });
    expect(parseRateLimit('10/30s')).toEqual({ max: 10, windowMs: 30_000 });
    expect(parseRateLimit('600 / 1h')).toEqual({ max: 600, windowMs: 3_600_000 });
    expect(parseRateLimit('5/m')).toEqual({ max: 5, windowMs: 60_000 });
  });

  it('refuses anything else', () => {
    for (const bad of ['20', '/5m', '0/5m', '-1/5m', '20/5x', '20/0m', 'x/5m', '2.5/5m']) {
      expect(() => parseRateLimit(bad), bad).toThrow();
    }
    expect(parseDuration('7d')).toBe(604_800_000);
  });
});

describe('budgets', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ limits: { pushLimit: '20/5m', pullLimit: '5/1m' } });
  });
  afterAll(() => t.close());

  // One device per token: a device belongs to one user.
  const deviceOf = (token: string) => `d-${token.slice(-16)}`;
  const push = (token: string, changes: number, id = Math.random().toString(36).slice(2)) =>
    t.app.inject({
      method: 'POST',
      url: '/api/sync',
      headers: { authorization: `Bearer ${token}` },
      payload: {
        deviceId: deviceOf(token),
        changes: Array.from({ length: changes }, (_, i) => ({
          entityType: 'asset',
          entityId: `${id}-${i}`,
          operation: 'CREATE',
          payload: { name: 'x' },
          clientVersion: 1,
          timestamp: new Date().toISOString(),
        })),
      },
    });
  const delta = (token: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/sync/delta',
      headers: { authorization: `Bearer ${token}` },
      payload: { deviceId: deviceOf(token) },
    });

  it('the 21st push → 429 RATE_LIMITED with Retry-After in seconds; pulls still pass', async () => {
    const alice = await t.token('alice', 'shop');
    for (let i = 0; i < 20; i++)
      expect((await push(alice, 1)).statusCode, `push ${i + 1}`).toBe(200);
    const refused = await push(alice, 1);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);

    // The pull budget is separate: an empty push and a delta page still answer.
    expect((await push(alice, 0)).statusCode).toBe(200);
    expect((await delta(alice)).statusCode).toBe(200);

    // Budgets are per user within a tenant, and per tenant for the same user id.
    expect((await push(await t.token('bob', 'shop'), 1)).statusCode).toBe(200);
    expect((await push(await t.token('alice', 'other-shop'), 1)).statusCode).toBe(200);
  });

  it('pulls have their own budget, which does not spend pushes', async () => {
    const carol = await t.token('carol', 'shop');
    for (let i = 0; i < 5; i++) expect((await delta(carol)).statusCode, `pull ${i + 1}`).toBe(200);
    const refused = await delta(carol);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    // An empty push is a pull, so it is refused too; a push with changes is not.
    expect((await push(carol, 0)).statusCode).toBe(429);
    expect((await push(carol, 2)).statusCode).toBe(200);
  });

  it('a refused request is not applied', async () => {
    const dave = await t.token('dave', 'shop');
    for (let i = 0; i < 20; i++) await push(dave, 1);
    expect((await push(dave, 1, 'late')).statusCode).toBe(429);
    const erin = await t.token('erin', 'shop');
    const feed = await t.app.inject({
      method: 'POST',
      url: '/api/sync/delta',
      headers: { authorization: `Bearer ${erin}` },
      payload: { deviceId: 'e1', pageSize: 1000 },
    });
    expect(feed.json().changes.map((c: { entityId: string }) => c.entityId)).not.toContain(
      'late-0',
    );
  });
});

describe('every route that writes or starts work spends a budget', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('the table of routes and budgets (reads spend none)', () => {
    const table = Object.fromEntries(
      t.app
        .routeBudgets()
        .filter((route) => route.url.startsWith('/api/'))
        .map((route) => [`${route.method} ${route.url}`, route.budget]),
    );
    expect(table).toEqual({
      'POST /api/sync': 'push or pull',
      'POST /api/sync/delta': 'pull',
      'POST /api/sync/snapshot': 'pull',
      'GET /api/sync/status': null,
      'GET /api/sync/devices': null,
      'POST /api/sync/devices': 'admin',
      'DELETE /api/sync/devices/:deviceId': 'admin',
      'GET /api/sync/conflicts': null,
      'POST /api/sync/conflicts/resolve': 'admin',
      'POST /api/sync/queue/retry': 'admin',
      'GET /api/sync/queue/stats': null,
      'GET /api/sync/entities/:type/:id/history': null,
      'POST /api/sync/entities/:type/:id/restore': 'admin',
      'POST /api/sync/cache/invalidate': 'admin',
      'POST /api/attendance/sync': 'push',
      'POST /api/v1/sync/queue': 'push',
      'GET /api/v1/sync/pending': null,
      'POST /api/v1/sync/process/:id': 'push',
      'PATCH /api/v1/sync/resolve/:id': 'admin',
      'POST /api/v1/sync/retry': 'admin',
      'GET /api/v1/sync/stats': null,
      'GET /api/offline/status': null,
      'GET /api/offline/pending': null,
      'GET /api/offline/history/:id': null,
      'POST /api/offline/sync': 'admin',
      'POST /api/offline/sync/:id': 'admin',
      'POST /api/offline/resolve/:id': 'admin',
      'POST /api/offline/retry': 'admin',
      'GET /api/offline/config': null,
      'PATCH /api/offline/config': 'admin',
      'DELETE /api/offline/cleanup': 'admin',
      'POST /api/offline/queue': 'pull',
      'GET /api/sync/stream': null,
      'GET /api/sync/admin/overview': null,
      'GET /api/sync/admin/activity': null,
      'GET /api/sync/admin/alerts': null,
      'GET /api/sync/admin/audit': null,
      'GET /api/sync/admin/devices': null,
      'GET /api/sync/admin/devices/:deviceId/history': null,
      'GET /api/sync/admin/conflicts': null,
      'GET /api/sync/admin/conflicts/:id': null,
      'GET /api/sync/admin/mutations': null,
      'GET /api/sync/admin/entities': null,
      'GET /api/sync/admin/collections': null,
      'GET /api/sync/admin/settings': null,
      'PATCH /api/sync/admin/settings': 'admin',
    });
  });

  it('no route but a read goes without one', () => {
    const unbudgeted = t.app
      .routeBudgets()
      .filter((route) => route.budget === null && route.method !== 'GET');
    expect(unbudgeted).toEqual([]);
  });
});

describe('the admin budget', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ limits: { adminLimit: '2/1m' } });
  });
  afterAll(() => t.close());

  it('is spent by retries, resolutions and device changes alike, per user', async () => {
    const call = async (token: string, method: 'POST' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload ? { payload } : {}),
      });
    const ann = await t.token('ann', 'shop');
    expect((await call(ann, 'POST', '/api/sync/queue/retry', {})).statusCode).toBe(200);
    expect(
      (await call(ann, 'POST', '/api/sync/devices', { deviceId: 'ann-tablet' })).statusCode,
    ).toBe(200);
    const refused = await call(ann, 'POST', '/api/sync/conflicts/resolve', {
      conflictId: 'c-1',
      resolution: 'SERVER_WINS',
    });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMITED');
    expect((await call(ann, 'DELETE', '/api/sync/devices/ann-tablet')).statusCode).toBe(429);
    // Pushes and pulls are other budgets; another user has a budget of their own.
    const push = await call(ann, 'POST', '/api/sync', { deviceId: 'ann-tablet', changes: [] });
    expect(push.statusCode).toBe(200);
    const bob = await t.token('bob', 'shop');
    expect((await call(bob, 'POST', '/api/sync/queue/retry', {})).statusCode).toBe(200);
  });
});
