// The one error handler: every refusal is `{ error: { code, message, details? } }` with the HTTP
// status the protocol's error registry gives its code; anything unexpected is a bare 500.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errorCodes, type ErrorBody, type ErrorCode } from '@syncline/protocol';
import { isSyncError } from '../engine/errors.js';
import { drainBeforeRefusal } from './body-admission.js';

/** Fastify's own error codes, as the protocol names them. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_JSON',
  FST_ERR_MAX_PARAM_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
};

/** For errors that carry only an HTTP status (from Fastify or a plugin). */
const statusCodes: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

interface Refusal {
  status: number;
  body: ErrorBody;
}

/**
 * A value the database refused as data: PostgreSQL's class 22 (22021 a NUL in text, 22003 a number
 * out of range, …) or SQLite's datatype and size errors. Validation refuses such values first; this
 * is the last line, so that input never answers 500. Matched by shape: http knows no driver.
 */
export function isDatabaseDataError(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (typeof code !== 'string') return false;
  if (typeof severity === 'string' && /^22[0-9A-Z]{3}$/.test(code)) return true;
  return code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG';
}

export function toRefusal(error: unknown): Refusal {
  if (isDatabaseDataError(error)) {
    return {
      status: 400,
      body: { code: 'VALIDATION_FAILED', message: 'A value in the request cannot be stored' },
    };
  }
  if (isSyncError(error)) {
    const body: ErrorBody = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    return { status: errorCodes[error.code].status, body };
  }
  const fastifyError = error as Partial<FastifyError> | undefined;
  if (fastifyError?.validation) {
    return {
      status: 400,
      body: {
        code: 'VALIDATION_FAILED',
        message: fastifyError.message ?? errorCodes.VALIDATION_FAILED.message,
        details: {
          part: fastifyError.validationContext,
          errors: fastifyError.validation.map((e) => ({
            path: e.instancePath || '/',
            message: e.message,
            keyword: e.keyword,
            params: e.params,
          })),
        },
      },
    };
  }
  const mapped =
    (fastifyError?.code !== undefined ? fastifyCodes[fastifyError.code] : undefined) ??
    // Only client errors keep their status: a 5xx from a dependency is reported as INTERNAL.
    (fastifyError?.statusCode !== undefined && fastifyError.statusCode < 500
      ? statusCodes[fastifyError.statusCode]
      : undefined) ??
    (fastifyError?.statusCode === 503 ? 'UNAVAILABLE' : undefined);
  if (mapped) {
    // Fastify's 4xx messages describe the request, never the server, so they are safe to show.
    const message = fastifyError?.message || errorCodes[mapped].message;
    return { status: errorCodes[mapped].status, body: { code: mapped, message } };
  }
  return { status: 500, body: { code: 'INTERNAL', message: errorCodes.INTERNAL.message } };
}

export function sendRefusal(reply: FastifyReply, { status, body }: Refusal): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(status).type('application/json; charset=utf-8').send({ error: body });
}

export interface ErrorHandlerOptions {
  /** How much of a body left unread by a refusal is read before answering (body-admission). */
  drainBytes: number;
  /** The longest pause while it is read (connection-limits). */
  bodyTimeoutMs: number;
}

export const errorHandlerPlugin = fp<ErrorHandlerOptions>(
  async (fastify, limits) => {
    fastify.setErrorHandler(
      async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
        const refusal = toRefusal(error);
        // UNAVAILABLE is expected (draining, or the database check already logged): no stack.
        if (refusal.status >= 500 && refusal.body.code !== 'UNAVAILABLE')
          request.log.error({ err: error }, 'request failed');
        // Input that got past validation to the database: answered 400, but a gap to close.
        else if (isDatabaseDataError(error))
          request.log.warn({ err: error }, 'the database refused a value validation let through');
        else
          request.log.debug(
            { code: refusal.body.code, message: refusal.body.message },
            'request refused',
          );
        await drainBeforeRefusal(request, reply, limits);
        return sendRefusal(reply, refusal);
      },
    );
    fastify.setNotFoundHandler((request, reply) =>
      sendRefusal(reply, {
        status: 404,
        body: {
          code: 'NOT_FOUND',
          message: `Route ${request.method} ${request.url.split('?')[0] ?? ''} not found`,
        },
      }),
    );
  },
  { name: 'syncline-error-handler', fastify: '5.x' },
);
