// An ordered shutdown for `syncline serve`: steps run one after another, by phase and then in
// the order they were added, so each part of the server appends its own step where it belongs.
// A step that fails is logged and the rest still run: the store must close whatever else failed.
import type { Logger } from './engine/ports.js';

/**
 * stop-accepting: readiness answers 503, the load balancer drains this instance.
 * drain: streams get a reconnect hint; the HTTP server stops accepting and finishes in-flight work.
 * stop-workers: background work stops taking new jobs and finishes the ones it holds.
 * release: connections to Redis and the database close.
 */
export const shutdownPhases = ['stop-accepting', 'drain', 'stop-workers', 'release'] as const;
export type ShutdownPhase = (typeof shutdownPhases)[number];

export interface ShutdownSequence {
  add(phase: ShutdownPhase, name: string, step: () => Promise<void> | void): void;
  /** Runs every step once (later calls return the same promise); false if any step failed. */
  run(): Promise<boolean>;
}

export function createShutdownSequence(logger?: Logger): ShutdownSequence {
  const steps: Array<{ phase: number; name: string; step: () => Promise<void> | void }> = [];
  let running: Promise<boolean> | undefined;
  return {
    add(phase, name, step) {
      if (running) throw new Error(`shutdown already running; cannot add "${name}"`);
      steps.push({ phase: shutdownPhases.indexOf(phase), name, step });
    },
    run() {
      running ??= (async () => {
        let ok = true;
        // Array.prototype.sort is stable: within a phase, the order of add() holds.
        for (const { name, step } of [...steps].sort((a, b) => a.phase - b.phase)) {
          const started = Date.now();
          try {
            await step();
            logger?.info({ step: name, ms: Date.now() - started }, 'shutdown step done');
          } catch (error) {
            ok = false;
            logger?.error({ err: error, step: name }, 'shutdown step failed');
          }
        }
        return ok;
      })();
      return running;
    },
  };
}
