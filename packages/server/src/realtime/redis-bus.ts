// Commit events over Redis pub/sub: one connection publishes, a second (in subscriber mode)
// listens, so a device streaming from instance B is poked for a push through instance A.
import type { CommitEvent } from '../engine/commit-events.js';
import type { Logger } from '../engine/ports.js';
import type { RealtimeBus } from './realtime-bus.js';

/** The part of an ioredis client the bus uses (declared structurally; ioredis fits). */
export interface RedisPublisher {
  publish(channel: string, message: string): Promise<unknown>;
}

export interface RedisSubscriber {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
}

export interface RedisBusOptions {
  publisher: RedisPublisher;
  /** A connection of its own: a subscribed Redis connection can run no other command. */
  subscriber: RedisSubscriber;
  /** The pub/sub channel, prefixed per deployment (channels are not keys: keyPrefix skips them). */
  channel: string;
  logger?: Logger;
}

export function createRedisBus(options: RedisBusOptions): RealtimeBus {
  const { publisher, subscriber, channel, logger } = options;
  const handlers: Array<(event: CommitEvent) => void> = [];
  let listening = false;
  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    let event: CommitEvent;
    try {
      event = JSON.parse(message) as CommitEvent;
    } catch (error) {
      logger?.warn({ err: error }, 'realtime: unreadable message on the channel');
      return;
    }
    for (const handler of handlers) handler(event);
  };
  return {
    publish(event) {
      publisher.publish(channel, JSON.stringify(event)).catch((error: unknown) => {
        logger?.warn(
          { err: error },
          'realtime: publish failed; devices learn of it on their next pull',
        );
      });
    },
    async subscribe(handler) {
      handlers.push(handler);
      if (listening) return;
      listening = true;
      subscriber.on('message', onMessage);
      await subscriber.subscribe(channel);
    },
    async close() {
      handlers.length = 0;
      if (listening) await subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
