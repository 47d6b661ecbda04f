// The sync loop's state machine: a transition table (what each outcome of a run leads to, and
// when the next run comes), the triggers, and one run at a time. Fake timers throughout.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  TransportError,
  TransportFailure,
  type NetworkEvent,
  type NetworkSignal,
} from '../core/sync-ports.js';
import { retryDefaults } from './backoff.js';
import { SyncLoop, SyncState } from './sync-loop.js';

/** A NetworkSignal the test drives, as a browser's online/offline/visibility events would. */
function controllableSignal() {
  const listeners = new Set<(event: NetworkEvent) => void>();
  let online = true;
  const signal: NetworkSignal = {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    signal,
    emit(event: NetworkEvent) {
      online = event !== 'offline' && (event === 'online' || online);
      for (const listener of listeners) listener(event);
    },
    listenerCount: () => listeners.size,
  };
}

const INTERVAL = 300_000;

function makeLoop(outcomes: Array<() => unknown>) {
  const network = controllableSignal();
  const runs: number[] = [];
  const states: string[] = [];
  const loop = new SyncLoop<string>({
    network: network.signal,
    intervalMs: INTERVAL,
    retry: retryDefaults,
    random: () => 0,
    run: async () => {
      runs.push(Date.now());
      const outcome = outcomes.shift();
      if (outcome) outcome();
      return 'ok';
    },
    onState: (state) => states.push(state),
  });
  return { loop, runs, states, network };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(0);
};

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

const fail =
  (kind: TransportFailure, details = {}) =>
  () => {
    throw new TransportError(kind, kind, details);
  };

/** Outcome of a run → the state it leaves, and when the next run comes on its own (ms, or null). */
const transitions: Array<[string, (() => unknown) | undefined, SyncState, number | null]> = [
  ['success', undefined, SyncState.IDLE, INTERVAL],
  ['network error', fail(TransportFailure.NETWORK), SyncState.OFFLINE, 1000],
  ['5xx', fail(TransportFailure.SERVER), SyncState.ERROR, 1000],
  [
    '429 with Retry-After',
    fail(TransportFailure.RATE_LIMITED, { retryAfterMs: 4200 }),
    SyncState.ERROR,
    4200,
  ],
  ['429 without Retry-After', fail(TransportFailure.RATE_LIMITED), SyncState.ERROR, 1000],
  ['401 after a fresh token', fail(TransportFailure.UNAUTHORIZED), SyncState.AUTH, null],
  [
    'device revoked',
    fail(TransportFailure.REVOKED, { code: 'DEVICE_REVOKED' }),
    SyncState.ERROR,
    null,
  ],
  ['403 forbidden', fail(TransportFailure.FORBIDDEN), SyncState.ERROR, null],
  ['unexpected 4xx', fail(TransportFailure.UNEXPECTED), SyncState.ERROR, 1000],
  [
    'a bug or a storage failure',
    () => {
      throw new Error('disk full');
    },
    SyncState.ERROR,
    1000,
  ],
];

describe('transition table', () => {
  it.each(transitions)('%s → %s, next run after %s ms', async (_name, outcome, state, next) => {
    const { loop, runs } = makeLoop(outcome ? [outcome] : []);
    loop.start();
    await settle();
    expect(runs).toEqual([0]);
    expect(loop.current).toBe(state);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    if (next === null) expect(runs).toEqual([0]);
    else expect(runs[1]).toBe(next);
    loop.stop();
  });
});

describe('triggers', () => {
  it('syncs on start, on reconnect, on foreground, and every interval', async () => {
    const { loop, runs, network } = makeLoop([]);
    loop.start();
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    network.emit('offline');
    expect(loop.current).toBe(SyncState.OFFLINE);
    network.emit('online');
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    network.emit('foreground');
    await settle();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(runs).toEqual([0, 1000, 2000, 2000 + INTERVAL]);
    loop.stop();
    expect(network.listenerCount()).toBe(0);
  });

  it('while offline, timers and pokes wait for the reconnect', async () => {
    const { loop, runs, network } = makeLoop([fail(TransportFailure.NETWORK)]);
    loop.start();
    await settle();
    network.emit('offline');
    loop.trigger('poke');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(runs).toEqual([0]);
    network.emit('online');
    await settle();
    expect(runs).toEqual([0, 10 * 60_000]);
    loop.stop();
  });

  it('a login after the auth state syncs again', async () => {
    const { loop, runs } = makeLoop([fail(TransportFailure.UNAUTHORIZED)]);
    loop.start();
    await settle();
    loop.trigger('timer');
    await settle();
    expect(runs).toHaveLength(1);
    loop.trigger('login');
    await settle();
    expect(runs).toHaveLength(2);
    expect(loop.current).toBe(SyncState.IDLE);
    loop.stop();
  });
});

