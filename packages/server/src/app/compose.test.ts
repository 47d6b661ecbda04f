// The test app is composed as production is (app/compose.ts): a push through its HTTP routes
// reaches an open stream (the engine publishes to realtime), and the settings and offline routes
// are served, with no wiring of the test's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse } from '../testing/stream-client.js';
import { createTestApp, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  baseUrl = `http://127.0.0.1:${address.port}`;
});
afterAll(() => t.close());

describe('the composed test app', () => {
  it('pokes an open stream after a push: the engine publishes to realtime', async () => {
    const token = await t.token('ana', 'composed');
    const stream = await openSse(baseUrl, { deviceId: 'ana-phone', token });
    try {
      const first = await stream.next();
      expect(first.type).toBe('poke');
      const pushed = await t.app.inject({
        method: 'POST',
        url: '/api/sync',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          deviceId: 'ana-tablet',
          changes: [
            {
              entityType: 'task',
              entityId: 't-1',
              operation: 'CREATE',
              payload: { title: 'Check pump' },
              clientVersion: 1,
              timestamp: new Date().toISOString(),
            },
          ],
        },
      });
      expect(pushed.statusCode).toBe(200);
      const poke = await stream.next((m) => m.syncToken !== first.syncToken);
      expect(poke.type).toBe('poke');
    } finally {
      stream.close();
    }
  });

  it('serves the tenant settings and seed 003 routes from the composed services', async () => {
    const admin = await t.token('boss', 'composed', 'admin');
    const headers = { authorization: `Bearer ${admin}` };
    const settings = await t.app.inject({ url: '/api/sync/admin/settings', headers });
    expect(settings.statusCode).toBe(200);
    const offline = await t.app.inject({ url: '/api/offline/status', headers });
    expect(offline.statusCode).toBe(200);
    expect(t.services.settings).toBe(t.services.jobs.settings);
  });
});
