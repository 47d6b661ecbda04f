// One info line per sync request, with the counts an operator reads; nothing else at info level.
import { afterAll, beforeAll, expect, it } from 'vitest';
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
    logger,
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await t.close();
});

it('logs one summary line per sync request, failed ones included', async () => {
  const authorization = `Bearer ${await t.token('u1', 'logs')}`;
  const timestamp = new Date().toISOString();
  const push = await app.inject({
    method: 'POST',
    url: '/api/sync',
    headers: { authorization, 'x-network-type': 'cellular' },
    payload: {
      deviceId: 'd1',
      changes: [
        {
          entityType: 'asset',
          entityId: 'a1',
          operation: 'CREATE',
          payload: { name: 'x' },
          clientVersion: 1,
          timestamp,
        },
        {
          entityType: 'asset',
          entityId: 'a1',
          operation: 'CREATE',
          payload: { name: 'x' },
          clientVersion: 1,
          timestamp,
        },
        {
          entityType: 'asset',
          entityId: 'a2',
          operation: 'UPDATE',
          payload: { name: 'y' },
          clientVersion: 1,
          timestamp,
        },
      ],
    },
  });
  expect(push.statusCode).toBe(200);
  await app.inject({ method: 'GET', url: '/api/sync/status', headers: { authorization } });
  await app.inject({ method: 'GET', url: '/healthz' });
  const revoked = await app.inject({
    method: 'DELETE',
    url: '/api/sync/devices/d1',
    headers: { authorization },
  });
  expect(revoked.statusCode).toBe(204);
  expect(
    (
      await app.inject({
        method: 'POST',
        url: '/api/sync/delta',
        headers: { authorization },
        payload: { deviceId: 'd1' },
      })
    ).statusCode,
  ).toBe(403);

  const info = lines.filter((l) => l.level === 30);
  expect(info).toHaveLength(2);
  const statuses = push.json().results.map((r: { status: string }) => r.status);
  expect(info[0]).toMatchObject({
    msg: 'sync',
    route: '/api/sync',
    user: 'u1',
    tenant: 'logs',
    device: 'd1',
    pushed: 3,
    applied: statuses.filter((s: string) => s === 'APPLIED').length,
    duplicates: statuses.filter((s: string) => s === 'DUPLICATE').length,
    rejected: statuses.filter((s: string) => s === 'REJECTED').length,
    pulled: push.json().changes.length,
    status: 200,
  });
  expect(info[0]!.applied).toBeGreaterThan(0);
  expect(typeof info[0]!.durationMs).toBe('number');
  expect(info[1]).toMatchObject({
    msg: 'sync',
    route: '/api/sync/delta',
    device: 'd1',
    pulled: 0,
    status: 403,
  });
});
