// How the HTTP transport sorts answers into failures the core and scheduler act on, and the one
// extra token request after a 401.
import { describe, expect, it, vi } from 'vitest';
import {
  errorResponse,
  json,
  requestJson,
  scriptedFetch,
  type Handler,
} from '../../../../test/support/sdk-fetch.js';
import { TransportError, TransportFailure } from '../core/sync-ports.js';
import { parseRetryAfter } from '@syncline/protocol';
import { HttpTransport } from './http-transport.js';
import { createTokenSource } from './token-source.js';

const request = { deviceId: 'd1', changes: [] };

function transport(handler: Handler, getToken: () => string = () => 't1') {
  const network = scriptedFetch(handler);
  const tokens = createTokenSource(getToken);
  const http = new HttpTransport({
    url: 'http://sync.test/',
    fetch: network.fetch,
    tokens,
    now: () => Date.parse('2026-01-01T00:00:00Z'),
  });
  return { http, tokens, ...network };
}

async function failureOf(handler: Handler): Promise<TransportError> {
  const error = await transport(handler)
    .http.push(request)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TransportError);
  return error as TransportError;
}

describe('HttpTransport', () => {
  it('posts JSON with the bearer token to the canonical routes', async () => {
    const { http, calls } = transport(() => json(200, { ok: true }));
    await http.push(request);
    await http.delta({ deviceId: 'd1', pageSize: 5 });
    expect(calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
      ['POST', '/api/sync', 'Bearer t1'],
      ['POST', '/api/sync/delta', 'Bearer t1'],
    ]);
    expect(calls[1]?.body).toEqual({ deviceId: 'd1', pageSize: 5 });
  });

  it.each([
    [503, 'UNAVAILABLE', TransportFailure.SERVER],
    [500, 'INTERNAL', TransportFailure.SERVER],
    [403, 'DEVICE_REVOKED', TransportFailure.REVOKED],
    [403, 'FORBIDDEN', TransportFailure.FORBIDDEN],
    [400, 'VALIDATION_FAILED', TransportFailure.REFUSED],
    [413, 'PAYLOAD_TOO_LARGE', TransportFailure.REFUSED],
    [404, 'NOT_FOUND', TransportFailure.UNEXPECTED],
    [429, 'RATE_LIMITED', TransportFailure.RATE_LIMITED],
  ])('%s %s is %s', async (status, code, kind) => {
    const error = await failureOf(() => errorResponse(status, code));
    expect(error.kind).toBe(kind);
    expect(error.details).toMatchObject({ status, code });
  });

  it('a network failure, a body cut off and an unreadable 200 are retryable', async () => {
    expect((await failureOf(() => Promise.reject(new TypeError('fetch failed')))).kind).toBe(
      TransportFailure.NETWORK,
    );
    const cut = new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"sync'));
          controller.error(new Error('socket hang up'));
        },
      }),
      { status: 200 },
    );
    expect((await failureOf(() => cut)).kind).toBe(TransportFailure.NETWORK);
    expect((await failureOf(() => new Response('<html>', { status: 200 }))).kind).toBe(
      TransportFailure.SERVER,
    );
  });

  it('reads Retry-After as seconds or as an HTTP date', async () => {
    const error = await failureOf(() =>
      errorResponse(429, 'RATE_LIMITED', { 'retry-after': '12' }),
    );
    expect(error.details.retryAfterMs).toBe(12_000);
    expect(
      parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', Date.parse('2026-01-01T00:00:00Z')),
    ).toBe(30_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it('after a 401 asks for a token once more and retries once', async () => {
    const tokens = ['old', 'new'];
    const getToken = vi.fn(() => tokens.shift() ?? 'none');
    const { http, calls } = transport(
      (call) =>
        call.authorization === 'Bearer new' ? json(200, {}) : errorResponse(401, 'TOKEN_EXPIRED'),
      getToken,
    );
    await http.push(request);
    expect(calls.map((c) => c.authorization)).toEqual(['Bearer old', 'Bearer new']);

    const refused = await failureOf(() => errorResponse(401, 'UNAUTHENTICATED'));
    expect(refused.kind).toBe(TransportFailure.UNAUTHORIZED);
  });

  it('estimates the pull from the feed positions of the status token and the device token', async () => {
    const { http } = transport(() => json(200, { syncToken: 'v1.2s.0.abcdefabcdef' }));
    expect(await http.estimateRemaining('v1.a.0.abcdefabcdef')).toBe(100 - 10);
    expect(await http.estimateRemaining(undefined)).toBe(100);
    expect(await http.estimateRemaining('opaque')).toBeUndefined();
  });
});

describe('HttpTransport on the wire', () => {
  it('gzips a request body over compressAboveBytes and sends smaller ones as they are', async () => {
    const seen: Array<{ encoding: string | null; body: unknown }> = [];
    const http = new HttpTransport({
      url: 'http://sync.test',
      tokens: createTokenSource(() => 't1'),
      compressAboveBytes: 1024,
      fetch: async (_input, init) => {
        seen.push({
          encoding: new Headers(init?.headers).get('content-encoding'),
          body: requestJson(init),
        });
        return json(200, { ok: true });
      },
    });
    const big = { deviceId: 'd1', pageSize: 5, note: 'x'.repeat(2000) };
    await http.delta({ deviceId: 'd1', pageSize: 5 });
    await http.delta(big as never);
    expect(seen).toEqual([
      { encoding: null, body: { deviceId: 'd1', pageSize: 5 } },
      { encoding: 'gzip', body: big },
    ]);
  });

  it('a server that never answers fails at connect + read; an answer that pauses at read', async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const hanging = (_input: string, init?: RequestInit) =>
        new Promise<Response>((_, reject) =>
          init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      const timeouts = { connectMs: 100, readMs: 400 };
      const never = new HttpTransport({
        url: 'http://sync.test',
        tokens: createTokenSource(() => 't1'),
        fetch: hanging,
        timeouts,
      });
      const failed = never.push(request).catch((e: unknown) => e as TransportError);
      await vi.advanceTimersByTimeAsync(499);
      let settled = false;
      void failed.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await failed).toMatchObject({
        kind: TransportFailure.NETWORK,
        details: { code: 'TIMEOUT' },
      });

      // Headers at once, then a body that trickles every 300 ms (fine), then stops (not fine).
      const trickle = (_input: string, init?: RequestInit) => {
        let n = 0;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            const tick = setInterval(() => {
              if (n++ < 3) controller.enqueue(new TextEncoder().encode(' '));
            }, 300);
            init?.signal?.addEventListener('abort', () => {
              clearInterval(tick);
              controller.error(new Error('aborted'));
            });
          },
        });
        return Promise.resolve(new Response(body, { status: 200 }));
      };
      const paused = new HttpTransport({
        url: 'http://sync.test',
        tokens: createTokenSource(() => 't1'),
        fetch: trickle,
        timeouts,
      });
      const cut = paused.push(request).catch((e: unknown) => e as TransportError);
      await vi.advanceTimersByTimeAsync(900 + 399);
      settled = false;
      void cut.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await cut).toMatchObject({
        kind: TransportFailure.NETWORK,
        details: { code: 'TIMEOUT', status: 200 },
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it("tells a snapshot page's cursor from the answer's first bytes, before the rest arrives", async () => {
    const head = '{"cursor":"c\\"2","hasMore":true,"syncToken":"t","total":2,"changes":[';
    const tail = '{"entityType":"note"}]}';
    let finish: () => void = () => undefined;
    const streamed = () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(head));
          finish = () => {
            controller.enqueue(new TextEncoder().encode(tail));
            controller.close();
          };
        },
      });
      return Promise.resolve(new Response(body, { status: 200 }));
    };
    const http = new HttpTransport({
      url: 'http://sync.test',
      tokens: createTokenSource(() => 't1'),
      fetch: streamed,
    });
    const told: Array<string | null> = [];
    let early!: () => void;
    const seen = new Promise<void>((resolve) => (early = resolve));
    const page = http.snapshot!({ deviceId: 'd1' }, (cursor) => {
      told.push(cursor);
      early();
    });
    await seen;
    expect(told).toEqual(['c"2']);
    finish();
    expect(await page).toMatchObject({ cursor: 'c"2', changes: [{ entityType: 'note' }] });
    expect(told).toEqual(['c"2']);
  });

  it('tells no cursor for an answer of another shape, and still answers it whole', async () => {
    const told: Array<string | null> = [];
    const { http } = transport(() =>
      json(200, { changes: [], cursor: null, hasMore: false, syncToken: 't', total: 0 }),
    );
    expect(await http.snapshot!({ deviceId: 'd1' }, (c) => told.push(c))).toMatchObject({
      cursor: null,
    });
    expect(told).toEqual([]);
  });
});
