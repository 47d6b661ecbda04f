// When the client syncs, and what it does after a failed run: a small state machine.
//
//                 start() · online · foreground · poke · timer · syncNow()
//        ┌────────┐ ─────────────────────────────────────────▶ ┌─────────┐
//        │  idle  │ ◀────────────── success ────────────────── │ syncing │
//        └────────┘   (next run after intervalMs)               └─────────┘
//          │    ▲                                                  ▲
//   write  │    │ write (debounce restarts)                        │ debounceMs after the last
//          ▼    │                                                  │ write, or maxDelayMs after
//        ┌──────────┐ ───────────────────────────────────────────── ┘ the first, whichever is first
//        │ idle,    │  offline: dropped (the reconnect pushes)
//        │ push due │  (still reported as 'idle')
//        └──────────┘
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
// A local write is online-first: it pushes within about a second, batched with the writes
// around it; in offline, error and auth states it waits like everything else (for the reconnect,
// the backoff timer or the login), so a failing server is not hammered by a busy user.
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
  | 'start'
  | 'online'
  | 'foreground'
  | 'login'
  | 'timer'
  | 'retry'
  | 'poke'
  | 'manual'
  | 'write'
  | 'push';

/** How soon a local write made online is pushed. */
export interface PushDelayOptions {
  /** Quiet time after the last write before the push: writes in a burst go in one batch. */
  debounceMs: number;
  /** A steady stream of writes still pushes this long after the first unpushed one. */
  maxDelayMs: number;
}

export const pushDelayDefaults: Readonly<PushDelayOptions> = Object.freeze({
  debounceMs: 300,
  maxDelayMs: 1_000,
});

export interface LoopError {
  code: string;
  message: string;
}

export interface SyncLoopOptions<T> {
  run: () => Promise<T>;
  network: NetworkSignal;
  intervalMs: number;
  /** Online-first pushes after local writes (default `pushDelayDefaults`). */
  pushDelay?: PushDelayOptions;
  retry: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'multiplier' | 'jitter'>;
  random?: () => number;
  onState: (state: SyncState, error: LoopError | null) => void;
  onError?: (error: unknown) => void;
}

export class SyncLoop<T> {
  private state: SyncState = SyncState.IDLE;
  private running: Promise<T> | undefined;
  private runAgain = false;
  private writeDuringRun = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The debounced push after local writes, apart from the interval/backoff timer it precedes. */
  private pushTimer: ReturnType<typeof setTimeout> | undefined;
  private firstWriteAt: number | undefined;
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
          this.clearPushTimer();
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
    this.clearPushTimer();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** An automatic reason to sync; ignored while halted, except a login. */
  trigger(reason: SyncTrigger): void {
    if (reason === 'write') return this.written();
    if (reason === 'login') this.halted = false;
    if (this.halted) return;
    if (this.running) {
      this.runAgain = true;
      return;
    }
    if (reason !== 'start' && reason !== 'login' && !this.options.network.isOnline()) return;
    this.runOnce().catch(() => undefined);
  }

  /**
   * A local write: push soon, when the loop is started, online and not waiting out a failure.
   * During a run the write may have missed its batch, so one more run follows (debounced).
   */
  private written(): void {
    if (!this.started || this.halted || !this.options.network.isOnline()) return;
    if (this.running) {
      this.writeDuringRun = true;
      return;
    }
    if (this.state !== SyncState.IDLE) return;
    const { debounceMs, maxDelayMs } = this.options.pushDelay ?? pushDelayDefaults;
    const now = Date.now();
    this.firstWriteAt ??= now;
    const delay = Math.max(0, Math.min(debounceMs, this.firstWriteAt + maxDelayMs - now));
    if (this.pushTimer !== undefined) clearTimeout(this.pushTimer);
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.firstWriteAt = undefined;
      this.trigger('push');
    }, delay);
  }

  /** Runs now (or joins the running run) and resolves to its result. */
  syncNow(): Promise<T> {
    if (this.halted && this.state === SyncState.AUTH) this.halted = false;
    return this.runOnce();
  }

  private runOnce(): Promise<T> {
    if (this.running) return this.running;
    this.clearTimer();
    this.clearPushTimer();
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
        const wrote = this.writeDuringRun;
        this.writeDuringRun = false;
        if (this.runAgain && succeeded) this.trigger('retry');
        else if (wrote && succeeded) this.written();
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

  private clearPushTimer(): void {
    if (this.pushTimer !== undefined) clearTimeout(this.pushTimer);
    this.pushTimer = undefined;
    this.firstWriteAt = undefined;
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
