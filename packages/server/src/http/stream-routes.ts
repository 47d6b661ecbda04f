// GET /api/sync/stream: a device's "new changes" stream, as a WebSocket or, when the request
// accepts text/event-stream, as server-sent events. Authenticated like every route (a browser,
// which cannot set headers on these, may pass `access_token` in the query instead).
//
//   SSE:        event: poke       data: {"syncToken":"…"}
//               event: reconnect  data: {"retryAfterMs":n}    (shutdown; the stream then ends)
//               `: ping` comments keep proxies from closing an idle stream
//   WebSocket:  {"type":"poke","syncToken":"…"}
//               {"type":"reconnect","retryAfterMs":n}, then close 1012 (service restart)
//               ping frames; a socket that misses a pong is dropped
//   Both end without a reconnect hint when the token expires (WebSocket close 4401) or the device
//   is unregistered (close 4403): the device needs a new token or a new registration first.
import websocketPlugin from '@fastify/websocket';
import { Type, type Static } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { WebSocket } from 'ws';
import { deviceIdSchema } from '@syncline/protocol';
import type { CollectionRegistry } from '../engine/collections.js';
import { assertDeviceUsable } from '../engine/authorize.js';
import { SyncError } from '../engine/errors.js';
import type { Crypto, SyncStore } from '../engine/ports.js';
import { viewScope } from '../engine/sync-token.js';
import { actorOf, withoutAccessToken } from './auth.js';
import type {
  RealtimeHub,
  StreamEnd,
  StreamSink,
  StreamSubscription,
} from '../realtime/realtime-hub.js';
import {
  createStreamSlots,
  streamCapsDefaults,
  type StreamCaps,
  type StreamSlot,
} from '../realtime/stream-slots.js';

export interface StreamRoutesOptions {
  hub: RealtimeHub;
  store: Pick<SyncStore, 'forTenant'>;
  collections: CollectionRegistry;
  crypto: Crypto;
  /** Open streams per user and per tenant on this instance (streamCapsDefaults). */
  caps?: Partial<StreamCaps>;
}

/** A refused stream may try again after this; a slot frees when any of the user's streams ends. */
export const streamRetryAfterSeconds = 30;

const streamQuerySchema = Type.Object({
  deviceId: deviceIdSchema,
  /** Comma-separated: only changes of these types poke (as a pull with that filter). */
  entityTypes: Type.Optional(Type.String({ maxLength: 4096 })),
  /** The bearer token, for browsers' WebSocket and EventSource; never logged. */
  access_token: Type.Optional(Type.String({ maxLength: 8192 })),
});
type StreamQuery = Static<typeof streamQuerySchema>;

declare module 'fastify' {
  interface FastifyRequest {
    streamSubscription: Omit<StreamSubscription, 'sink'> | null;
    /** The stream's place under the caps, from the checks until the stream ends. */
    streamSlot: StreamSlot | null;
  }
}

/** WebSocket close codes: 1012 service restart; 4401 / 4403 mirror HTTP 401 / 403. */
export const streamCloseCodes = {
  reconnect: 1012,
  tokenExpired: 4401,
  deviceRevoked: 4403,
} as const;

const wantsEventStream = (request: FastifyRequest) =>
  (request.headers.accept ?? '').toLowerCase().includes('text/event-stream');
const isUpgrade = (request: FastifyRequest) =>
  request.headers.upgrade?.toLowerCase() === 'websocket';

/** The sink, freeing the stream's slot when the hub ends it (the socket may live on). */
function releasingOnEnd(sink: StreamSink, slot: StreamSlot): StreamSink {
  return {
    poke: (syncToken) => sink.poke(syncToken),
    heartbeat: () => sink.heartbeat(),
    end(how) {
      slot.release();
      sink.end(how);
    },
  };
}

function sseSink(reply: FastifyReply): StreamSink {
  const raw = reply.raw;
  const write = (text: string) => {
    if (!raw.writableEnded && !raw.destroyed) raw.write(text);
  };
  return {
    poke: (syncToken) => write(`event: poke\ndata: ${JSON.stringify({ syncToken })}\n\n`),
    heartbeat: () => write(': ping\n\n'),
    end(how: StreamEnd) {
      if (how.reason === 'reconnect') {
        write(`event: reconnect\ndata: ${JSON.stringify({ retryAfterMs: how.retryAfterMs })}\n\n`);
      }
      if (!raw.writableEnded) raw.end();
    },
  };
}

function socketSink(socket: WebSocket): StreamSink {
  let alive = true;
  socket.on('pong', () => {
    alive = true;
  });
  const send = (message: object) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  return {
    poke: (syncToken) => send({ type: 'poke', syncToken }),
    heartbeat() {
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      if (socket.readyState === socket.OPEN) socket.ping();
    },
    end(how: StreamEnd) {
      if (how.reason === 'reconnect') {
        send({ type: 'reconnect', retryAfterMs: how.retryAfterMs });
        socket.close(streamCloseCodes.reconnect, 'server restarting');
      } else if (how.reason === 'token-expired') {
        socket.close(streamCloseCodes.tokenExpired, 'token expired');
      } else {
        socket.close(streamCloseCodes.deviceRevoked, 'device unregistered');
      }
    },
  };
}

