// When the client syncs, and what it does after a failed run: a small state machine.
//
//                 start() · online · foreground · poke · timer · syncNow()
//        ┌────────┐ ─────────────────────────────────────────▶ ┌─────────┐
//        │  idle  │ ◀────────────── success ────────────────── │ syncing │
//        └────────┘   (next run after intervalMs)               └─────────┘
//            ▲                                                    │  │  │ │
//            │ online / backoff timer       network error         │  │  │ │
//        ┌─────────┐ ◀─────────────────────────────────────────── ┘  │  │ │
//        │ offline │  (backoff: 1 s, 2 s, 4 s … 60 s, jittered)      │  │ │
//        └─────────┘                                                 │  │ │
//        ┌─────────┐ ◀──── 5xx, 429 (Retry-After), other failure ─── ┘  │ │
//        │  error  │  backoff timer ──▶ syncing                          │ │
//        │         │ ◀──── device revoked: stopped, no timer ─────────── ┘ │
//        └─────────┘  (start() again after the device is registered)      │
//        ┌─────────┐ ◀──── 401 even with a fresh token ────────────────── ┘
//        │  auth   │  setToken() (login) ──▶ syncing
//        └─────────┘
//
// One run at a time: a syncNow() during a run shares it; a trigger during a run (a poke, say)
// asks for one more run after it, because the poke may announce a change the run missed.
import { isTransportError, TransportFailure, type NetworkSignal } from '../core/sync-ports.js';
import { backoffDelay, type RetryOptions } from './backoff.js';

export const SyncState = {
  IDLE: 'idle',
  SYNCING: 'syncing',
  OFFLINE: 'offline',
  ERROR: 'error',
  AUTH: 'auth',
} as const;
export type SyncState = (typeof SyncState)[keyof typeof SyncState];

export type SyncTrigger =
  'start' | 'online' | 'foreground' | 'login' | 'timer' | 'retry' | 'poke' | 'manual';

export interface LoopError {
  code: string;
  message: string;
}

export interface SyncLoopOptions<T> {
  run: () => Promise<T>;
  network: NetworkSignal;
  intervalMs: number;
  retry: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'multiplier' | 'jitter'>;
  random?: () => number;
  onState: (state: SyncState, error: LoopError | null) => void;
  onError?: (error: unknown) => void;
}

export class SyncLoop<T> {
  private state: SyncState = SyncState.IDLE;
  private running: Promise<T> | undefined;
  private runAgain = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private started = false;
  /** A revoked device or a refused login stops the automatic runs until start() or setToken(). */
  private halted = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SyncLoopOptions<T>) {}

  get current(): SyncState {
    return this.state;
  }

  get isStarted(): boolean {
    return this.started;
  }

  start(): void {
    if (!this.started) {
      this.started = true;
      this.unsubscribe = this.options.network.subscribe((event) => {
        if (event === 'offline') {
          this.clearTimer();
          if (this.state !== SyncState.SYNCING) this.setState(SyncState.OFFLINE, null);
        } else this.trigger(event);
      });
    }
    this.halted = false;
    this.trigger('start');
  }

  stop(): void {
    this.started = false;
    this.clearTimer();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** An automatic reason to sync; ignored while halted, except a login. */
  trigger(reason: SyncTrigger): void {
    if (reason === 'login') this.halted = false;
    if (this.halted) return;
    if (this.running) {
      this.runAgain = true;
      return;
    }
    if (reason !== 'start' && reason !== 'login' && !this.options.network.isOnline()) return;
    this.runOnce().catch(() => undefined);
  }

  /** Runs now (or joins the running run) and resolves to its result. */
  syncNow(): Promise<T> {
    if (this.halted && this.state === SyncState.AUTH) this.halted = false;
    return this.runOnce();
  }

  private runOnce(): Promise<T> {
    if (this.running) return this.running;
    this.clearTimer();
    this.setState(SyncState.SYNCING, null);
    let succeeded = false;
    const run = this.options
      .run()
      .then(
        (result) => {
          this.failures = 0;
          succeeded = true;
          this.setState(SyncState.IDLE, null);
          this.schedule(this.options.intervalMs, 'timer');
          return result;
        },
        (error: unknown) => {
          this.fail(error);
          throw error;
        },
      )
      .finally(() => {
        this.running = undefined;
        // After a failure the backoff timer decides; a pending trigger must not skip it.
        if (this.runAgain && succeeded) this.trigger('retry');
        this.runAgain = false;
      });
    this.running = run;
    return run;
  }

  private fail(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.options.onError?.(error);
    if (!isTransportError(error)) {
      this.failures++;
      this.setState(SyncState.ERROR, { code: 'SYNC_FAILED', message });
      this.schedule(this.backoff(), 'retry');
      return;
    }
    const code = error.details.code ?? error.kind;
    switch (error.kind) {
      case TransportFailure.NETWORK:
        this.failures++;
        this.setState(SyncState.OFFLINE, { code, message });
        this.schedule(this.backoff(), 'retry');
        return;
      case TransportFailure.RATE_LIMITED:
        this.failures++;
        this.setState(SyncState.ERROR, { code, message });
        this.schedule(error.details.retryAfterMs ?? this.backoff(), 'retry');
        return;
      case TransportFailure.UNAUTHORIZED:
        this.halted = true;
        this.runAgain = false;
        this.setState(SyncState.AUTH, { code, message });
        return;
      case TransportFailure.REVOKED:
      case TransportFailure.FORBIDDEN:
        this.halted = true;
        this.runAgain = false;
        this.clearTimer();
        this.setState(SyncState.ERROR, { code, message });
        return;
      default:
        this.failures++;
        this.setState(SyncState.ERROR, { code, message });
        this.schedule(this.backoff(), 'retry');
    }
  }

  private backoff(): number {
    return backoffDelay(this.failures, this.options.retry, this.options.random);
  }

  private schedule(delayMs: number, reason: SyncTrigger): void {
    this.clearTimer();
    if (!this.started || this.halted) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.trigger(reason);
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setState(state: SyncState, error: LoopError | null): void {
    this.state = state;
    this.options.onState(state, error);
  }
}
