// The error registry: every code a Syncline server can answer, its HTTP status and a default
// message. docs/errors.md documents each one; a test keeps the two in step. Never reuse a retired code.

export const errorCodes = {
  VALIDATION_FAILED: { status: 400, message: 'The request does not match its schema' },
  MALFORMED_JSON: { status: 400, message: 'The body is not valid JSON' },
  FORBIDDEN_KEY: { status: 400, message: 'Keys __proto__, constructor and prototype are refused' },
  FUTURE_TIMESTAMP: { status: 400, message: 'A timestamp is more than 5 minutes in the future' },
  UNKNOWN_ENTITY_TYPE: {
    status: 400,
    message: 'The collections config does not name this entity type',
  },
  SCHEMA_VIOLATION: { status: 400, message: "The payload does not match its collection's schema" },
  CHECKSUM_MISMATCH: { status: 400, message: 'The payload does not match its checksum' },
  INVALID_OPERATION: { status: 400, message: 'The operation cannot apply to this entity' },
  INVALID_SYNC_TOKEN: { status: 400, message: 'The sync token or page token is not valid' },
  INVALID_SNAPSHOT_CURSOR: {
    status: 400,
    message: 'The snapshot cursor is not valid for this reader any more; start the snapshot again',
  },
  INVALID_SCHEMA_VERSION: {
    status: 400,
    message: 'The Syncline-Schema-Version header is not a list of type=version',
  },
  UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required' },
  TOKEN_EXPIRED: { status: 401, message: 'The bearer token has expired' },
  FORBIDDEN: { status: 403, message: 'You may not do this' },
  ADMIN_REQUIRED: { status: 403, message: 'This route is for tenant admins' },
  DEVICE_REVOKED: {
    status: 403,
    message: 'This device was unregistered; register it again to sync',
  },
  ACCESS_DENIED: { status: 403, message: "The collection's access rule refuses this change" },
  NOT_FOUND: { status: 404, message: 'Not found' },
  CONFLICT_ALREADY_RESOLVED: { status: 409, message: 'The conflict is already resolved' },
  CONFLICT_STALE: {
    status: 409,
    message: 'The entity changed since the conflict was raised; review it again',
  },
  MERGE_INCOMPLETE: {
    status: 409,
    message: 'Both sides changed the same fields; resolvedData is needed',
  },
  OFFLINE_NOT_ALLOWED: {
    status: 403,
    message: "The business's offline config does not allow this operation offline",
  },
  QUEUE_FULL: { status: 409, message: 'The offline queue holds max_queue_size operations' },
  UPSTREAM_NOT_CONFIGURED: {
    status: 409,
    message: 'No upstream base URL is configured to replay operations against',
  },
  UPSTREAM_NOT_ALLOWED: {
    status: 400,
    message: 'The upstream URL is not an allowed http(s) URL',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    message: 'The request did not arrive in time (its headers, or a pause in its body)',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The body or a payload is larger than allowed' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Send application/json (optionally gzip-encoded)',
  },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are larger than allowed' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry after the time in Retry-After' },
  CHANGE_FAILED: {
    status: 500,
    message: 'This change failed on the server and was rolled back; send it again later',
  },
  INTERNAL: { status: 500, message: 'Internal server error' },
  UNAVAILABLE: { status: 503, message: 'The server is not ready' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCodes, code);
}
