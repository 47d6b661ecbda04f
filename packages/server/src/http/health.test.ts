// Liveness, readiness and the OpenAPI document, against a real SQLite store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const get = (url: string) => t.app.inject({ method: 'GET', url });

describe('/healthz and /readyz', () => {
  it('both answer 200 while the database answers', async () => {
    expect((await get('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 503 UNAVAILABLE once the database is gone; /healthz still 200', async () => {
    await t.store.close();
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('UNAVAILABLE');
    expect((await get('/healthz')).statusCode).toBe(200);
  });

  it('/readyz answers 503 after setNotReady (graceful shutdown)', async () => {
    t.app.setNotReady();
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'The server is shutting down',
    });
  });
});

describe('/docs', () => {
  it('/docs/json is an OpenAPI 3.1 document listing every route', async () => {
    const res = await get('/docs/json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBeTruthy();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'POST /api/sync',
        'POST /api/sync/delta',
        'POST /api/sync/snapshot',
        'GET /api/sync/status',
        'GET /api/sync/devices',
        'POST /api/sync/devices',
        'DELETE /api/sync/devices/{deviceId}',
        'GET /api/sync/conflicts',
        'POST /api/sync/conflicts/resolve',
        'POST /api/sync/queue/retry',
        'GET /api/sync/queue/stats',
        'POST /api/sync/cache/invalidate',
        'GET /api/sync/entities/{type}/{id}/history',
        'POST /api/sync/entities/{type}/{id}/restore',
        'GET /healthz',
        'GET /readyz',
        // Seed 000 and seed 001 (seeds/attendance/routes.ts, seeds/healthcare/routes.ts).
        'POST /api/attendance/sync',
        'POST /api/v1/sync/queue',
        'GET /api/v1/sync/pending',
        'POST /api/v1/sync/process/{id}',
        'PATCH /api/v1/sync/resolve/{id}',
        'POST /api/v1/sync/retry',
        'GET /api/v1/sync/stats',
        'GET /api/offline/status',
        'GET /api/offline/pending',
        'GET /api/offline/history/{id}',
        'POST /api/offline/sync',
        'POST /api/offline/sync/{id}',
        'POST /api/offline/resolve/{id}',
        'POST /api/offline/retry',
        'GET /api/offline/config',
        'PATCH /api/offline/config',
        'DELETE /api/offline/cleanup',
        'POST /api/offline/queue',
        'GET /api/sync/stream',
        // The admin dashboard's read routes (dashboard-routes.ts).
        'GET /api/sync/admin/overview',
        'GET /api/sync/admin/activity',
        'GET /api/sync/admin/alerts',
        'GET /api/sync/admin/audit',
        'GET /api/sync/admin/devices',
        'GET /api/sync/admin/devices/{deviceId}/history',
        'GET /api/sync/admin/conflicts',
        'GET /api/sync/admin/conflicts/{id}',
        'GET /api/sync/admin/mutations',
        'GET /api/sync/admin/entities',
        'GET /api/sync/admin/collections',
        // The tenant settings (settings-routes.ts), served as in production.
        'GET /api/sync/admin/settings',
        'PATCH /api/sync/admin/settings',
      ].sort(),
    );
    const push = doc.paths['/api/sync'].post;
    expect(push.requestBody.content['application/json'].schema.properties.changes.type).toBe(
      'array',
    );
    expect(push.responses['200']).toBeTruthy();
    expect(push.responses['4XX'] ?? push.responses['4xx']).toBeTruthy();
    // Public routes say they need no token.
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });

  it('/docs serves the UI page without a token', async () => {
    const res = await get('/docs');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});
