// The client's failure handling under fake timers: the backoff schedule, Retry-After, transient
// failures (5xx, 429, network, timeouts) that never park a change, definitive refusals with
// retryFailed() and discard(), batches cut to the server's body limit, a refused login and a
// revoked device. The network is scripted (test/support/sdk-fetch.ts); storage is the real memoryStorage.
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
    // The scripted server speaks the feed only; the snapshot has its own tests.
    firstSync: 'feed',
    random: () => 0,
    // These tests read the batches as JSON; the gzip on the wire is tested over real HTTP.
    compress: null,
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

describe('transient failures never park a change', () => {
  it('keeps a change pending through 30 failed runs of 5xx, 429 and network errors, then syncs it once', async () => {
    let failures = 0;
    const answers = [
      () => errorResponse(502, 'BAD_GATEWAY'),
      () => errorResponse(503, 'UNAVAILABLE'),
      () => errorResponse(500, 'INTERNAL'),
      () => errorResponse(429, 'RATE_LIMITED'),
      () => networkDown(),
    ];
    const failedCounts: number[] = [];
    const { client, pushes } = makeClient((call) => {
      if (failures < 30) return answers[failures++ % answers.length]!();
      return healthyServer(call);
    });
    client.on('status', (status) => failedCounts.push(status.failed));
    const id = await client.collection('task').create({ title: 'walk' });
    client.start();
    await settle();
    for (let i = 0; i < 40 && client.status.pending > 0; i++) {
      await vi.advanceTimersByTimeAsync(60_000);
    }
    expect(failures).toBe(30);
    expect(client.status).toMatchObject({ state: 'idle', pending: 0, failed: 0 });
    expect(failedCounts.every((failed) => failed === 0)).toBe(true);
    // Each push carried the same mutation; the server saw one accepted push of it.
    const ids = new Set(pushes().flatMap((call) => (call.body as PushRequest).changes));
    expect([...ids].every((change) => change.entityId === id)).toBe(true);
    expect(new Set([...ids].map((change) => change.mutationId)).size).toBe(1);
    client.stop();
  });

  it('backs off between failed runs up to the cap and never stops retrying', async () => {
    const { client, calls } = makeClient(() => errorResponse(503, 'UNAVAILABLE'));
    await client.collection('task').create({ title: 'x' });
    client.start();
    await settle();
    for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(60_000);
    const gaps = calls.slice(1).map((call, i) => call.at - (calls[i]?.at ?? 0));
    expect(gaps.slice(0, 8)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(gaps.every((gap) => gap <= 60_000)).toBe(true);
    expect(calls.length).toBeGreaterThan(20);
    expect(client.status).toMatchObject({ state: 'error', pending: 1, failed: 0 });
    client.stop();
  });

  it('an answer with no result for the batch is no verdict: retried with backoff, never parked', async () => {
    let empty = 12;
    const { client, pushes } = makeClient((call) =>
      call.path === '/api/sync'
        ? json(
            200,
            empty-- > 0
              ? { ...acceptPush(call.body as PushRequest), results: [] }
              : acceptPush(call.body as PushRequest),
          )
        : json(200, emptyPage),
    );
    await client.collection('task').create({ title: 'x' });
    client.start();
    await settle();
    expect(pushes()).toHaveLength(1);
    for (let i = 0; i < 20 && client.status.pending > 0; i++) {
      await vi.advanceTimersByTimeAsync(60_000);
      expect(client.status.failed).toBe(0);
    }
    expect(pushes()).toHaveLength(13);
    expect(client.status).toMatchObject({ state: 'idle', pending: 0, failed: 0 });
    client.stop();
  });

  it('a request that never answers times out as a network failure; the change stays pending', async () => {
    let hang = true;
    const fetch = (input: string, init?: RequestInit): Promise<Response> =>
      hang
        ? new Promise((_, reject) =>
            init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
          )
        : scriptedFetch(healthyServer).fetch(input, init);
    const client = createSyncClient({
      url: 'http://sync.test',
      getToken: () => 'token-1',
      storage: memoryStorage(),
      fetch,
      realtime: false,
      firstSync: 'feed',
      random: () => 0,
      timeouts: { connectMs: 4_000, readMs: 6_000 },
    });
    await client.collection('task').create({ title: 'x' });
    client.start();
    await vi.advanceTimersByTimeAsync(10_000);
    await settle();
    expect(client.status).toMatchObject({
      state: 'offline',
      pending: 1,
      failed: 0,
      error: { code: 'TIMEOUT' },
    });
    hang = false;
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(client.status).toMatchObject({ state: 'idle', pending: 0, failed: 0 });
    client.stop();
  });
});

describe('definitive refusals', () => {
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
    // Still shown locally: nothing is dropped silently.
    expect((await tasks.find()).map((task) => task.title)).toEqual(['one', 'bad', 'two']);

    await client.discard(failed?.mutationId ?? '');
    expect(client.status).toMatchObject({ pending: 0, failed: 0 });
    expect((await tasks.find()).map((task) => task.title)).toEqual(['one', 'two']);
  });

  it('retryFailed puts a refused change back in the queue', async () => {
    let refuse = true;
    const seen: string[] = [];
    const { client } = makeClient((call) => {
      if (call.path !== '/api/sync') return json(200, emptyPage);
      const request = call.body as PushRequest;
      seen.push(...request.changes.map((change) => String(change.payload?.title)));
      return json(
        200,
        acceptPush(request, () => (refuse ? 'REJECTED' : 'APPLIED')),
      );
    });
    const tasks = client.collection<{ title: string }>('task');
    await tasks.create({ title: 'poison' });
    expect(await client.syncNow()).toMatchObject({ pushed: 0, failed: 1 });
    // No more retries on its own …
    expect(await client.syncNow()).toMatchObject({ pushed: 0, failed: 0 });
    expect(seen).toEqual(['poison']);
    // … until retryFailed().
    refuse = false;
    expect(await client.retryFailed()).toBe(1);
    expect(client.status).toMatchObject({ pending: 1, failed: 0 });
    expect(await client.syncNow()).toMatchObject({ pushed: 1, failed: 0 });
    expect(seen).toEqual(['poison', 'poison']);
    expect(client.status).toMatchObject({ pending: 0, failed: 0 });
  });

  it('maxAttempts bounds the refusals a change gets restamped for (seed 004: 3)', async () => {
    // A device clock far ahead: every stamp is refused as FUTURE_TIMESTAMP and stamped again.
    const { client, pushes } = makeClient(
      (call) =>
        call.path === '/api/sync'
          ? json(200, {
              ...acceptPush(call.body as PushRequest),
              results: (call.body as PushRequest).changes.map((change) => ({
                mutationId: change.mutationId ?? '',
                entityType: change.entityType,
                entityId: change.entityId,
                status: 'REJECTED',
                error: { code: 'FUTURE_TIMESTAMP', message: 'ahead' },
              })),
            })
          : json(200, emptyPage),
      { retry: { maxAttempts: 3 } },
    );
    await client.collection('task').create({ title: 'x' });
    for (let i = 0; i < 4; i++) await client.syncNow();
    expect(pushes()).toHaveLength(3);
    expect(await client.failed()).toMatchObject([
      { attempts: 3, error: { code: 'FUTURE_TIMESTAMP' } },
    ]);
  });

  it('a batch refused as a whole (400) is sent one change at a time until the cause is found', async () => {
    const { client, pushes } = makeClient((call) => {
      if (call.path !== '/api/sync') return json(200, emptyPage);
      const request = call.body as PushRequest;
      if (request.changes.some((change) => change.payload?.title === 'bad')) {
        return errorResponse(400, 'VALIDATION_FAILED');
      }
      return json(200, acceptPush(request));
    });
    const tasks = client.collection<{ title: string }>('task');
    await tasks.create({ title: 'a' });
    await tasks.create({ title: 'bad' });
    await tasks.create({ title: 'b' });
    expect(await client.syncNow()).toMatchObject({ pushed: 2, failed: 1 });
    expect((await client.failed())[0]?.error?.code).toBe('VALIDATION_FAILED');
    expect(pushes().map((call) => (call.body as PushRequest).changes.length)).toEqual([3, 1, 1, 1]);
  });
});

