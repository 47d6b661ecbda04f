// Request bodies: JSON only, optionally gzip-encoded, decompressed within the body limit (a gzip
// bomb answers 413 without being inflated), and refused when they hold what no route may store
// (see parseJsonBody); queries and path parameters get the same checks.
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { findJsonProblem, findUnderflow, limitsDefaults } from '@syncline/protocol';
import { SyncError } from '../engine/errors.js';

/** A payload's own limit plus the request envelope around it (body → changes → change → payload). */
const maxBodyDepth = limitsDefaults.maxPayloadDepth + 8;

export interface BodyParsingOptions {
  /** Largest body in bytes, after decompression. */
  bodyLimit: number;
}

/** Counts bytes and fails the stream as soon as they pass `limit`, so nothing more is inflated. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    if (this.bytes > this.limit) {
      done(new SyncError('PAYLOAD_TOO_LARGE', `The body is larger than ${this.limit} bytes`));
      return;
    }
    done(null, chunk);
  }
}

/**
 * A JSON body as the routes may see it: parsed, then refused (with the path) when it nests too
 * deep, holds a key that could poison prototypes or a NUL character, or holds a number a double
 * did not keep as sent (beyond ±(2^53−1), overflowing to Infinity, or underflowing to zero).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim().length === 0) throw new SyncError('MALFORMED_JSON', 'The body is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SyncError('MALFORMED_JSON', (error as Error).message);
  }
  const problem = findJsonProblem(parsed, maxBodyDepth);
  if (problem) {
    const { kind, path, message } = problem;
    throw kind === 'forbidden-key'
      ? new SyncError('FORBIDDEN_KEY', message, { path })
      : new SyncError('VALIDATION_FAILED', message, { path });
  }
  const underflow = findUnderflow(text);
  if (underflow) {
    throw new SyncError(
      'VALIDATION_FAILED',
      `${underflow} is too small for a double and would become 0; send it as a string`,
      { path: underflow },
    );
  }
  return parsed;
}

function routeBodyLimit(request: FastifyRequest, fallback: number): number {
  return request.routeOptions.bodyLimit ?? fallback;
}

export const bodyParsingPlugin = fp<BodyParsingOptions>(
  async (fastify, { bodyLimit }) => {
    // Fastify's own JSON parser turns every parse failure, prototype poisoning included, into one
    // FST_ERR_CTP_INVALID_JSON_BODY; ours tells malformed JSON from forbidden keys, and also catches
    // `prototype`, which Fastify's check does not cover. Other media types answer 415.
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit },
      (_request, body, done) => {
        try {
          done(null, parseJsonBody(body as string));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );

    fastify.addHook('preParsing', async (request, _reply, payload) => {
      const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (encoding === 'identity' || encoding === '') return payload;
      if (encoding !== 'gzip' && encoding !== 'x-gzip') {
        throw new SyncError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Encoding ${encoding} is not supported; use gzip`,
        );
      }
      const limit = routeBodyLimit(request, bodyLimit);
      // Fastify compares Content-Length (the compressed size) against what was received, and
      // reads `receivedEncodedLength` for it when a preParsing stream changes the byte count.
      const output = new ByteLimit(limit) as ByteLimit & { receivedEncodedLength?: number };
      const encoded = new ByteLimit(limit, (bytes) => {
        output.receivedEncodedLength = bytes;
      });
      const gunzip = createGunzip();
      const stages = [encoded, gunzip];
      // Any failure tears every stage down (no more inflating) and reaches the body reader, which
      // listens on `output`, as a refusal with a protocol code.
      const fail = (error: Error) => {
        for (const stage of stages) stage.destroy();
        if (!output.destroyed) {
          output.destroy(
            error instanceof SyncError
              ? error
              : new SyncError('MALFORMED_JSON', 'The gzip body could not be decompressed'),
          );
        }
      };
      payload.on('error', fail);
      encoded.on('error', fail);
      gunzip.on('error', fail);
      output.on('error', fail);
      payload.pipe(encoded).pipe(gunzip).pipe(output);
      return output;
    });

    // Query strings and path parameters are text from the URL: the forbidden keys and NUL (which
    // `%00` decodes to) are refused there as well, before any schema coerces them.
    fastify.addHook('preValidation', async (request) => {
      const problem =
        findJsonProblem(request.query, 4, '$query') ??
        findJsonProblem(request.params, 2, '$params');
      if (!problem) return;
      const { kind, path, message } = problem;
      throw new SyncError(
        kind === 'forbidden-key' ? 'FORBIDDEN_KEY' : 'VALIDATION_FAILED',
        message,
        {
          path,
        },
      );
    });
  },
  { name: 'syncline-body-parsing', fastify: '5.x' },
);
