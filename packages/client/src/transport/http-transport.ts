// The Transport over HTTP: the canonical /api/sync routes through an injected fetch, each failure
// sorted into a TransportFailure the core and the scheduler act on.
import {
  decodeSyncToken,
  parseRetryAfter,
  type DeltaRequest,
  type DeltaResponse,
  type ErrorBody,
  type PushRequest,
  type PushResponse,
  type SnapshotRequest,
  type SnapshotResponse,
} from '@syncline/protocol';
import { TransportError, TransportFailure, type Transport } from '../core/sync-ports.js';
import type { TokenSource } from './token-source.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpTransportOptions {
  /** The server's base URL, e.g. https://sync.example.org */
  url: string;
  fetch: FetchLike;
  tokens: TokenSource;
  now?: () => number;
  /** A request (answer and body) that takes longer fails as a network error (default 60 s). */
  timeoutMs?: number;
  /** Sent as `Syncline-Schema-Version` with every request: the app's local schema versions. */
  schemaVersion?: string;
  /** Offer the first-sync snapshot route (default true); false replays the feed instead. */
  snapshot?: boolean;
}

export const httpTransportDefaults = { timeoutMs: 60_000 } as const;

/** The feed position inside a sync token, when the token has the server's v1 shape. */
function feedPosition(token: string | undefined): number | undefined {
  if (token === undefined) return 0;
  return decodeSyncToken(token)?.seq;
}

export class HttpTransport implements Transport {
  private readonly base: string;

  constructor(private readonly options: HttpTransportOptions) {
    this.base = options.url.replace(/\/+$/, '');
    // An own property, so the core sees no snapshot method at all when it is turned off.
    if (options.snapshot === false) delete this.snapshot;
  }

  push(request: PushRequest): Promise<PushResponse> {
    return this.send<PushResponse>('POST', '/api/sync', request);
  }

  delta(request: DeltaRequest): Promise<DeltaResponse> {
    return this.send<DeltaResponse>('POST', '/api/sync/delta', request);
  }

  snapshot?: (request: SnapshotRequest) => Promise<SnapshotResponse> = (request) =>
    this.send<SnapshotResponse>('POST', '/api/sync/snapshot', request);

  /**
   * The feed's head position (from the status route) less the device's: an upper bound of the
   * changes still to pull, since rows the device may not see are counted too.
   */
  async estimateRemaining(syncToken: string | undefined): Promise<number | undefined> {
    const status = await this.send<{ syncToken: string }>('GET', '/api/sync/status');
    const head = feedPosition(status.syncToken);
    const at = feedPosition(syncToken);
    return head === undefined || at === undefined ? undefined : Math.max(0, head - at);
  }

  private async send<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response = await this.attempt(method, path, body, await this.options.tokens.current());
    if (response.response.status === 401) {
      await response.response.body?.cancel().catch(() => undefined);
      response.done();
      response = await this.attempt(method, path, body, await this.options.tokens.refresh());
    }
    try {
      return await this.read<T>(response.response, response.signal);
    } finally {
      response.done();
    }
  }

  private async attempt(
    method: string,
    path: string,
    body: unknown,
    token: string,
  ): Promise<{ response: Response; signal: AbortSignal; done: () => void }> {
    // A timer of our own rather than AbortSignal.timeout, so that it stops once the body is read.
    const controller = new AbortController();
    const timeoutMs = this.options.timeoutMs ?? httpTransportDefaults.timeoutMs;
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const done = () => clearTimeout(timer);
    try {
      const response = await this.options.fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(this.options.schemaVersion
            ? { 'syncline-schema-version': this.options.schemaVersion }
            : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: controller.signal,
      });
      return { response, signal: controller.signal, done };
    } catch (error) {
      done();
      throw this.networkError(`${method} ${path}`, error, controller.signal, timeoutMs);
    }
  }

  private networkError(
    what: string,
    error: unknown,
    signal: AbortSignal,
    timeoutMs: number,
    status?: number,
  ): TransportError {
    const details = status === undefined ? {} : { status };
    if (signal.aborted) {
      return new TransportError(TransportFailure.NETWORK, `${what}: no answer in ${timeoutMs} ms`, {
        ...details,
        code: 'TIMEOUT',
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new TransportError(TransportFailure.NETWORK, `${what}: ${message}`, details);
  }

  private async read<T>(response: Response, signal: AbortSignal): Promise<T> {
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The connection dropped (or the time ran out) while the body was on its way.
      const timeoutMs = this.options.timeoutMs ?? httpTransportDefaults.timeoutMs;
      throw this.networkError('reading the answer', error, signal, timeoutMs, response.status);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      if (parsed === undefined) {
        throw new TransportError(
          TransportFailure.SERVER,
          'The server answered an unreadable body',
          {
            status,
          },
        );
      }
      return parsed as T;
    }
    const error = (parsed as { error?: ErrorBody } | undefined)?.error;
    const code = error?.code;
    const message = `${status}${code ? ` ${code}` : ''}: ${error?.message ?? response.statusText}`;
    const details = { status, ...(code ? { code } : {}) };
    if (status === 401) throw new TransportError(TransportFailure.UNAUTHORIZED, message, details);
    if (status === 403 && code === 'DEVICE_REVOKED') {
      throw new TransportError(TransportFailure.REVOKED, message, details);
    }
    if (status === 429) {
      const now = this.options.now?.() ?? Date.now();
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
      throw new TransportError(TransportFailure.RATE_LIMITED, message, {
        ...details,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    if (status === 403) throw new TransportError(TransportFailure.FORBIDDEN, message, details);
    if (status === 400 || status === 413) {
      throw new TransportError(TransportFailure.REFUSED, message, details);
    }
    if (status >= 500 || status === 408) {
      throw new TransportError(TransportFailure.SERVER, message, details);
    }
    throw new TransportError(TransportFailure.UNEXPECTED, message, details);
  }
}
