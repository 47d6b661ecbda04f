// The client's failure handling under fake timers: the backoff schedule, Retry-After, the
// per-mutation attempt limit with retryFailed() and discard(), a refused login and a revoked
// device. The network is scripted (test/support/sdk-fetch.ts); storage is the real memoryStorage.
import type { PushRequest } from '@syncline/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  acceptPush,
  emptyPage,
  errorResponse,
  healthyServer,
  json,
  networkDown,
  scriptedFetch,
  type Handler,
} from '../../../test/support/sdk-fetch.js';
import { createSyncClient, type SyncClientOptions } from './create-sync-client.js';
import { backoffDelay, retryDefaults } from './scheduler/backoff.js';
import { memoryStorage } from './store/index.js';

/** Lets every queued promise chain run without moving the clock. */
const settle = async () => {
  for (let i = 0; i < 50; i++) await vi.advanceTimersByTimeAsync(0);
};

function makeClient(handler: Handler, options: Partial<SyncClientOptions> = {}) {
  const network = scriptedFetch(handler);
  const client = createSyncClient({
    url: 'http://sync.test',
    getToken: () => 'token-1',
    storage: memoryStorage(),
    fetch: network.fetch,
    realtime: false,
    random: () => 0,
    ...options,
  });
  return { client, ...network };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('backoff', () => {
  it('waits 1 s, 2 s, 4 s … capped at 60 s between failed runs, then syncs normally', async () => {
    let down = true;
    const { client, calls } = makeClient((call) => (down ? networkDown() : healthyServer(call)));
    await client.collection('task').create({ title: 'walk' });
    client.start();
    await settle();
    for (let i = 0; i < 9; i++) await vi.advanceTimersByTimeAsync(60_000);
    const gaps = calls.slice(1).map((call, i) => call.at - (calls[i]?.at ?? 0));
    expect(gaps.slice(0, 9)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    expect(client.status.state).toBe('offline');
    // Network failures do not use up the change's attempts: it is still pending, not failed.
    expect(client.status).toMatchObject({ pending: 1, failed: 0 });

    down = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(client.status).toMatchObject({ state: 'idle', pending: 0, failed: 0 });
    client.stop();
  });

  it('jitters each wait down by at most the jitter share, never past the cap', () => {
    for (const failures of [1, 2, 3, 7, 30]) {
      const step = Math.min(60_000, 1000 * 2 ** (failures - 1));
      expect(backoffDelay(failures, retryDefaults, () => 0)).toBe(step);
      expect(backoffDelay(failures, retryDefaults, () => 0.999)).toBeGreaterThanOrEqual(step * 0.8);
      expect(backoffDelay(failures, retryDefaults, () => 0.5)).toBeLessThan(step);
    }
    expect(retryDefaults).toMatchObject({
      initialDelayMs: 1000,
      maxDelayMs: 60_000,
      maxAttempts: 5,
    });
  });

  it('honours Retry-After on 429 instead of its own schedule', async () => {
    let limited = true;
    const { client, calls } = makeClient((call) => {
      if (!limited) return healthyServer(call);
      limited = false;
      return errorResponse(429, 'RATE_LIMITED', { 'retry-after': '7' });
    });
    await client.collection('task').create({ title: 'walk' });
    client.start();
    await settle();
    expect(client.status.state).toBe('error');
    expect(client.status.error?.code).toBe('RATE_LIMITED');
    await vi.advanceTimersByTimeAsync(6_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(calls[1]?.at).toBe((calls[0]?.at ?? 0) + 7_000);
    expect(client.status).toMatchObject({ state: 'idle', pending: 0 });
    client.stop();
  });
});

describe('the attempt limit', () => {
  it('moves a change the server keeps failing aside after 5 attempts; the rest of the queue goes on', async () => {
    let poisonFails = true;
    const seen: string[] = [];
    const { client } = makeClient((call) => {
      if (call.path !== '/api/sync') return healthyServer(call);
      const request = call.body as PushRequest;
      if (poisonFails && request.changes.some((change) => change.payload?.title === 'poison')) {
        return errorResponse(500, 'INTERNAL');
      }
      seen.push(...request.changes.map((change) => String(change.payload?.title)));
      return json(200, acceptPush(request));
    });
    const tasks = client.collection<{ title: string }>('task');
    const poisonId = await tasks.create({ title: 'poison' });
    await tasks.create({ title: 'fine' });
    client.start();
    await settle();
    for (let i = 0; i < 8; i++) await vi.advanceTimersByTimeAsync(60_000);

    expect(seen).toEqual(['fine']);
    expect(client.status).toMatchObject({ pending: 0, failed: 1, state: 'idle' });
    const [failed] = await client.failed();
    expect(failed).toMatchObject({
      id: poisonId,
      attempts: 5,
      error: { code: 'TOO_MANY_ATTEMPTS' },
    });
    // Still shown locally: nothing is dropped silently.
    expect(await tasks.get(poisonId)).toEqual({ id: poisonId, title: 'poison' });

    // No more retries on its own …
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(seen).toEqual(['fine']);
    // … until retryFailed().
    poisonFails = false;
    expect(await client.retryFailed()).toBe(1);
    expect(client.status).toMatchObject({ pending: 1, failed: 0 });
    const summary = await client.syncNow();
    expect(summary).toMatchObject({ pushed: 1, failed: 0 });
    expect(seen).toEqual(['fine', 'poison']);
    expect(client.status).toMatchObject({ pending: 0, failed: 0 });
    client.stop();
  });

  it('takes maxAttempts from the options (seed 004: 3 retries)', async () => {
    const { client, pushes } = makeClient(() => errorResponse(503, 'UNAVAILABLE'), {
      retry: { maxAttempts: 3 },
    });
    await client.collection('task').create({ title: 'x' });
    client.start();
    await settle();
    for (let i = 0; i < 6; i++) await vi.advanceTimersByTimeAsync(60_000);
    expect(pushes()).toHaveLength(3);
    expect(client.status).toMatchObject({ pending: 0, failed: 1 });
    client.stop();
  });

  it('an answer with no result for the batch counts as a failed attempt, not a resend loop', async () => {
    const { client, pushes } = makeClient((call) =>
      call.path === '/api/sync'
        ? json(200, { ...acceptPush(call.body as PushRequest), results: [] })
        : json(200, emptyPage),
    );
    await client.collection('task').create({ title: 'x' });
    client.start();
    await settle();
    expect(pushes()).toHaveLength(1);
    for (let i = 0; i < 6; i++) await vi.advanceTimersByTimeAsync(60_000);
    expect(pushes()).toHaveLength(5);
    expect(client.status).toMatchObject({ pending: 0, failed: 1 });
    client.stop();
  });

  it('a change the server REJECTED waits for retryFailed or discard; the batch around it goes through', async () => {
    const { client } = makeClient((call) =>
      call.path === '/api/sync'
        ? json(
            200,
            acceptPush(call.body as PushRequest, (change) =>
              change.payload?.title === 'bad' ? 'REJECTED' : 'APPLIED',
            ),
          )
        : json(200, emptyPage),
    );
    const tasks = client.collection<{ title: string }>('task');
    await tasks.create({ title: 'one' });
    const badId = await tasks.create({ title: 'bad' });
    await tasks.create({ title: 'two' });
    const summary = await client.syncNow();
    expect(summary).toMatchObject({ pushed: 2, failed: 1 });
    const [failed] = await client.failed();
    expect(failed).toMatchObject({ id: badId, error: { code: 'SCHEMA_VIOLATION' } });
    expect((await tasks.find()).map((task) => task.title)).toEqual(['one', 'bad', 'two']);

    await client.discard(failed?.mutationId ?? '');
    expect(client.status).toMatchObject({ pending: 0, failed: 0 });
    expect((await tasks.find()).map((task) => task.title)).toEqual(['one', 'two']);
  });

  it('a batch refused as a whole is split until the change that causes it is found', async () => {
    const { client, pushes } = makeClient((call) => {
      if (call.path !== '/api/sync') return json(200, emptyPage);
      const request = call.body as PushRequest;
      if (request.changes.some((change) => change.payload?.title === 'huge')) {
        return errorResponse(413, 'PAYLOAD_TOO_LARGE');
      }
      return json(200, acceptPush(request));
    });
    const tasks = client.collection<{ title: string }>('task');
    await tasks.create({ title: 'a' });
    await tasks.create({ title: 'huge' });
    await tasks.create({ title: 'b' });
    const summary = await client.syncNow();
    expect(summary).toMatchObject({ pushed: 2, failed: 1 });
    expect((await client.failed())[0]?.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(pushes().map((call) => (call.body as PushRequest).changes.length)).toEqual([3, 1, 1, 1]);
  });
});

describe('auth and revocation', () => {
  it('asks getToken once more on 401, then stops in the auth state until setToken()', async () => {
    const getToken = vi.fn(() => 'expired');
    const { client, calls } = makeClient(
      (call) =>
        call.authorization === 'Bearer fresh'
          ? healthyServer(call)
          : errorResponse(401, 'TOKEN_EXPIRED'),
      { getToken },
    );
    client.start();
    await settle();
    expect(calls).toHaveLength(2);
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(client.status).toMatchObject({ state: 'auth', error: { code: 'TOKEN_EXPIRED' } });
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(calls).toHaveLength(2);

    client.setToken('fresh');
    await settle();
    expect(client.status.state).toBe('idle');
    expect(calls.at(-1)?.authorization).toBe('Bearer fresh');
    client.stop();
  });

  it('a revoked device stops syncing and says so', async () => {
    const { client, calls } = makeClient(() => errorResponse(403, 'DEVICE_REVOKED'));
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    client.start();
    await settle();
    expect(client.status).toMatchObject({ state: 'error', error: { code: 'DEVICE_REVOKED' } });
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(calls).toHaveLength(1);
    expect(errors).toHaveLength(1);
    client.stop();
  });
});
