// Bad input on every route answers a structured 4xx (or a REJECTED result for one change in a
// batch) and writes nothing: the tenant's feed, mutations, conflicts, devices and audit stay as they were.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';
import { canonicalRoutes } from './routes.js';

const TENANT = 'bad-input';
let t: TestApp;
let auth: string;

beforeAll(async () => {
  t = await createTestApp();
  auth = `Bearer ${await t.token('root', TENANT, 'admin')}`;
  // Something to protect: one entity, one device.
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sync',
    headers: { authorization: auth },
    payload: {
      deviceId: 'dev-1',
      changes: [
        {
          entityType: 'asset',
          entityId: 'a-1',
          operation: 'CREATE',
          payload: { name: 'x' },
          clientVersion: 1,
          timestamp: new Date().toISOString(),
        },
      ],
    },
  });
  expect(res.json().results[0].status).toBe('APPLIED');
});
afterAll(() => t.close());

/** Everything the tenant has stored, to compare before and after. */
async function snapshot() {
  const reads = t.store.forTenant(TENANT);
  const [state, feed, mutations, conflicts, devices, audit] = await Promise.all([
    reads.getTenantState(),
    reads.readFeed({ afterSeq: 0, limit: 1000 }),
    reads.listMutations({ limit: 1000 }),
    reads.listConflicts({ limit: 1000 }),
    reads.listDevices({}),
    reads.listAudit({ limit: 1000 }),
  ]);
  return { state, feed, mutations, conflicts, devices, audit };
}

function expectError(
  res: { statusCode: number; json: () => unknown },
  status: number,
  code?: string,
) {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(typeof body.error.message).toBe('string');
  if (code) expect(body.error.code).toBe(code);
  else expect(body.error.code).toMatch(/^[A-Z_]+$/);
}

const bodyRoutes = canonicalRoutes().filter(
  (r) => r.body !== undefined && Object.keys(r.body).length > 0,
);

describe('bad bodies on every route with a body', () => {
  for (const route of bodyRoutes) {
    it(`${route.method} ${route.url}`, async () => {
      const before = await snapshot();
      const send = (payload: string | Buffer, headers: Record<string, string> = {}) =>
        t.app.inject({
          method: route.method,
          url: route.url,
          headers: { authorization: auth, 'content-type': 'application/json', ...headers },
          payload,
        });

      expectError(await send('{"deviceId": "dev-1", '), 400, 'MALFORMED_JSON');

      const wrongTypes = Object.fromEntries(
        Object.entries(route.body ?? {}).map(([k]) => [k, { nested: true }]),
      );
      expectError(await send(JSON.stringify(wrongTypes)), 400, 'VALIDATION_FAILED');

      const [firstKey] = Object.keys(route.body ?? {});
      const missing = Object.fromEntries(
        Object.entries(route.body ?? {}).filter(([k]) => k !== firstKey),
      );
      if (route.url !== '/api/sync/queue/retry') {
        // queue/retry has only optional fields: an empty body is a valid "retry all".
        expectError(await send(JSON.stringify(missing)), 400, 'VALIDATION_FAILED');
      }

      const extra = JSON.stringify({ ...route.body, unexpected: 1 });
      expectError(await send(extra), 400, 'VALIDATION_FAILED');

      const oversize = JSON.stringify({ ...route.body, padding: 'x'.repeat(11 * 1024 * 1024) });
      expectError(await send(oversize), 413, 'PAYLOAD_TOO_LARGE');
      expectError(
        await send(gzipSync(oversize), { 'content-encoding': 'gzip' }),
        413,
        'PAYLOAD_TOO_LARGE',
      );

      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const poisoned = JSON.stringify(route.body).replace(/^\{/, `{"${key}": {"isAdmin": true},`);
        expectError(await send(poisoned), 400);
      }

      expect(await snapshot()).toEqual(before);
    });
  }
});

describe('bad queries', () => {
  it('answer 400 and write nothing', async () => {
    const before = await snapshot();
    for (const url of [
      '/api/sync/conflicts?limit=abc',
      '/api/sync/conflicts?status=MAYBE',
      '/api/sync/queue/stats?deviceId=',
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: auth } });
      expectError(res, 400, 'VALIDATION_FAILED');
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('bad changes inside a good batch', () => {
  it('are REJECTED one by one, the good ones apply, and the bad ones leave no trace', async () => {
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    const now = new Date().toISOString();
    const change = (id: string, extra: object) => ({
      entityType: 'asset',
      entityId: id,
      operation: 'CREATE',
      clientVersion: 1,
      timestamp: now,
      payload: { ok: true },
      ...extra,
    });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sync',
      headers: { authorization: auth },
      payload: {
        deviceId: 'dev-1',
        changes: [
          change('future', { timestamp: future }),
          change('good', {}),
          change('big', { payload: { blob: 'x'.repeat(300 * 1024) } }),
          change('nopayload', { payload: null }),
          change('v7', { clientVersion: 7 }),
          {
            entityType: 'asset',
            entityId: 'missing',
            operation: 'UPDATE',
            clientVersion: 1,
            timestamp: now,
            payload: { a: 1 },
            mutationId: 'upd-missing',
          },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const results = res.json().results as Array<{
      entityId: string;
      status: string;
      error?: { code: string };
    }>;
    expect(results.map((r) => [r.entityId, r.status, r.error?.code])).toEqual([
      ['future', 'REJECTED', 'FUTURE_TIMESTAMP'],
      ['good', 'APPLIED', undefined],
      ['big', 'REJECTED', 'PAYLOAD_TOO_LARGE'],
      ['nopayload', 'REJECTED', 'VALIDATION_FAILED'],
      ['v7', 'REJECTED', 'VALIDATION_FAILED'],
      ['missing', 'REJECTED', 'NOT_FOUND'],
    ]);
    const feed = await t.store.forTenant(TENANT).readFeed({ afterSeq: 0, limit: 1000 });
    expect(feed.map((row) => row.entityId).sort()).toEqual(['a-1', 'good']);
    // Bad input leaves no mutation behind; an update that may succeed later is kept FAILED for retry.
    const mutations = await t.store.forTenant(TENANT).listMutations({ limit: 1000 });
    expect(mutations.filter((m) => m.status === 'FAILED').map((m) => m.entityId)).toEqual([
      'missing',
    ]);
    expect(mutations.some((m) => ['future', 'big', 'nopayload', 'v7'].includes(m.entityId))).toBe(
      false,
    );
  });

  it('a FAILED mutation is re-run by queue/retry once its entity exists', async () => {
    const now = new Date().toISOString();
    const create = await t.app.inject({
      method: 'POST',
      url: '/api/sync',
      headers: { authorization: auth },
      payload: {
        deviceId: 'dev-2',
        changes: [
          {
            entityType: 'asset',
            entityId: 'missing',
            operation: 'CREATE',
            clientVersion: 1,
            timestamp: now,
            payload: { a: 0 },
          },
        ],
      },
    });
    expect(create.json().results[0].status).toBe('APPLIED');
    const retry = await t.app.inject({
      method: 'POST',
      url: '/api/sync/queue/retry',
      headers: { authorization: auth },
      payload: { deviceId: 'dev-1' },
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({
      retried: 1,
      results: [{ mutationId: 'upd-missing', status: 'APPLIED', version: 2 }],
    });
  });
});
