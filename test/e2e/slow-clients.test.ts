// Regressions from review, through the real server process: a request whose body stopped arriving
// was held open for over a minute, 300 slowloris connections were all held, and one user opened
// 1,000 streams. With short timeouts and caps configured, each is now answered or dropped, and a
// stream slot frees when a stream closes. Nothing here measures time beyond "it ended".
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startServer, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;
let port: number;

beforeAll(async () => {
  server = await startServer({
    env: {
      SYNCLINE_HEADERS_TIMEOUT: '1s',
      SYNCLINE_BODY_TIMEOUT: '1s',
      SYNCLINE_REQUEST_TIMEOUT: '3s',
      SYNCLINE_STREAMS_PER_USER: '3',
      SYNCLINE_STREAMS_PER_TENANT: '5',
    },
  });
  port = Number(new URL(server.url).port);
});
afterAll(() => server?.stop());

/** Opens a raw connection, runs `talk`, and resolves with all it received once the server closes it. */
function rawConnection(talk: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    socket.once('error', reject);
    socket.once('close', () => resolve(received));
    socket.once('connect', () => talk(socket));
  });
}

const pushHead = (token: string, length: number) =>
  'POST /api/sync HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
  `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${length}\r\n\r\n`;

describe('slow clients', () => {
  it('a body that stops arriving is answered 408 and its connection closed', async () => {
    const token = server.token('u1', 'slow');
    const received = await rawConnection((socket) => {
      socket.write(`${pushHead(token, 200)}{"deviceId":"d1","chan`);
    });
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('"code":"REQUEST_TIMEOUT"');
    expect(received).toContain('The body paused');
  });

  it('a refused request whose body stops arriving is not held either', async () => {
    const received = await rawConnection((socket) => {
      socket.write(`${pushHead('not-a-token', 200)}{"deviceId":"d1","chan`);
    });
    // Cut by the body pause, long before the request timeout would.
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('The body paused');
  });

  it('a body that trickles in forever is cut by the request timeout', async () => {
    const token = server.token('u1', 'slow');
    let drip: NodeJS.Timeout | undefined;
    const received = await rawConnection((socket) => {
      socket.write(`${pushHead(token, 100_000)}{"deviceId":"d1","x":"`);
      // Under the body timeout: each pause is short, the whole never ends.
      drip = setInterval(() => socket.writable && socket.write('x'), 200);
    });
    clearInterval(drip);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('"code":"REQUEST_TIMEOUT"');
  });

  it('drops 300 slowloris connections, and still serves', async () => {
    const drips: NodeJS.Timeout[] = [];
    const closed = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        rawConnection((socket) => {
          socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Conn: ${i}\r\n`);
          let n = 0;
          drips.push(setInterval(() => socket.writable && socket.write(`X-${n++}: y\r\n`), 300));
        }).catch((error: NodeJS.ErrnoException) => {
          // A drip written after the server answered and closed makes its kernel reset the
          // connection, and a reset may discard the 408 before it is read: dropped all the same.
          if (error.code === 'ECONNRESET') return 'reset';
          throw error;
        }),
      ),
    );
    for (const drip of drips) clearInterval(drip);
    expect(closed).toHaveLength(300);
    expect(closed.filter((text) => text !== 'reset' && !/^HTTP\/1\.1 408 /.test(text))).toEqual([]);
    expect(closed.filter((text) => /^HTTP\/1\.1 408 /.test(text)).length).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('open streams are capped per user and per tenant', () => {
  const open: AbortController[] = [];
  afterAll(() => {
    for (const controller of open) controller.abort();
  });

  async function openSse(token: string, deviceId: string) {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/sync/stream?deviceId=${deviceId}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (res.status === 200) open.push(controller);
    const error =
      res.status === 200 ? undefined : ((await res.json()) as { error: { code: string } }).error;
    return { res, error, close: () => controller.abort() };
  }

  function openSocket(token: string, deviceId: string): Promise<number | WebSocket> {
    return new Promise((resolve, reject) => {
      const url = `${server.url.replace('http', 'ws')}/api/sync/stream?deviceId=${deviceId}`;
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('error', reject);
    });
  }

  it('answers 429 RATE_LIMITED with Retry-After past the user cap, and frees a slot on close', async () => {
    const token = server.token('streamer', 'streams');
    const first = await openSse(token, 'tab-1');
    const socket = await openSocket(token, 'tab-2');
    const third = await openSse(token, 'tab-3');
    expect([first.res.status, typeof socket, third.res.status]).toEqual([200, 'object', 200]);

    const refused = await openSse(token, 'tab-4');
    expect(refused.res.status).toBe(429);
    expect(refused.error).toMatchObject({ code: 'RATE_LIMITED', details: { cap: 'user' } });
    expect(Number(refused.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await openSocket(token, 'tab-4')).toBe(429);

    // One stream closes (the WebSocket); a new one may open.
    (socket as WebSocket).close();
    await vi.waitFor(
      async () => {
        const again = await openSse(token, 'tab-4');
        expect(again.res.status).toBe(200);
      },
      { timeout: 10_000, interval: 100 },
    );
    first.close();
    await vi.waitFor(async () => expect((await openSse(token, 'tab-5')).res.status).toBe(200), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it('answers 429 past the tenant cap, whoever asks', async () => {
    const tenant = 'crowded';
    for (let i = 0; i < 5; i++) {
      expect((await openSse(server.token(`u${i}`, tenant), `d${i}`)).res.status).toBe(200);
    }
    const refused = await openSse(server.token('late', tenant), 'd-late');
    expect(refused.res.status).toBe(429);
    expect(refused.error).toMatchObject({ code: 'RATE_LIMITED', details: { cap: 'tenant' } });
    // Another tenant is not held back.
    expect((await openSse(server.token('late', 'elsewhere'), 'd-late')).res.status).toBe(200);
  });
});
