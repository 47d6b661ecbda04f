// The seeds' clients and examples send JSON in ways the canonical routes refuse: curl's `-d`
// labels it as a form, the HTTP examples leave the type out, and seed 001's client posts
// `Content-Type: application/json` with no body. These route hooks (onRequest, before parsing)
// read all of them as what they are, JSON or nothing; the JSON parser's checks still apply.
import type { FastifyRequest } from 'fastify';

function hasBody(request: FastifyRequest): boolean {
  const headers = request.raw.headers;
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A body sent untyped or typed as a form is read as JSON; an empty one as no body at all. */
export async function seedJsonBody(request: FastifyRequest): Promise<void> {
  const headers = request.raw.headers;
  if (!hasBody(request)) {
    delete headers['content-type'];
    return;
  }
  const type = headers['content-type']?.toLowerCase();
  if (type === undefined || type.startsWith('application/x-www-form-urlencoded')) {
    headers['content-type'] = 'application/json';
  }
}
