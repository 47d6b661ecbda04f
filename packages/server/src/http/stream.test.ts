// GET /api/sync/stream in one process (the in-memory bus, the embedded default): pokes carry the
// token a pull would answer and no data; they reach only readers whose view the change touches;
// streams end on shutdown with a reconnect hint, on revocation and on token expiry.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeltaResponse, PushResponse } from '@syncline/protocol';
import { composeServices, type SynclineServices } from '../app/compose.js';
import { mintToken } from './auth.js';
import { buildServer } from './build-server.js';
import { openStore, type KyselySyncStore } from '../store/index.js';
import { openSse, openWebSocket, type StreamClient } from '../testing/stream-client.js';

const secret = randomBytes(32).toString('hex');
const config = {
  collections: {
    note: { access: 'owner' as const },
    visit: { access: { field: 'facilityId', claim: 'facilities' } },
  },
};

let dataDir: string;
let store: KyselySyncStore;
let services: SynclineServices;
let app: FastifyInstance;
let baseUrl: string;
let logged = '';
const open: StreamClient[] = [];

const token = (sub: string, extra: Record<string, unknown> = {}, ttlSeconds = 3600) =>
  mintToken({ secret, sub, tenant: 'clinic', ttlSeconds, extra });
const adminToken = (sub: string) => mintToken({ secret, sub, tenant: 'clinic', role: 'admin' });

