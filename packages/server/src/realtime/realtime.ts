// Realtime, assembled: the bus that carries commit events between instances and the hub that
// pokes this instance's streams. Give `publish` to the engine as its onCommitted listener.
import type { CollectionRegistry } from '../engine/collections.js';
import type { CommitEvent, CommitListener } from '../engine/commit-events.js';
import type { Logger } from '../engine/ports.js';
import { createMemoryBus, type RealtimeBus } from './realtime-bus.js';
import { createRealtimeHub, type RealtimeHub, type RealtimeHubOptions } from './realtime-hub.js';

export interface RealtimeOptions extends Omit<RealtimeHubOptions, 'collections'> {
  collections: CollectionRegistry;
  /** Redis pub/sub across instances (createRedisBus), or in memory (the default). */
  bus?: RealtimeBus;
  logger?: Logger;
}

export interface Realtime {
  /** The engine's onCommitted: sends the event to every instance. */
  readonly publish: CommitListener;
  readonly hub: RealtimeHub;
  readonly collections: CollectionRegistry;
  /** Resolves once the bus listens: events published from then on reach this instance. */
  readonly ready: Promise<void>;
  /** Ends the streams (if still open) and leaves the bus. */
  close(): Promise<void>;
}

/** Subscribes at once; await `ready` before serving so that no event is missed. */
export function createRealtime(options: RealtimeOptions): Realtime {
  const bus = options.bus ?? createMemoryBus();
  const hub = createRealtimeHub(options);
  const ready = bus.subscribe((event: CommitEvent) => {
    try {
      hub.deliver(event);
    } catch (error) {
      options.logger?.error({ err: error }, 'realtime: delivering an event failed');
    }
  });
  return {
    publish: (event) => bus.publish(event),
    hub,
    collections: options.collections,
    ready,
    async close() {
      if (!hub.closing) hub.closeAll();
      await bus.close();
    },
  };
}
