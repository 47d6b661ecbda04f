// The auth and tenancy matrix over every route: bad tokens answer 401, users on admin routes 403,
// another tenant's ids 404, a revoked device 403 until it registers again.
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';
import { canonicalRoutes, type RouteCase } from './routes.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const inject = (route: RouteCase, authorization?: string) =>
  t.app.inject({
    method: route.method,
    url: route.url,
    headers: authorization ? { authorization } : {},
    ...(route.body ? { payload: route.body } : {}),
  });

async function signed(
  claims: Record<string, unknown>,
  secret: string,
  expiresIn: string | number = '1h',
) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (expiresIn !== 'none') jwt.setExpirationTime(expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

function unsigned(claims: Record<string, unknown>): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('every route refuses a bad token with 401', () => {
  const claims = { sub: 'u1', tenant: 't1' };
  const badTokens: Array<[string, () => Promise<string | undefined>]> = [
    ['no token', async () => undefined],
    ['not a bearer token', async () => 'Basic dTE6cHc='],
    ['garbage', async () => 'Bearer not.a.jwt'],
    [
      'bad signature',
      async () => `Bearer ${await signed(claims, 'another-secret-that-is-long-enough-000')}`,
    ],
    [
      'alg none',
      async () => `Bearer ${unsigned({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 })}`,
    ],
    [
      'expired',
      async () => `Bearer ${await signed(claims, t.secret, Math.floor(Date.now() / 1000) - 60)}`,
    ],
    ['no exp', async () => `Bearer ${await signed(claims, t.secret, 'none')}`],
    ['no tenant', async () => `Bearer ${await signed({ sub: 'u1' }, t.secret)}`],
  ];
  for (const route of canonicalRoutes()) {
    it(`${route.method} ${route.url}`, async () => {
      for (const [name, make] of badTokens) {
        const res = await inject(route, await make());
        expect(res.statusCode, `${name} on ${route.method} ${route.url}`).toBe(401);
        expect(res.json().error.code).toMatch(/^(UNAUTHENTICATED|TOKEN_EXPIRED)$/);
      }
    });
  }
});

describe('admin routes refuse users with 403', () => {
  for (const route of canonicalRoutes().filter((r) => r.admin)) {
    it(`${route.method} ${route.url}`, async () => {
      const res = await inject(route, `Bearer ${await t.token('plain', 't1')}`);
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('ADMIN_REQUIRED');
    });
  }
});

describe('another tenant’s ids answer 404', () => {
  it('devices, conflicts, history and restore', async () => {
    const ownerA = `Bearer ${await t.token('alice', 'tenant-a')}`;
    const adminB = `Bearer ${await t.token('root', 'tenant-b', 'admin')}`;
    const now = () => new Date().toISOString();
    const push = (auth: string, body: object) =>
      t.app.inject({
        method: 'POST',
        url: '/api/sync',
        headers: { authorization: auth },
        payload: body,
      });
    // Tenant A: a device, an entity with two versions, and a conflict waiting for review.
    await push(ownerA, {
      deviceId: 'a-dev',
      changes: [
        {
          entityType: 'asset',
          entityId: 'x',
          operation: 'CREATE',
          payload: { v: 1 },
          clientVersion: 1,
          timestamp: now(),
        },
      ],
    });
    await push(ownerA, {
      deviceId: 'a-dev',
      changes: [
        {
          entityType: 'asset',
          entityId: 'x',
          operation: 'UPDATE',
          payload: { v: 2 },
          clientVersion: 1,
          timestamp: now(),
        },
      ],
    });
    const conflicted = await push(ownerA, {
      deviceId: 'a-dev',
      changes: [
        {
          entityType: 'asset',
          entityId: 'x',
          operation: 'UPDATE',
          payload: { v: 3 },
          clientVersion: 1,
          timestamp: now(),
          conflictStrategy: 'MANUAL',
        },
      ],
    });
    const conflictId = conflicted.json().conflicts[0].id as string;

    const cases: RouteCase[] = [
      { method: 'DELETE', url: '/api/sync/devices/a-dev' },
      {
        method: 'POST',
        url: '/api/sync/conflicts/resolve',
        body: { conflictId, resolution: 'SERVER_WINS' },
      },
      { method: 'GET', url: '/api/sync/entities/asset/x/history' },
      { method: 'POST', url: '/api/sync/entities/asset/x/restore', body: { version: 1 } },
    ];
    for (const route of cases) {
      const res = await inject(route, adminB);
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
    // Tenant B sees none of A's records in lists either.
    for (const url of ['/api/sync/devices', '/api/sync/conflicts']) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: adminB } });
      expect(Object.values(res.json()).flat()).toEqual([]);
    }
    // And A's data is untouched: the conflict still waits, the device is still active.
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/sync/conflicts',
      headers: { authorization: ownerA },
    });
    expect(list.json().conflicts.map((c: { id: string }) => c.id)).toContain(conflictId);
  });
});

describe('a revoked device', () => {
  it('is refused with 403 until it registers again', async () => {
    const auth = `Bearer ${await t.token('carol', 't-rev')}`;
    const sync = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/sync',
        headers: { authorization: auth },
        payload: { deviceId: 'tab-9', changes: [] },
      });
    const delta = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/sync/delta',
        headers: { authorization: auth },
        payload: { deviceId: 'tab-9' },
      });
    expect((await sync()).statusCode).toBe(200);
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: '/api/sync/devices/tab-9',
      headers: { authorization: auth },
    });
    expect(revoke.statusCode).toBeLessThan(300);
    for (const res of [await sync(), await delta()]) {
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('DEVICE_REVOKED');
    }
    const register = await t.app.inject({
      method: 'POST',
      url: '/api/sync/devices',
      headers: { authorization: auth },
      payload: { deviceId: 'tab-9' },
    });
    expect(register.statusCode).toBeLessThan(300);
    expect((await sync()).statusCode).toBe(200);
    expect((await delta()).statusCode).toBe(200);
  });
});
