// Property: whatever mix of run outcomes, platform events, triggers and time, the loop runs one
// sync at a time, never retries on its own after a refused login or a revoked device, and leaves
// the state the transition table gives for each outcome. The seed is printed; replay with FC_SEED.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  TransportError,
  TransportFailure,
  type NetworkEvent,
  type NetworkSignal,
} from '../core/sync-ports.js';
import { retryDefaults } from './backoff.js';
import { SyncLoop, SyncState } from './sync-loop.js';

type Outcome = 'ok' | 'network' | 'server' | 'limited' | 'auth' | 'revoked';
type Step =
  | { kind: 'outcome'; outcome: Outcome }
  | { kind: 'advance'; ms: number }
  | { kind: 'event'; event: NetworkEvent }
  | { kind: 'trigger' }
  | { kind: 'syncNow' }
  | { kind: 'login' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('outcome' as const),
    outcome: fc.constantFrom<Outcome>('ok', 'network', 'server', 'limited', 'auth', 'revoked'),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  fc.record({
    kind: fc.constant('event' as const),
    event: fc.constantFrom<NetworkEvent>('online', 'offline', 'foreground'),
  }),
  fc.constant({ kind: 'trigger' as const }),
  fc.constant({ kind: 'syncNow' as const }),
  fc.constant({ kind: 'login' as const }),
);

const failureOf: Record<Exclude<Outcome, 'ok'>, () => TransportError> = {
  network: () => new TransportError(TransportFailure.NETWORK, 'offline'),
  server: () => new TransportError(TransportFailure.SERVER, '503'),
  limited: () => new TransportError(TransportFailure.RATE_LIMITED, '429', { retryAfterMs: 5000 }),
  auth: () => new TransportError(TransportFailure.UNAUTHORIZED, '401'),
  revoked: () => new TransportError(TransportFailure.REVOKED, '403', { code: 'DEVICE_REVOKED' }),
};

const stateAfter: Record<Outcome, SyncState> = {
  ok: SyncState.IDLE,
  network: SyncState.OFFLINE,
  server: SyncState.ERROR,
  limited: SyncState.ERROR,
  auth: SyncState.AUTH,
  revoked: SyncState.ERROR,
};

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('sync loop state machine', () => {
  it('one run at a time; halted after 401 or revocation; states as the table says', async () => {
    const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`sync loop properties: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        const listeners = new Set<(event: NetworkEvent) => void>();
        let online = true;
        const network: NetworkSignal = {
          isOnline: () => online,
          subscribe(listener) {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
        };
        const queued: Outcome[] = [];
        let active = 0;
        let runs = 0;
        let last: Outcome | undefined;
        // Set when a run ends in 'auth' or 'revoked'; cleared by what may start runs again.
        let halted = false;
        const loop = new SyncLoop<void>({
          network,
          intervalMs: 300_000,
          retry: retryDefaults,
          random: () => 0.5,
          run: async () => {
            expect(halted).toBe(false);
            active++;
            runs++;
            expect(active).toBe(1);
            await new Promise((resolve) => setTimeout(resolve, 10));
            active--;
            const outcome = queued.shift() ?? 'ok';
            last = outcome;
            if (outcome === 'auth' || outcome === 'revoked') halted = true;
            if (outcome !== 'ok') throw failureOf[outcome]();
          },
          onState: () => undefined,
        });
        loop.start();
        for (const next of steps) {
          if (next.kind === 'outcome') queued.push(next.outcome);
          else if (next.kind === 'advance') await vi.advanceTimersByTimeAsync(next.ms);
          else if (next.kind === 'event') {
            online = next.event === 'offline' ? false : next.event === 'online' ? true : online;
            for (const listener of listeners) listener(next.event);
          } else if (next.kind === 'trigger') loop.trigger('poke');
          else if (next.kind === 'login') {
            halted = false;
            loop.trigger('login');
          } else {
            // A person asks: allowed in every state (after a refused login it tries again).
            if (last === 'auth') halted = false;
            if (!halted) loop.syncNow().catch(() => undefined);
          }
          await vi.advanceTimersByTimeAsync(0);
        }
        await vi.advanceTimersByTimeAsync(20);
        if (active === 0 && last !== undefined && loop.current !== SyncState.SYNCING) {
          const expected = stateAfter[last];
          // 'offline' may also come from the platform's offline event.
          if (loop.current !== SyncState.OFFLINE) expect(loop.current).toBe(expected);
        }
        expect(runs).toBeGreaterThan(0);
        loop.stop();
        await vi.advanceTimersByTimeAsync(20);
      }),
      { numRuns: 200, seed },
    );
  });
});
