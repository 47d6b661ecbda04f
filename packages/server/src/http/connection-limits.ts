// How long a client may take: to send its headers, to pause inside its body, to send its whole
// request, to keep an idle connection, and how many requests one connection may carry. Node's HTTP
// server holds a slow client for as long as it likes otherwise (Fastify sets no request timeout).
//
// Measured on Node 20 (see docs/deployment.md): headersTimeout and requestTimeout end a request
// only if both are given when the server is created, with headersTimeout ≤ requestTimeout (set on
// the instance afterwards, as Fastify's own `requestTimeout` option does, Node's 60 s headers
// default keeps a stalled body open); both are checked every connectionsCheckingInterval (30 s
// by default, so it follows the shorter timeout here); connectionTimeout (socket idle) would also
// cut a slow handler without an answer, so the body pause is timed only while a body arrives.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { errorCodes, type ErrorCode } from '@syncline/protocol';
import { connectionLimitsDefaults, type ConnectionLimits } from '../config/limits.js';

export { connectionLimitsDefaults, type ConnectionLimits };

/** Fastify's server options for these limits. */
export function connectionServerOptions(limits: ConnectionLimits) {
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts on this interval: a quarter of the shorter one, 50 ms – 1 s.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
  };
}

/**
 * Answers on the bare socket, for refusals Node's HTTP parser raises before there is a request to
 * reply to (headers too slow or too large, a request timeout, a malformed request), then closes it.
 */
export function refuseOnSocket(socket: Duplex, code: ErrorCode, message: string): void {
  if (socket.writable) {
    const { status } = errorCodes[code];
    const body = JSON.stringify({ error: { code, message } });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's clientErrorHandler: Node's parser errors in the protocol's error shape. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    refuseOnSocket(socket, 'REQUEST_TIMEOUT', 'The request did not arrive in time');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    refuseOnSocket(socket, 'HEADERS_TOO_LARGE', errorCodes.HEADERS_TOO_LARGE.message);
  } else {
    // Invalid characters in a header (NUL included), a bad chunk size, a broken request line …
    refuseOnSocket(socket, 'VALIDATION_FAILED', 'The request is not valid HTTP/1.1');
  }
}

export function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const timed = new WeakSet<IncomingMessage>();

/**
 * Times the pauses of a body as it is read: the socket's idle timer runs from when reading starts
 * (preParsing, after any wait for a parsing slot; or when a refused body is drained) until the
 * body has arrived. Once per request.
 */
export function startBodyTimer(request: FastifyRequest, timeoutMs: number): void {
  const raw = request.raw;
  const socket = raw.socket;
  // app.inject()'s stand-in socket has no timer: nothing arrives slowly there.
  if (raw.complete || !hasBody(raw) || timeoutMs <= 0 || typeof socket?.setTimeout !== 'function') {
    return;
  }
  if (timed.has(raw)) return;
  timed.add(raw);
  const onTimeout = () => {
    request.log.debug({ timeoutMs }, 'request body stalled');
    refuseOnSocket(socket, 'REQUEST_TIMEOUT', `The body paused for more than ${timeoutMs} ms`);
  };
  const stop = () => {
    raw.removeListener('timeout', onTimeout);
    if (!socket.destroyed) socket.setTimeout(0);
  };
  // Node gives a socket timeout to the incomplete request's 'timeout' listeners first.
  raw.on('timeout', onTimeout);
  raw.once('end', stop);
  raw.once('close', stop);
  socket.setTimeout(timeoutMs);
}
