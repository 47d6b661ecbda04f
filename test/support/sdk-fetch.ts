// A scripted network for SDK unit tests with fake timers: every request the client makes is
// recorded (with the fake clock's time) and answered by the test's handler, which can answer like
// the server does (acceptPush, emptyPage) or fail like a network does.
import { gunzipSync } from 'node:zlib';
import type { Change, DeltaResponse, PushRequest, PushResponse } from '@syncline/protocol';

export interface RecordedCall {
  path: string;
  method: string;
  body: unknown;
  authorization: string | null;
  /** The Syncline-Schema-Version header, when sent. */
  schemaVersion: string | null;
  at: number;
}

export type Handler = (call: RecordedCall) => Response | Promise<Response>;

export function scriptedFetch(handler: Handler) {
  const calls: RecordedCall[] = [];
  const fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const headers = new Headers(init?.headers);
    const call: RecordedCall = {
      path: url.pathname,
      method: init?.method ?? 'GET',
      body: bodyOf(init?.body, headers),
      authorization: headers.get('authorization'),
      schemaVersion: headers.get('syncline-schema-version'),
      at: Date.now(),
    };
    calls.push(call);
    return handler(call);
  };
  return { fetch, calls, pushes: () => calls.filter((c) => c.path === '/api/sync') };
}

/** The JSON a fetch call's init carried, gzip-encoded or not ({} when none). */
export function requestJson(init: RequestInit | undefined): unknown {
  return bodyOf(init?.body, new Headers(init?.headers)) ?? {};
}

/** The JSON a request carried, gzip-encoded or not. */
function bodyOf(body: RequestInit['body'] | undefined, headers: Headers): unknown {
  if (typeof body === 'string') return JSON.parse(body);
  if (body instanceof Uint8Array && headers.get('content-encoding') === 'gzip')
    return JSON.parse(gunzipSync(body).toString('utf8'));
  return undefined;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

export const errorResponse = (status: number, code: string, headers: Record<string, string> = {}) =>
  json(status, { error: { code, message: code } }, headers);

export const networkDown = (): never => {
  throw new TypeError('fetch failed');
};

/** Answers a push as the server would when every change applies, with an empty pulled page. */
export function acceptPush(
  request: PushRequest,
  outcome: (change: Change) => 'APPLIED' | 'REJECTED' = () => 'APPLIED',
): PushResponse {
  return {
    syncToken: 'v1.0.0.000000000000',
    changes: [],
    hasMore: false,
    results: request.changes.map((change) => {
      const status = outcome(change);
      return {
        mutationId: change.mutationId ?? '',
        entityType: change.entityType,
        entityId: change.entityId,
        status,
        ...(status === 'APPLIED'
          ? { version: change.operation === 'CREATE' ? 1 : change.clientVersion + 1 }
          : { error: { code: 'SCHEMA_VIOLATION', message: 'refused' } }),
      };
    }),
    conflicts: [],
    serverTime: new Date().toISOString(),
  };
}

export const emptyPage: DeltaResponse = {
  changes: [],
  nextPageToken: null,
  hasMore: false,
  syncToken: 'v1.0.0.000000000000',
};

/** The usual handler: pushes accepted, pulls empty. */
export const healthyServer: Handler = (call) =>
  call.path === '/api/sync'
    ? json(200, acceptPush(call.body as PushRequest))
    : call.path === '/api/sync/delta'
      ? json(200, emptyPage)
      : errorResponse(404, 'NOT_FOUND');
