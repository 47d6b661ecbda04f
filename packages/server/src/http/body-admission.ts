// When a body is read: large bodies a few at a time (each one, parsed, is several times its size
// in memory until its response is sent, so a burst of them would grow the heap by hundreds of MB),
// and with its pauses timed. A refused body is read to its end, within a bound, before the refusal
// is sent: the connection closes after it, and closing while the client is still sending resets
// it, so the client (Node's fetch among them) sees EPIPE instead of the answer.
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bodyAdmissionDefaults } from '../config/limits.js';
import { hasBody, startBodyTimer } from './connection-limits.js';

export interface BodyAdmissionOptions {
  /** The longest pause while a body arrives (connection-limits). */
  bodyTimeoutMs: number;
  /** Bodies over `largeBodyBytes` (or of unknown length) read and handled at once. */
  largeBodyConcurrency: number;
  largeBodyBytes: number;
}

export { bodyAdmissionDefaults };

/** A counting semaphore, first come first served. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(size: number) {
    this.free = size;
  }
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

function isLarge(raw: IncomingMessage, largeBodyBytes: number): boolean {
  if (!hasBody(raw)) return false;
  const length = Number(raw.headers['content-length']);
  const encoded = (raw.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  // Chunked or gzip bodies may be large whatever they announce.
  return !Number.isFinite(length) || length > largeBodyBytes || encoded !== 'identity';
}

/** Holds a slot from before the body is read until the response is done (or the client gone). */
async function admit(slots: Slots, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let gone = false;
  let held = false;
  const release = () => {
    gone = true;
    if (held) {
      held = false;
      slots.release();
    }
  };
  reply.raw.once('close', release);
  // The connection may have closed before this hook ran (a client cut off mid-request while the
  // earlier hooks ran): 'close' has fired already and will not again, so the slot would leak.
  if (connectionClosed(request, reply)) gone = true;
  await slots.acquire();
  held = true;
  // The client left (or timed out) while it waited: hand the slot on.
  if (gone || connectionClosed(request, reply)) release();
}

function connectionClosed(request: FastifyRequest, reply: FastifyReply): boolean {
  return reply.raw.closed || reply.raw.destroyed || request.raw.destroyed;
}

/** Announced past the route's limit: Fastify refuses it before reading, so it need not wait. */
function overLimit(request: FastifyRequest): boolean {
  const length = Number(request.raw.headers['content-length']);
  const limit = request.routeOptions.bodyLimit;
  return Number.isFinite(length) && limit !== undefined && length > limit;
}

function unreadBody(raw: IncomingMessage): boolean {
  return hasBody(raw) && !raw.complete && !raw.readableEnded && !raw.destroyed;
}

/**
 * Reads and drops what is left of a refused body, up to `maxBytes`; resolves true when it ended.
 * Stalls are bounded by the body and request timeouts, which close the socket.
 */
export function discardBody(raw: IncomingMessage, maxBytes: number): Promise<boolean> {
  const announced = Number(raw.headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let bytes = 0;
    const finish = (ended: boolean) => {
      raw.removeListener('data', onData);
      raw.removeListener('end', onEnd);
      raw.removeListener('close', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(raw.complete);
    // A gzip stage the body was piped into, no longer read, would hold the body back.
    raw.unpipe();
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('close', onClose);
    raw.resume();
  });
}

/**
 * Before a refusal is sent: reads the rest of the body, if the request was refused before its
 * body was read to the end. When the body was too long to drain, the connection is closed after
 * the answer instead of reading on.
 */
export async function drainBeforeRefusal(
  request: FastifyRequest,
  reply: FastifyReply,
  limits: { drainBytes: number; bodyTimeoutMs: number },
): Promise<void> {
  if (!unreadBody(request.raw)) return;
  // Refused before its body was read (a bad token, say): its pauses are timed from now.
  startBodyTimer(request, limits.bodyTimeoutMs);
  const ended = await discardBody(request.raw, limits.drainBytes);
  if (!ended) reply.header('connection', 'close');
}

export const bodyAdmissionPlugin = fp<BodyAdmissionOptions>(
  async (fastify, options) => {
    const slots = new Slots(Math.max(1, options.largeBodyConcurrency));
    // Registered before the gzip stage's preParsing hook: nothing is read until this resolves.
    fastify.addHook('preParsing', async (request, reply, payload) => {
      if (isLarge(request.raw, options.largeBodyBytes) && !overLimit(request)) {
        await admit(slots, request, reply);
      }
      startBodyTimer(request, options.bodyTimeoutMs);
      return payload;
    });
  },
  { name: 'syncline-body-admission', fastify: '5.x' },
);