describe('one run at a time', () => {
  it('concurrent syncNow() calls share the running one; a trigger during it asks for one more', async () => {
    const network = controllableSignal();
    let release: () => void = () => undefined;
    let runs = 0;
    const loop = new SyncLoop<number>({
      network: network.signal,
      intervalMs: INTERVAL,
      retry: retryDefaults,
      run: () =>
        new Promise<number>((resolve) => {
          runs++;
          release = () => resolve(runs);
        }),
      onState: () => undefined,
    });
    const first = loop.syncNow();
    const second = loop.syncNow();
    expect(second).toBe(first);
    loop.trigger('poke');
    release();
    expect(await first).toBe(1);
    await settle();
    expect(runs).toBe(2);
    release();
    await settle();
    expect(runs).toBe(2);
  });
});

describe('online-first: a local write pushes within about a second', () => {
  it('a single write pushes debounceMs after it', async () => {
    const { loop, runs } = makeLoop([]);
    loop.start();
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    loop.trigger('write');
    await vi.advanceTimersByTimeAsync(299);
    expect(runs).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([0, 1300]);
    // The interval timer restarts from the push, as the fallback.
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(runs).toEqual([0, 1300, 1300 + INTERVAL]);
    loop.stop();
  });

  it('a burst of writes is one push; a steady stream still pushes every maxDelayMs', async () => {
    const { loop, runs } = makeLoop([]);
    loop.start();
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    for (let t = 0; t < 3000; t += 100) {
      loop.trigger('write');
      await vi.advanceTimersByTimeAsync(100);
    }
    // Writes at 1000…3900 every 100 ms, never 300 ms apart: a push 1 s after the first unpushed
    // write each time (2000, 3000), and the last batch at 4000, before 3900 + 300.
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toEqual([0, 2000, 3000, 4000]);
    loop.stop();
  });

  /** The loop's state when a write comes → when it is pushed (ms after the write), or null. */
  const onWrite: Array<[string, (ctx: ReturnType<typeof makeLoop>) => void, number | null]> = [
    ['idle', () => undefined, 300],
    ['offline (no network)', ({ network }) => network.emit('offline'), null],
    ['offline after a network error: the backoff timer decides', () => undefined, 1000],
    ['error after a 5xx: the backoff timer decides', () => undefined, 1000],
    ['auth after a 401: the login decides', () => undefined, null],
    ['stopped', ({ loop }) => loop.stop(), null],
  ];
  const firstOutcome: Record<string, () => unknown> = {
    'offline after a network error: the backoff timer decides': fail(TransportFailure.NETWORK),
    'error after a 5xx: the backoff timer decides': fail(TransportFailure.SERVER),
    'auth after a 401: the login decides': fail(TransportFailure.UNAUTHORIZED),
  };

  it.each(onWrite)('a write while %s → pushed after %s ms', async (name, setup, after) => {
    const outcome = firstOutcome[name];
    const ctx = makeLoop(outcome ? [outcome] : []);
    ctx.loop.start();
    await settle();
    setup(ctx);
    ctx.loop.trigger('write');
    await vi.advanceTimersByTimeAsync(30_000);
    if (after === null) expect(ctx.runs).toEqual([0]);
    else expect(ctx.runs[1]).toBe(after);
    ctx.loop.stop();
  });

  it('a write during a run is pushed by one more run after it, debounced', async () => {
    const network = controllableSignal();
    const runs: number[] = [];
    let release: () => void = () => undefined;
    const loop = new SyncLoop<number>({
      network: network.signal,
      intervalMs: INTERVAL,
      pushDelay: { debounceMs: 200, maxDelayMs: 800 },
      retry: retryDefaults,
      run: () =>
        new Promise<number>((resolve) => {
          runs.push(Date.now());
          release = () => resolve(runs.length);
        }),
      onState: () => undefined,
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(500);
    loop.trigger('write');
    await vi.advanceTimersByTimeAsync(500);
    release();
    await settle();
    expect(runs).toEqual([0]);
    await vi.advanceTimersByTimeAsync(200);
    expect(runs).toEqual([0, 1200]);
    release();
    await settle();
    loop.stop();
  });

  it('a write while offline is pushed by the reconnect, not before', async () => {
    const { loop, runs, network } = makeLoop([]);
    loop.start();
    await settle();
    network.emit('offline');
    loop.trigger('write');
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toEqual([0]);
    network.emit('online');
    await settle();
    expect(runs).toEqual([0, 5000]);
    loop.stop();
  });
});
