// Regression: 40 s of 502s from a proxy moved a queued change to `failed`, where it waited for a
// person to press retry. A 5xx, a 429 or a network error is no verdict on the change: here a proxy
// on 127.0.0.1 in front of the real server answers 502 (and a few 503s, 429s and dropped
// connections) for many attempts' worth of requests, then forwards. The change is never FAILED,
// and the server holds it exactly once.
import type { HistoryEntry } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSyncClient, memoryStorage } from '../../packages/client/src/index.js';
import { getJson } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type Intercept, type SyncProxy } from '../support/sync-proxy.js';

const TENANT = 'proxy-502';
/** Five times the attempt budget that used to park a change. */
const FAILURES = 25;

let server: ServerProcess;
let proxy: SyncProxy;
let failed = 0;

const failure = (n: number): Intercept => {
  if (n % 7 === 3) return 'drop';
  if (n % 5 === 4) return { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'x' } } };
  if (n % 6 === 5) {
    return {
      status: 429,
      headers: { 'retry-after': '0' },
      body: { error: { code: 'RATE_LIMITED', message: 'x' } },
    };
  }
  return { status: 502, body: { message: 'Bad Gateway' } };
};

beforeAll(async () => {
  server = await startServer();
  proxy = await startSyncProxy(server.url, {
    intercept: () => (failed < FAILURES ? failure(failed++) : undefined),
  });
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

describe('a proxy answering 502 for a long while', () => {
  it('never parks the change as failed; it reaches the server once the proxy forwards', async () => {
    const client = createSyncClient({
      url: proxy.url,
      getToken: () => server.token('clerk', TENANT),
      storage: memoryStorage(),
      realtime: false,
      // Fast backoff, so that many attempts fit in the test; the policy is the production one.
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const seenFailed: number[] = [];
    client.on('status', (status) => seenFailed.push(status.failed));
    try {
      const id = await client.collection('asset').create({ name: 'Generator' });
      client.start();
      await vi.waitFor(() => expect(client.status).toMatchObject({ pending: 0 }), {
        timeout: 20_000,
        interval: 50,
      });
      expect(failed).toBe(FAILURES);
      expect(client.status).toMatchObject({ state: 'idle', failed: 0 });
      expect(seenFailed.every((count) => count === 0)).toBe(true);
      expect(await client.failed()).toEqual([]);

      // A fresh device's run begins with the first-sync snapshot, then pushes: the failures may
      // land on either, and each failed run tried again.
      const runs = proxy.requests.filter((request) =>
        ['/api/sync', '/api/sync/snapshot'].includes(request.path),
      );
      expect(runs.length).toBeGreaterThan(1);
      const admin = server.token('boss', TENANT, 'admin');
      const { history } = await getJson<{ history: HistoryEntry[] }>(
        `${server.url}/api/sync/entities/asset/${id}/history`,
        admin,
      );
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ version: 1, payload: { name: 'Generator' } });
      const stats = await getJson<{ total: number; byStatus: Record<string, number> }>(
        `${server.url}/api/sync/queue/stats?deviceId=${encodeURIComponent(await client.deviceId())}`,
        admin,
      );
      expect(stats).toMatchObject({ total: 1, byStatus: { SYNCED: 1 } });
    } finally {
      client.stop();
      await client.close();
    }
  });
});
