// Syncline-Schema-Version on the /api/sync routes: a valid header is logged with the request and
// kept on the device (the dashboard's device listing shows it); a malformed one is refused with
// INVALID_SCHEMA_VERSION before anything is applied, pulled or counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLog } from '../testing/captured-log.js';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { buildServer } from './build-server.js';

let t: TestApp;
const { logger, lines } = capturedLog();
let app: ReturnType<typeof buildServer>;

beforeAll(async () => {
  t = await createTestApp();
  app = buildServer({
    services: t.services,
    auth: { secret: t.secret },
    // A push budget of 2: a refused request must not spend it.
    limits: { pushLimit: '2/1m', pullLimit: '1000/1m', adminLimit: '1000/1m' },
    logger,
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await t.close();
});

const change = (entityId: string) => ({
  entityType: 'asset',
  entityId,
  operation: 'CREATE',
  payload: { name: entityId },
  clientVersion: 1,
  timestamp: new Date().toISOString(),
});

async function push(tenant: string, device: string, entityId: string, schemaVersion?: string) {
  return app.inject({
    method: 'POST',
    url: '/api/sync',
    headers: {
      authorization: `Bearer ${await t.token('u1', tenant)}`,
      ...(schemaVersion === undefined ? {} : { 'syncline-schema-version': schemaVersion }),
    },
    payload: { deviceId: device, changes: [change(entityId)] },
  });
}

async function adminDevices(tenant: string) {
  const res = await app.inject({
    method: 'GET',
    url: '/api/sync/admin/devices',
    headers: { authorization: `Bearer ${await t.token('boss', tenant, 'admin')}` },
  });
  expect(res.statusCode).toBe(200);
  return (res.json() as { devices: Array<{ deviceId: string; schemaVersions: string | null }> })
    .devices;
}

describe('a valid Syncline-Schema-Version', () => {
  it('is logged with the request and kept on the device until it says otherwise', async () => {
    const first = await push('sv-valid', 'd1', 'a1', 'visits=3, assets=1');
    expect(first.statusCode).toBe(200);
    const logged = lines.find((l) => l.msg === 'sync' && l.tenant === 'sv-valid');
    // Canonical: sorted by type, no spaces.
    expect(logged).toMatchObject({ route: '/api/sync', schemaVersion: 'assets=1,visits=3' });
    expect(await adminDevices('sv-valid')).toMatchObject([
      { deviceId: 'd1', schemaVersions: 'assets=1,visits=3' },
    ]);

    // A pull without the header keeps what the device said; a new version replaces it.
    const delta = await app.inject({
      method: 'POST',
      url: '/api/sync/delta',
      headers: { authorization: `Bearer ${await t.token('u1', 'sv-valid')}` },
      payload: { deviceId: 'd1' },
    });
    expect(delta.statusCode).toBe(200);
    expect((await adminDevices('sv-valid'))[0]?.schemaVersions).toBe('assets=1,visits=3');
    const snapshot = await app.inject({
      method: 'POST',
      url: '/api/sync/snapshot',
      headers: {
        authorization: `Bearer ${await t.token('u1', 'sv-valid')}`,
        'syncline-schema-version': 'visits=4',
      },
      payload: { deviceId: 'd1' },
    });
    expect(snapshot.statusCode).toBe(200);
    expect((await adminDevices('sv-valid'))[0]?.schemaVersions).toBe('visits=4');
  });

  it('leaves a device that never sends it at null', async () => {
    expect((await push('sv-none', 'd2', 'a1')).statusCode).toBe(200);
    expect(await adminDevices('sv-none')).toMatchObject([{ deviceId: 'd2', schemaVersions: null }]);
  });
});

describe('a malformed Syncline-Schema-Version', () => {
  const malformed: Array<[string, string]> = [
    ['visits', 'not type=version'],
    ['visits=', 'whole number'],
    ['visits=0', 'whole number'],
    ['visits=-1', 'whole number'],
    ['visits=01', 'whole number'],
    ['visits=1.5', 'whole number'],
    ['visits=3;assets=1', 'not type=version'],
    ['Visits=3', 'not an entity type'],
    ['=3', 'not an entity type'],
    ['visits=3,,assets=1', 'not type=version'],
    ['visits=3=4', 'not type=version'],
    ['visits=3,visits=4', 'named twice'],
    [`${'a'.repeat(65)}=1`, 'not an entity type'],
    [Array.from({ length: 101 }, (_, i) => `t${i}=1`).join(','), 'more than 100'],
    [`visits=${'1'.repeat(3000)}`, 'longer than 2048'],
  ];

  it.each(malformed.map(([header, reason]) => ({ shown: header.slice(0, 40), header, reason })))(
    '$shown is refused with 400 and changes nothing',
    async ({ header, reason }) => {
      const tenant = 'sv-bad';
      const res = await push(tenant, 'd3', 'refused', header);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        error: {
          code: 'INVALID_SCHEMA_VERSION',
          details: { header: 'Syncline-Schema-Version', reason: expect.stringContaining(reason) },
        },
      });
      // Nothing applied, no device recorded, no push budget spent (2 per minute).
      expect(await adminDevices(tenant)).toEqual([]);
      expect(await t.store.forTenant(tenant).getEntity('asset', 'refused')).toBeUndefined();
    },
  );

  it('spent no push budget and is refused on every /api/sync route, not elsewhere', async () => {
    expect((await push('sv-bad', 'd3', 'ok-1', 'visits=1')).statusCode).toBe(200);
    expect((await push('sv-bad', 'd3', 'ok-2', 'visits=1')).statusCode).toBe(200);
    expect((await push('sv-bad', 'd3', 'ok-3', 'visits=1')).statusCode).toBe(429);
    const authorization = `Bearer ${await t.token('u1', 'sv-bad')}`;
    const headers = { authorization, 'syncline-schema-version': 'visits=x' };
    for (const url of ['/api/sync/status', '/api/sync/devices', '/api/sync/conflicts']) {
      const res = await app.inject({ method: 'GET', url, headers });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe('INVALID_SCHEMA_VERSION');
    }
    const health = await app.inject({ method: 'GET', url: '/healthz', headers });
    expect(health.statusCode).toBe(200);
    // Authentication first: without a token the answer is 401 whatever the header says.
    const anonymous = await app.inject({
      method: 'GET',
      url: '/api/sync/status',
      headers: { 'syncline-schema-version': 'visits=x' },
    });
    expect(anonymous.statusCode).toBe(401);
  });
});
