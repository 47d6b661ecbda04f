// The streams one instance holds, and what each is told: on a commit event, a poke with the sync
// token the device would hold after pulling it (its own view: user, role, rule claims, types), to
// the devices whose view the change may touch; never the data. Heartbeats keep proxies from
// closing idle streams; an expired token or an unregistered device ends its stream.
import type { Actor } from '../engine/actor.js';
import type { CollectionRegistry } from '../engine/collections.js';
import { mayConcern, type CommitEvent } from '../engine/commit-events.js';
import type { Logger } from '../engine/ports.js';
import { encodeCursor } from '../engine/sync-token.js';

/** Why a stream ends: shutdown asks the device to come back (elsewhere); the others do not. */
export type StreamEnd =
  | { reason: 'reconnect'; retryAfterMs: number }
  | { reason: 'token-expired' }
  | { reason: 'device-revoked' };

/** One open stream, whatever carries it (WebSocket or server-sent events). */
export interface StreamSink {
  poke(syncToken: string): void;
  heartbeat(): void;
  end(how: StreamEnd): void;
}

export interface StreamSubscription {
  actor: Actor;
  deviceId: string;
  /** viewScope() of the actor and the stream's entityTypes filter. */
  scope: string;
  entityTypes: readonly string[] | undefined;
  /** The tenant's feed position and epoch when the stream opened: the first poke. */
  seq: number;
  epoch: number;
  sink: StreamSink;
}

export interface RealtimeHubOptions {
  collections: CollectionRegistry;
  logger?: Logger;
  /** Between heartbeats (default 25 s: under the 30–60 s idle timeouts of common proxies). */
  heartbeatMs?: number;
  /** A stream is told to come back after a random delay up to this (default 3 s): no stampede. */
  reconnectJitterMs?: number;
}

export interface RealtimeHub {
  /** Registers a stream and sends its first poke; returns the function that forgets it. */
  add(subscription: StreamSubscription): () => void;
  /** Applies one commit event (from the bus) to the streams of its tenant. */
  deliver(event: CommitEvent): void;
  /** Open streams (for /metrics and tests). */
  size(): number;
  /** Ends every stream with a reconnect hint and refuses new ones. */
  closeAll(): void;
  readonly closing: boolean;
}

interface Connection extends StreamSubscription {
  lastSeq: number;
  lastEpoch: number;
  expiryTimer: NodeJS.Timeout | undefined;
}

// setTimeout fires at once for delays past 2^31 - 1 ms (about 24.8 days).
const maxTimerMs = 2 ** 31 - 1;

export function createRealtimeHub(options: RealtimeHubOptions): RealtimeHub {
  const { collections, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? 25_000;
  const jitterMs = options.reconnectJitterMs ?? 3000;
  const byTenant = new Map<string, Set<Connection>>();
  let closing = false;
  let count = 0;

  const poke = (connection: Connection, seq: number, epoch: number) => {
    if (seq <= connection.lastSeq && epoch === connection.lastEpoch) return;
    connection.lastSeq = Math.max(seq, connection.lastSeq);
    connection.lastEpoch = epoch;
    const token = encodeCursor({ seq: connection.lastSeq, epoch, scope: connection.scope });
    try {
      connection.sink.poke(token);
    } catch (error) {
      logger?.warn({ err: error, deviceId: connection.deviceId }, 'realtime: poke failed');
    }
  };

  const remove = (connection: Connection) => {
    const set = byTenant.get(connection.actor.tenant);
    if (!set?.delete(connection)) return;
    count -= 1;
    clearTimeout(connection.expiryTimer);
    if (set.size === 0) byTenant.delete(connection.actor.tenant);
  };

  const end = (connection: Connection, how: StreamEnd) => {
    remove(connection);
    try {
      connection.sink.end(how);
    } catch (error) {
      logger?.warn(
        { err: error, deviceId: connection.deviceId },
        'realtime: ending a stream failed',
      );
    }
  };

  const heartbeat = setInterval(() => {
    for (const set of byTenant.values()) for (const c of set) c.sink.heartbeat();
  }, heartbeatMs);
  heartbeat.unref();

  return {
    add(subscription) {
      // A stream that finished opening after shutdown began is told to reconnect elsewhere at
      // once, so it neither holds the drain nor outlives the hub.
      if (closing) {
        subscription.sink.end({ reason: 'reconnect', retryAfterMs: 500 });
        return () => undefined;
      }
      const connection: Connection = {
        ...subscription,
        lastSeq: -1,
        lastEpoch: subscription.epoch,
        expiryTimer: undefined,
      };
      const exp = subscription.actor.claims.exp;
      if (typeof exp === 'number') {
        const delay = Math.max(0, Math.min(exp * 1000 - Date.now(), maxTimerMs));
        connection.expiryTimer = setTimeout(
          () => end(connection, { reason: 'token-expired' }),
          delay,
        );
        connection.expiryTimer.unref();
      }
      const tenant = subscription.actor.tenant;
      let set = byTenant.get(tenant);
      if (!set) byTenant.set(tenant, (set = new Set()));
      set.add(connection);
      count += 1;
      poke(connection, subscription.seq, subscription.epoch);
      return () => remove(connection);
    },

    deliver(event) {
      const set = byTenant.get(event.tenant);
      if (!set) return;
      for (const connection of [...set]) {
        if (event.kind === 'device-revoked') {
          if (connection.deviceId === event.deviceId) end(connection, { reason: 'device-revoked' });
          continue;
        }
        if (event.kind === 'changes') {
          const types = connection.entityTypes;
          const touches = event.changes.some(
            (change) =>
              (!types || types.includes(change.entityType)) &&
              mayConcern(connection.actor, collections, change),
          );
          // Not the reader's concern, and its token stays valid: no poke.
          if (!touches) continue;
        }
        poke(connection, event.seq, event.epoch);
      }
    },

    size: () => count,

    closeAll() {
      closing = true;
      clearInterval(heartbeat);
      for (const set of [...byTenant.values()]) {
        for (const connection of [...set]) {
          end(connection, {
            reason: 'reconnect',
            retryAfterMs: 500 + Math.floor(Math.random() * jitterMs),
          });
        }
      }
    },

    get closing() {
      return closing;
    },
  };
}