async function post<T>(
  path: string,
  bearer: string,
  body: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const create = (
  bearer: string,
  deviceId: string,
  entityType: string,
  entityId: string,
  payload: object,
) =>
  post<PushResponse>('/api/sync', bearer, {
    deviceId,
    changes: [
      {
        entityType,
        entityId,
        operation: 'CREATE',
        payload,
        clientVersion: 1,
        timestamp: new Date().toISOString(),
      },
    ],
  });

async function track(client: Promise<StreamClient>): Promise<StreamClient> {
  const opened = await client;
  open.push(opened);
  return opened;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'syncline-stream-'));
  store = await openStore({ dataDir });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString('utf8');
      done();
    },
  });
  services = composeServices({ store, collections: config });
  app = buildServer({
    services,
    auth: { secret },
    limits: { pushLimit: '1000/1m', pullLimit: '1000/1m' },
    logger: pino({ level: 'debug' }, sink),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

afterAll(async () => {
  await app?.close();
  await services?.close();
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('stream over server-sent events', () => {
  it('pokes at once with the current token, then after each push with the token a pull answers', async () => {
    const ana = await token('ana');
    const stream = await track(openSse(baseUrl, { deviceId: 'ana-phone', token: ana }));
    const first = await stream.next();
    expect(first.type).toBe('poke');

    const pushed = await create(ana, 'ana-tablet', 'task', 't-1', { title: 'Check pump' });
    expect(pushed.status).toBe(200);
    const poke = await stream.next((m) => m.syncToken !== first.syncToken);
    expect(Object.keys(poke).sort()).toEqual(['syncToken', 'type']);

    const pulled = await post<DeltaResponse>('/api/sync/delta', ana, {
      deviceId: 'ana-phone',
      syncToken: first.syncToken,
    });
    expect(pulled.body.changes.map((c) => c.entityId)).toEqual(['t-1']);
    expect(pulled.body.syncToken).toBe(poke.syncToken);
  });

  it('pokes only readers who may see the change (owner and field rules)', async () => {
    const [ana, ben, north, south] = await Promise.all([
      token('ana'),
      token('ben'),
      token('nurse-n', { facilities: ['north'] }),
      token('nurse-s', { facilities: ['south'] }),
    ]);
    const benStream = await track(openSse(baseUrl, { deviceId: 'ben-phone', token: ben }));
    const northStream = await track(openSse(baseUrl, { deviceId: 'n-phone', token: north }));
    const southStream = await track(openSse(baseUrl, { deviceId: 's-phone', token: south }));
    for (const s of [benStream, northStream, southStream]) await s.next();

    // Ana's private note: Ben is not poked. A north visit: the north nurse is, the south one not.
    await create(ana, 'ana-tablet', 'note', 'n-1', { text: 'private' });
    await create(north, 'n-tablet', 'visit', 'v-1', { facilityId: 'north' });
    await northStream.next((m) => m.type === 'poke', 5000, 1);
    // A change every reader sees, as a marker: it arrives after the two above.
    await create(ana, 'ana-tablet', 'task', 'marker-1', { title: 'everyone' });
    await benStream.next((m) => m.type === 'poke', 5000, 1);
    await southStream.next((m) => m.type === 'poke', 5000, 1);
    expect(benStream.messages).toHaveLength(2);
    expect(southStream.messages).toHaveLength(2);

    // An admin moves the visit south: the south nurse now sees it, and the north nurse must
    // learn that it left.
    const northBefore = northStream.messages.length;
    const moved = await post<PushResponse>('/api/sync', await adminToken('head'), {
      deviceId: 'head-desk',
      changes: [
        {
          entityType: 'visit',
          entityId: 'v-1',
          operation: 'UPDATE',
          payload: { facilityId: 'south' },
          clientVersion: 1,
          timestamp: new Date().toISOString(),
        },
      ],
    });
    expect(moved.body.results[0]?.status).toBe('APPLIED');
    await southStream.next((m) => m.type === 'poke', 5000, 2);
    await northStream.next((m) => m.type === 'poke', 5000, northBefore);
  });

  it('accepts the token as access_token in the query, and never logs it', async () => {
    const ana = await token('ana');
    const stream = await track(
      openSse(baseUrl, { deviceId: 'ana-browser', token: ana, tokenInQuery: true }),
    );
    expect((await stream.next()).type).toBe('poke');
    await expect.poll(() => logged).toContain('stream opened');
    expect(logged).toContain('access_token=[redacted]');
    expect(logged).not.toContain(ana);
  });

  it('lets a browser app on another origin read the stream (CORS)', async () => {
    const ana = await token('ana');
    const aborted = new AbortController();
    const res = await fetch(`${baseUrl}/api/sync/stream?deviceId=ana-other-origin`, {
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${ana}`,
        origin: 'http://localhost:5173',
      },
      signal: aborted.signal,
    });
    aborted.abort();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('refuses a missing token, a missing deviceId and another user’s device', async () => {
    const ana = await token('ana');
    const ben = await token('ben');
    await create(ben, 'ben-own-phone', 'task', 'ben-1', { title: 'x' });
    const res = await fetch(`${baseUrl}/api/sync/stream?deviceId=x`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(res.status).toBe(401);
    const noDevice = await fetch(`${baseUrl}/api/sync/stream`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${ana}` },
    });
    expect(noDevice.status).toBe(400);
    expect(((await noDevice.json()) as { error: { code: string } }).error.code).toBe(
      'VALIDATION_FAILED',
    );
    await expect(openSse(baseUrl, { deviceId: 'ben-own-phone', token: ana })).rejects.toMatchObject(
      {
        status: 403,
      },
    );
  });

  it('ends the stream when the token expires', async () => {
    const shortLived = await token('ana', {}, 1);
    const stream = await track(openSse(baseUrl, { deviceId: 'ana-expiring', token: shortLived }));
    await stream.next();
    await expect(stream.ended).resolves.toEqual({ code: null, reason: '' });
    expect(stream.messages.some((m) => m.type === 'reconnect')).toBe(false);
  });
});

describe('stream over WebSocket', () => {
  it('pokes as JSON messages; an unregistered device is disconnected (4403)', async () => {
    const cara = await token('cara');
    const socket = await track(openWebSocket(baseUrl, { deviceId: 'cara-phone', token: cara }));
    const first = await socket.next();
    expect(first).toEqual({ type: 'poke', syncToken: expect.any(String) });
    await create(cara, 'cara-phone', 'task', 'c-1', { title: 'x' });
    const poke = await socket.next((m) => m.syncToken !== first.syncToken);
    expect(Object.keys(poke).sort()).toEqual(['syncToken', 'type']);

    const res = await fetch(`${baseUrl}/api/sync/devices/cara-phone`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${cara}` },
    });
    expect(res.status).toBeLessThan(300);
    expect((await socket.ended).code).toBe(4403);
    await expect(
      openWebSocket(baseUrl, { deviceId: 'cara-phone', token: cara }),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('accepts access_token in the query; refuses an upgrade without a token (401)', async () => {
    const cara = await token('cara');
    const socket = await track(
      openWebSocket(baseUrl, { deviceId: 'cara-browser', token: cara, tokenInQuery: true }),
    );
    expect((await socket.next()).type).toBe('poke');
    await expect(
      openWebSocket(baseUrl, { deviceId: 'cara-browser', token: '', tokenInQuery: true }),
    ).rejects.toMatchObject({ status: 401 });
  });
});

describe('shutdown', () => {
  it('sends every stream a reconnect hint (WebSocket: then close 1012) when the server closes', async () => {
    const dan = await token('dan');
    const sse = await openSse(baseUrl, { deviceId: 'dan-phone', token: dan });
    const socket = await openWebSocket(baseUrl, { deviceId: 'dan-tablet', token: dan });
    await sse.next();
    await socket.next();
    await app.close();
    const hint = await sse.next((m) => m.type === 'reconnect');
    expect(hint.retryAfterMs).toBeGreaterThan(0);
    expect(await socket.next((m) => m.type === 'reconnect')).toEqual({
      type: 'reconnect',
      retryAfterMs: expect.any(Number),
    });
    expect((await socket.ended).code).toBe(1012);
    await sse.ended;
  });
});
