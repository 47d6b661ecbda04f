// Online-first and timeouts with the real HTTP transport in Node: a write made online reaches the
// real server within 2 s with no syncNow(); a server that accepts connections and never answers
// ends the attempt at the configured timeout, the client reports it and backs off, and syncNow()
// settles. The same cases run in Chromium (sdk-online-first.browser.test.ts).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSyncClient, memoryStorage } from '../../packages/client/src/index.js';
import { startHangingServer, type HangingServer } from '../support/hanging-server.js';
import { pullAll } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;
let hanging: HangingServer;
beforeAll(async () => {
  server = await startServer();
  hanging = await startHangingServer();
});
afterAll(async () => {
  await hanging?.close();
  await server?.stop();
});

describe('online-first', () => {
  it('a write made online reaches the server within 2 s, without syncNow()', async () => {
    const token = server.token('u1', 'online-first');
    const client = createSyncClient({
      url: server.url,
      getToken: () => token,
      storage: memoryStorage(),
      realtime: false,
      syncIntervalMs: 60 * 60_000,
    });
    try {
      client.start();
      await vi.waitFor(() => expect(client.status.lastSyncAt).not.toBeNull(), { timeout: 10_000 });
      const id = await client.collection('note').create({ text: 'made online' });
      const written = Date.now();
      await vi.waitFor(
        async () => {
          const { changes } = await pullAll(server.url, token, 'observer');
          expect(changes.map((c) => c.entityId)).toContain(id);
        },
        { timeout: 2_000, interval: 50 },
      );
      expect(Date.now() - written).toBeLessThan(2_000);
    } finally {
      await client.close();
    }
  });
});

describe('a server that never answers', () => {
  it('ends the attempt at the timeout, reports it, backs off; syncNow() rejects', async () => {
    const client = createSyncClient({
      url: hanging.url,
      getToken: () => 'token',
      storage: memoryStorage(),
      realtime: false,
      timeouts: { connectMs: 200, readMs: 300 },
      retry: { initialDelayMs: 1_000, jitter: 0 },
    });
    try {
      await client.collection('note').create({ text: 'stuck' });
      const before = hanging.connections();
      const started = Date.now();
      const error = await client.syncNow().catch((e: unknown) => e);
      const took = Date.now() - started;
      expect(error).toMatchObject({ kind: 'NETWORK', details: { code: 'TIMEOUT' } });
      expect(took).toBeGreaterThanOrEqual(450);
      expect(took).toBeLessThan(5_000);
      expect(hanging.connections()).toBeGreaterThan(before);
      expect(client.status).toMatchObject({
        state: 'offline',
        pending: 1,
        error: { code: 'TIMEOUT' },
      });
      // Started, the loop tries at once, then after its backoff (2 s: the second failure), not
      // in a tight loop.
      client.start();
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      const times = hanging.times().filter((t) => t >= started);
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
      expect(times.length).toBeLessThan(8);
      expect(Math.max(...gaps)).toBeGreaterThanOrEqual(1_500);
      expect(client.status).toMatchObject({ state: 'offline', error: { code: 'TIMEOUT' } });
    } finally {
      await client.close();
    }
  });
});