/** UTF-8 bytes of the JSON body a call carried. */
const bodyBytes = (call: { body: unknown }) =>
  new TextEncoder().encode(JSON.stringify(call.body)).length;

describe('batches sized in bytes', () => {
  it('cuts every push to maxBatchBytes, in queue order', async () => {
    const { client, pushes } = makeClient(healthyServer, { maxBatchBytes: 4_000 });
    const tasks = client.collection<{ note: string }>('task');
    const made: string[] = [];
    for (let i = 0; i < 30; i++) made.push(await tasks.create({ note: 'é'.repeat(300) }));
    expect(await client.syncNow()).toMatchObject({ pushed: 30, failed: 0 });
    expect(pushes().length).toBeGreaterThan(3);
    for (const call of pushes()) expect(bodyBytes(call)).toBeLessThanOrEqual(4_000);
    const sent = pushes().flatMap((call) => (call.body as PushRequest).changes);
    expect(sent.map((change) => change.entityId)).toEqual(made);
  });

  it('a change larger than any push may be fails at once with its reason; the rest go on', async () => {
    const { client, pushes } = makeClient(healthyServer, { maxBatchBytes: 4_000 });
    const tasks = client.collection<{ note: string }>('task');
    await tasks.create({ note: 'small' });
    const huge = await tasks.create({ note: 'x'.repeat(5_000) });
    await tasks.create({ note: 'after' });
    expect(await client.syncNow()).toMatchObject({ pushed: 2, failed: 1 });
    expect(await client.failed()).toMatchObject([
      { id: huge, error: { code: 'PAYLOAD_TOO_LARGE' } },
    ]);
    const sent = pushes().flatMap((call) => (call.body as PushRequest).changes);
    expect(sent.map((change) => change.payload?.note)).toEqual(['small', 'after']);
  });

  it('a 413 halves the batch, and no later batch grows back to a refused size', async () => {
    const limit = 3_000;
    const { client, pushes } = makeClient(
      (call) =>
        call.path === '/api/sync' && bodyBytes(call) > limit
          ? errorResponse(413, 'PAYLOAD_TOO_LARGE')
          : healthyServer(call),
      { maxBatchBytes: 100_000 },
    );
    const tasks = client.collection<{ note: string }>('task');
    for (let i = 0; i < 40; i++) await tasks.create({ note: 'n'.repeat(200) });
    expect(await client.syncNow()).toMatchObject({ pushed: 40, failed: 0 });
    const sizes = pushes().map(bodyBytes);
    const refused = sizes.filter((size) => size > limit);
    // Refused sizes shrink (nothing as large as a refused batch is sent again), and the batches
    // settle under the server's limit: a handful of 413s, not one per batch.
    for (let i = 1; i < refused.length; i++) expect(refused[i]).toBeLessThan(refused[i - 1]!);
    expect(refused.length).toBeLessThan(8);
    expect(sizes.slice(-3).every((size) => size <= limit)).toBe(true);
    expect(client.status).toMatchObject({ pending: 0, failed: 0 });
  });

  it('a large batch whose upload keeps breaking (no answer at all) is halved, never lost', async () => {
    // A proxy that drops the connection on bodies over 300 kB, as an EPIPE on a large upload does.
    const limit = 300_000;
    const { client, pushes } = makeClient(
      (call) =>
        call.path === '/api/sync' && bodyBytes(call) > limit ? networkDown() : healthyServer(call),
      { maxBatchBytes: 10_000_000 },
    );
    const tasks = client.collection<{ note: string }>('task');
    for (let i = 0; i < 40; i++) await tasks.create({ note: 'n'.repeat(20_000) });
    client.start();
    await settle();
    for (let i = 0; i < 20 && client.status.pending > 0; i++) {
      await vi.advanceTimersByTimeAsync(60_000);
    }
    expect(client.status).toMatchObject({ state: 'idle', pending: 0, failed: 0 });
    const delivered = pushes()
      .filter((call) => bodyBytes(call) <= limit)
      .flatMap((call) => (call.body as PushRequest).changes.map((change) => change.mutationId));
    expect(new Set(delivered).size).toBe(40);
    client.stop();
  });

  it('an outage does not shrink small batches: they go out whole once the server is back', async () => {
    let down = 6;
    const { client, pushes } = makeClient((call) =>
      call.path === '/api/sync' && down-- > 0
        ? errorResponse(502, 'BAD_GATEWAY')
        : healthyServer(call),
    );
    const tasks = client.collection<{ note: string }>('task');
    for (let i = 0; i < 30; i++) await tasks.create({ note: `n${i}` });
    client.start();
    await settle();
    for (let i = 0; i < 10 && client.status.pending > 0; i++) {
      await vi.advanceTimersByTimeAsync(60_000);
    }
    expect(client.status).toMatchObject({ pending: 0, failed: 0 });
    const sizes = pushes().map((call) => (call.body as PushRequest).changes.length);
    expect(sizes).toEqual([30, 30, 30, 30, 30, 30, 30]);
    client.stop();
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
