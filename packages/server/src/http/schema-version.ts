// Reads the Syncline-Schema-Version header (`visits=3,assets=1`, the app's local schema versions)
// on the /api/sync routes: a malformed one is refused before the route runs (nothing applied,
// no rate budget spent); a valid one goes into the request's log bindings, so that every line of
// the request names it, and to the engine, which keeps it on the device.
import { parseSchemaVersionHeader, schemaVersionHeaderName } from '@syncline/protocol';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SyncError } from '../engine/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The header in canonical form (sorted by type), or null when the request sent none. */
    schemaVersions: string | null;
  }
}

const isSyncRoute = (url: string) => url === '/api/sync' || url.startsWith('/api/sync/');

/** The header's one value; a repeated header arrives joined by ", " and is read as one list. */
function headerOf(request: FastifyRequest): string | undefined {
  const value = request.headers[schemaVersionHeaderName];
  return Array.isArray(value) ? value.join(', ') : value;
}

export const schemaVersionPlugin = fp(
  async (fastify) => {
    fastify.decorateRequest('schemaVersions', null);
    // After authentication (onRequest), before validation, the rate budgets and the handler.
    fastify.addHook('preValidation', async (request) => {
      if (request.is404 || !isSyncRoute(request.url.split('?')[0] ?? '')) return;
      const header = headerOf(request);
      if (header === undefined) return;
      const parsed = parseSchemaVersionHeader(header);
      if (!parsed.ok) {
        throw new SyncError(
          'INVALID_SCHEMA_VERSION',
          `Syncline-Schema-Version: ${parsed.reason} (expected e.g. "visits=3,assets=1")`,
          { header: 'Syncline-Schema-Version', reason: parsed.reason },
        );
      }
      request.schemaVersions = parsed.text;
      request.log = request.log.child({ schemaVersion: parsed.text });
    });
  },
  { name: 'syncline-schema-version', dependencies: ['syncline-auth'], fastify: '5.x' },
);
