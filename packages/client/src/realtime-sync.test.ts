// The realtime stream against a small Server-Sent Events server on 127.0.0.1: a poke makes the
// client sync, a `reconnect` event or a dropped connection makes it reconnect (and sync, since
// pokes may have been missed), and a server without the route (404) leaves the timer alone.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSyncClient, type SyncClient } from './create-sync-client.js';
import { memoryStorage } from './store/index.js';

interface StreamServer {
  url: string;
  streams: ServerResponse[];
  streamRequests: IncomingMessage[];
  deltas: number;
  close(): Promise<void>;
}

async function startStreamServer(options: { stream: boolean }): Promise<StreamServer> {
  const state = {
    streams: [] as ServerResponse[],
    streamRequests: [] as IncomingMessage[],
    deltas: 0,
  };
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/api/sync/stream') state.streamRequests.push(request);
    if (path === '/api/sync/stream' && options.stream) {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.write(': connected\n\n');
      state.streams.push(response);
      return;
    }
    if (path === '/api/sync/delta') {
      state.deltas++;
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ changes: [], nextPageToken: null, hasMore: false, syncToken: 'v1.0.0.0' }),
      );
      return;
    }
    request.resume();
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Not found' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get streams() {
      return state.streams;
    },
    get streamRequests() {
      return state.streamRequests;
    },
    get deltas() {
      return state.deltas;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let server: StreamServer | undefined;
let client: SyncClient | undefined;

afterEach(async () => {
  client?.stop();
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

function connect(url: string) {
  return createSyncClient({
    url,
    getToken: () => 'token-1',
    deviceId: 'tablet-7',
    storage: memoryStorage(),
    retry: { initialDelayMs: 20, maxDelayMs: 100 },
    firstSync: 'feed',
  });
}

describe('realtime stream', () => {
  it('opens the stream with the bearer and device id, and syncs on each poke', async () => {
    server = await startStreamServer({ stream: true });
    client = connect(server.url);
    client.start();
    await vi.waitFor(() => expect(server?.streams).toHaveLength(1));
    await vi.waitFor(() => expect(server?.deltas).toBe(1));
    const request = server.streamRequests[0];
    expect(request?.url).toBe('/api/sync/stream?deviceId=tablet-7');
    expect(request?.headers.accept).toBe('text/event-stream');
    expect(request?.headers.authorization).toBe('Bearer token-1');

    server.streams[0]?.write('event: poke\ndata: {"syncToken":"v1.5.0.0"}\n\n');
    await vi.waitFor(() => expect(server?.deltas).toBe(2));
    server.streams[0]?.write('event: poke\ndata: {"syncToken":"v1.6.0.0"}\n\n');
    await vi.waitFor(() => expect(server?.deltas).toBe(3));
  });

  it('reconnects when the server says so, and after a dropped connection', async () => {
    server = await startStreamServer({ stream: true });
    client = connect(server.url);
    client.start();
    await vi.waitFor(() => expect(server?.streams).toHaveLength(1));
    await vi.waitFor(() => expect(server?.deltas).toBe(1));

    server.streams[0]?.write('event: reconnect\ndata: {"retryAfterMs":30}\n\n');
    await vi.waitFor(() => expect(server?.streams).toHaveLength(2));
    // Back after a gap: pokes may have been missed, so it syncs.
    await vi.waitFor(() => expect(server?.deltas).toBe(2));

    server.streams[1]?.socket?.destroy();
    await vi.waitFor(() => expect(server?.streams).toHaveLength(3));
    await vi.waitFor(() => expect(server?.deltas).toBe(3));
  });

  it('falls back to the timer alone when the server has no stream (404)', async () => {
    server = await startStreamServer({ stream: false });
    client = connect(server.url);
    client.start();
    await vi.waitFor(() => expect(server?.deltas).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One try, answered 404: no reconnects.
    expect(server.streamRequests).toHaveLength(1);
    expect(server.deltas).toBe(1);
    expect(client.status.state).toBe('idle');
  });
});