export const streamRoutesPlugin = fp<StreamRoutesOptions>(
  async (fastify, { hub, store, collections, crypto, caps }) => {
    const slots = createStreamSlots({ ...streamCapsDefaults, ...caps });
    await fastify.register(websocketPlugin, {
      options: { maxPayload: 4096 },
      // Shutdown: streams end with a reconnect hint before the server stops accepting, so devices
      // come back (through the load balancer, to another instance) instead of timing out. This
      // replaces the plugin's own preClose, which would close every socket without a hint.
      preClose(this: FastifyInstance, done: () => void) {
        hub.closeAll();
        for (const client of this.websocketServer.clients) {
          if (client.readyState === client.OPEN) client.close(streamCloseCodes.reconnect);
        }
        done();
      },
    });
    fastify.decorateRequest('streamSubscription', null);
    fastify.decorateRequest('streamSlot', null);

    /**
     * Checks the device and reads where the feed stands, then takes a slot under the caps, before
     * any upgrade or stream begins.
     */
    async function open(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      if (hub.closing) throw new SyncError('UNAVAILABLE', 'The server is shutting down');
      if (!isUpgrade(request) && !wantsEventStream(request)) {
        throw new SyncError(
          'VALIDATION_FAILED',
          'Upgrade to a WebSocket or send Accept: text/event-stream',
        );
      }
      const actor = actorOf(request);
      const query = request.query as StreamQuery;
      const entityTypes = query.entityTypes
        ?.split(',')
        .map((type) => type.trim())
        .filter((type) => type.length > 0);
      for (const type of entityTypes ?? []) collections.get(type);
      const tenant = store.forTenant(actor.tenant);
      const [device, state] = await Promise.all([
        tenant.getDevice(query.deviceId),
        tenant.getTenantState(),
      ]);
      // Another user learns nothing of the device, not even that it was unregistered.
      assertDeviceUsable(actor, query.deviceId, device);
      // After the last await: the count and the take are one step, so parallel opens cannot overrun.
      const taken = slots.acquire(actor.tenant, actor.userId);
      if (!taken.ok) {
        reply.header('retry-after', String(streamRetryAfterSeconds));
        throw new SyncError(
          'RATE_LIMITED',
          `At most ${taken.limit} streams per ${taken.cap} may be open on this server; close one or retry later`,
          { cap: taken.cap, limit: taken.limit },
        );
      }
      request.streamSlot = taken.slot;
      // Whatever happens next, the slot is free once the connection is gone.
      const socket = request.raw.socket;
      if (socket.destroyed) taken.slot.release();
      else socket.once('close', () => taken.slot.release());
      request.streamSubscription = {
        actor,
        deviceId: query.deviceId,
        entityTypes,
        scope: viewScope(actor, collections, entityTypes, crypto),
        seq: state.seq,
        epoch: state.epoch,
      };
    }

    fastify.route({
      method: 'GET',
      url: '/api/sync/stream',
      config: { queryToken: true },
      schema: {
        tags: ['sync'],
        summary: 'Stream "new changes" pokes (WebSocket, or server-sent events)',
        description:
          'Send `Accept: text/event-stream` for server-sent events, or upgrade to a WebSocket. ' +
          'Each poke carries the sync token the device would hold after pulling; pull when it ' +
          'differs from yours.',
        querystring: streamQuerySchema,
      },
      preHandler: async (request, reply) => {
        await open(request, reply);
      },
      // Only a refused stream gets here (an open one is hijacked): its slot is free again. A
      // refused upgrade (401, 403 …) is answered over the raw socket, which nothing else ends
      // when the refusal came from a hook that ran before the WebSocket plugin's own: end it
      // here, or it lingers half-open and holds up server.close().
      onResponse: async (request) => {
        request.streamSlot?.release();
        if (isUpgrade(request)) request.raw.socket.destroy();
      },
      handler: async (request, reply) => {
        const subscription = request.streamSubscription;
        const slot = request.streamSlot;
        if (!subscription || !slot) throw new Error('stream: the subscription was not opened');
        reply.hijack();
        // The headers the hooks set (CORS for a browser app on another origin) go out too: a
        // hijacked reply sends only what is written to it.
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (value !== undefined) reply.raw.setHeader(name, value);
        }
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          // nginx: pass events through as they come instead of buffering the response.
          'x-accel-buffering': 'no',
        });
        // The client may have gone while the subscription was opened: its close event has fired.
        if (request.raw.socket.destroyed) {
          reply.raw.destroy();
          return;
        }
        // The stream has its own heartbeat: no socket idle timer may end it.
        request.raw.socket.setTimeout(0);
        reply.raw.write(': connected\n\n');
        const forget = hub.add({ ...subscription, sink: releasingOnEnd(sseSink(reply), slot) });
        request.log.debug(
          {
            url: withoutAccessToken(request.url),
            deviceId: subscription.deviceId,
            transport: 'sse',
          },
          'stream opened',
        );
        request.raw.socket.on('close', () => {
          forget();
          slot.release();
        });
      },
      wsHandler: (socket, request) => {
        const subscription = request.streamSubscription;
        const slot = request.streamSlot;
        if (!subscription || !slot) {
          socket.close(1011, 'stream was not opened');
          return;
        }
        const forget = hub.add({ ...subscription, sink: releasingOnEnd(socketSink(socket), slot) });
        request.log.debug(
          {
            url: withoutAccessToken(request.url),
            deviceId: subscription.deviceId,
            transport: 'websocket',
          },
          'stream opened',
        );
        const close = () => {
          forget();
          slot.release();
        };
        socket.on('close', close);
        socket.on('error', close);
      },
    });
  },
  {
    name: 'syncline-realtime-stream',
    dependencies: ['syncline-auth'],
    fastify: '5.x',
  },
);
