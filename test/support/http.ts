// Small typed HTTP client for the canonical protocol, used by the end-to-end tests: push a batch,
// page through the delta feed, and build changes with fresh mutation ids.
import { randomUUID } from 'node:crypto';
import type {
  Change,
  DeltaRequest,
  DeltaResponse,
  PushRequest,
  PushResponse,
  ServerChange,
} from '@syncline/protocol';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    route: string,
  ) {
    super(`${route} answered ${status}: ${JSON.stringify(body)}`);
  }
}

/** What a JSON call answered: its status, headers and parsed body (undefined when empty). */
export interface JsonAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read many JSON shapes loosely
  body: any;
}

/** One call as a client makes it: a bearer token (or none), a JSON body when given. */
export async function callJson(
  baseUrl: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export async function postJson<T>(
  url: string,
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new HttpError(res.status, parsed, new URL(url).pathname);
  return parsed as T;
}

export async function getJson<T>(url: string, token: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const parsed: unknown = await res.json();
  if (!res.ok) throw new HttpError(res.status, parsed, new URL(url).pathname);
  return parsed as T;
}

export const push = (baseUrl: string, token: string, request: PushRequest) =>
  postJson<PushResponse>(`${baseUrl}/api/sync`, token, request);

export const delta = (baseUrl: string, token: string, request: DeltaRequest) =>
  postJson<DeltaResponse>(`${baseUrl}/api/sync/delta`, token, request);

/** Follows the feed from `syncToken` until the server has nothing more; returns what it saw. */
export async function pullAll(
  baseUrl: string,
  token: string,
  deviceId: string,
  options: { syncToken?: string; pageSize?: number } = {},
): Promise<{ changes: ServerChange[]; syncToken: string }> {
  const changes: ServerChange[] = [];
  let syncToken = options.syncToken;
  for (;;) {
    const page = await delta(baseUrl, token, {
      deviceId,
      pageSize: options.pageSize ?? 1000,
      ...(syncToken ? { syncToken } : {}),
    });
    changes.push(...page.changes);
    syncToken = page.syncToken;
    if (!page.hasMore) return { changes, syncToken };
  }
}

/** The latest version of each entity in a feed, keyed `type/id`. */
export function latestVersions(changes: readonly ServerChange[]): Map<string, ServerChange> {
  const latest = new Map<string, ServerChange>();
  for (const change of changes) {
    const key = `${change.entityType}/${change.entityId}`;
    const seen = latest.get(key);
    if (!seen || seen.version < change.version) latest.set(key, change);
  }
  return latest;
}

export function change(
  fields: Omit<Change, 'mutationId' | 'timestamp'> & { mutationId?: string; timestamp?: string },
): Change {
  return { mutationId: randomUUID(), timestamp: new Date().toISOString(), ...fields };
}
