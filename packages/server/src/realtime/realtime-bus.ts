// The fan-out of commit events between server instances. In one process an EventEmitter carries
// them (the embedded default); across instances, Redis pub/sub (redis-bus.ts). Every instance
// hears every event, its own included, and pokes the streams it holds.
import { EventEmitter } from 'node:events';
import type { CommitEvent } from '../engine/commit-events.js';

export interface RealtimeBus {
  /** Sends an event to every instance, this one included. Never throws: a lost poke only delays a pull. */
  publish(event: CommitEvent): void;
  /** Resolves once events published from now on reach `handler`. */
  subscribe(handler: (event: CommitEvent) => void): Promise<void>;
  close(): Promise<void>;
}

/** One process: events stay in memory, delivered on a later tick so a push never waits on fan-out. */
export function createMemoryBus(): RealtimeBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(event) {
      setImmediate(() => emitter.emit('event', event));
    },
    async subscribe(handler) {
      emitter.on('event', handler);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}
