// Realtime through the real server process: a started client hears a poke on the server's SSE
// stream when another device pushes, and pulls the change long before its timer would.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSyncClient, memoryStorage } from '../../packages/client/src/index.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('realtime pokes from the server', () => {
  it('a started client pulls another device’s change on the poke, not on its timer', async () => {
    const token = server.token('u1', 'sdk-realtime');

    const listener = createSyncClient({
      url: server.url,
      getToken: () => token,
      storage: memoryStorage(),
      syncIntervalMs: 60 * 60_000,
    });
    const writer = createSyncClient({
      url: server.url,
      getToken: () => server.token('u2', 'sdk-realtime'),
      storage: memoryStorage(),
      realtime: false,
    });
    try {
      listener.start();
      await vi.waitFor(() => expect(listener.status.lastSyncAt).not.toBeNull(), {
        timeout: 10_000,
      });
      // Let the stream open before the change is made.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const id = await writer.collection('note').create({ text: 'poke me' });
      await writer.syncNow();
      await vi.waitFor(
        async () =>
          expect(await listener.collection('note').get(id)).toEqual({ id, text: 'poke me' }),
        { timeout: 10_000, interval: 100 },
      );
    } finally {
      listener.stop();
      await listener.close();
      await writer.close();
    }
  });
});
