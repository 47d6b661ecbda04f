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
