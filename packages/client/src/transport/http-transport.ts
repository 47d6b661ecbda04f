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

/** How long a request may wait on the network before it fails as a network error. */
export interface TimeoutOptions {
  /**
   * Reaching the server. fetch does not tell when the connection is up, so until the first byte
   * of the answer the request has `connectMs + readMs` (Node's fetch also ends a connection
   * attempt itself after 10 s).
   */
  connectMs: number;
  /** The longest silence while the answer is awaited or read: each piece of body restarts it. */
  readMs: number;
}

export const timeoutDefaults: Readonly<TimeoutOptions> = Object.freeze({
  connectMs: 10_000,
  readMs: 30_000,
});

/** Gzips a request body; resolves to the compressed bytes. */
export type CompressBody = (body: Uint8Array) => Promise<Uint8Array>;

export interface HttpTransportOptions {
  /** The server's base URL, e.g. https://sync.example.org */
  url: string;
  fetch: FetchLike;
  tokens: TokenSource;
  now?: () => number;
  timeouts?: Partial<TimeoutOptions>;
  /**
   * Request bodies larger than `compressAboveBytes` are sent gzip-encoded with this (default:
   * the platform's CompressionStream where there is one; `null` sends every body as it is).
   */
  compress?: CompressBody | null;
  compressAboveBytes?: number;
  /** Sent as `Syncline-Schema-Version` with every request: the app's local schema versions. */
  schemaVersion?: string;
  /** Offer the first-sync snapshot route (default true); false replays the feed instead. */
  snapshot?: boolean;
}

export const httpTransportDefaults = Object.freeze({ compressAboveBytes: 1024 });

/** gzip through the web platform's CompressionStream (browsers, workers, Node 18+). */
export const gzipWithCompressionStream: CompressBody = async (body) => {
  const stream = new Blob([body as BlobPart])
    .stream()
    .pipeThrough(
      new CompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  return new Uint8Array(await new Response(stream).arrayBuffer());
};

function defaultCompress(): CompressBody | null {
  return typeof globalThis.CompressionStream === 'function' ? gzipWithCompressionStream : null;
}

interface Attempt {
  response: Response;
  signal: AbortSignal;
  /** Restarts the read timer: a piece of the answer arrived. */
  progress: () => void;
  done: () => void;
}

interface EncodedBody {
  bytes: Uint8Array | string;
  gzip: boolean;
}

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

  snapshot?: (
    request: SnapshotRequest,
    onCursor?: (cursor: string | null) => void,
  ) => Promise<SnapshotResponse> = (request, onCursor) =>
    this.send<SnapshotResponse>(
      'POST',
      '/api/sync/snapshot',
      request,
      onCursor && ((text) => leadingCursor(text, onCursor)),
    );

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

  /** `peek` sees the answer's text as it grows, until it returns true (it saw what it wanted). */
  private async send<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    peek?: (text: string) => boolean,
  ): Promise<T> {
    const encoded = body === undefined ? undefined : await this.encode(body);
    let response = await this.attempt(method, path, encoded, await this.options.tokens.current());
    if (response.response.status === 401) {
      await response.response.body?.cancel().catch(() => undefined);
      response.done();
      response = await this.attempt(method, path, encoded, await this.options.tokens.refresh());
    }
    try {
      return await this.read<T>(response, response.response.ok ? peek : undefined);
    } finally {
      response.done();
    }
  }

  private async encode(body: unknown): Promise<EncodedBody> {
    const text = JSON.stringify(body);
    const compress =
      this.options.compress === undefined ? defaultCompress() : this.options.compress;
    const above = this.options.compressAboveBytes ?? httpTransportDefaults.compressAboveBytes;
    // Length in UTF-16 units is at most the UTF-8 length: a cheap test before encoding.
    if (!compress || text.length * 3 <= above) return { bytes: text, gzip: false };
    const bytes = new TextEncoder().encode(text);
    if (bytes.byteLength <= above) return { bytes: text, gzip: false };
    return { bytes: await compress(bytes), gzip: true };
  }

  private get timeouts(): TimeoutOptions {
    return { ...timeoutDefaults, ...this.options.timeouts };
  }

  private async attempt(
    method: string,
    path: string,
    body: EncodedBody | undefined,
    token: string,
  ): Promise<Attempt> {
    // Timers of our own rather than AbortSignal.timeout: the read timer restarts on each piece
    // of the answer and stops once the body is read.
    const controller = new AbortController();
    const { connectMs, readMs } = this.timeouts;
    let timer = setTimeout(() => controller.abort(), connectMs + readMs);
    const progress = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), readMs);
    };
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
          ...(body?.gzip ? { 'content-encoding': 'gzip' } : {}),
        },
        ...(body === undefined ? {} : { body: body.bytes as BodyInit }),
        signal: controller.signal,
      });
      progress();
      return { response, signal: controller.signal, progress, done };
    } catch (error) {
      done();
      throw this.networkError(`${method} ${path}`, error, controller.signal);
    }
  }

  private networkError(
    what: string,
    error: unknown,
    signal: AbortSignal,
    status?: number,
  ): TransportError {
    const details = status === undefined ? {} : { status };
    if (signal.aborted) {
      const { connectMs, readMs } = this.timeouts;
      const limit =
        status === undefined
          ? `no answer in ${connectMs + readMs} ms`
          : `the answer paused for ${readMs} ms`;
      return new TransportError(TransportFailure.NETWORK, `${what}: ${limit}`, {
        ...details,
        code: 'TIMEOUT',
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new TransportError(TransportFailure.NETWORK, `${what}: ${message}`, details);
  }

  private async read<T>(
    { response, signal, progress }: Attempt,
    peek?: (text: string) => boolean,
  ): Promise<T> {
    let text: string;
    try {
      text = await readText(response, progress, peek);
    } catch (error) {
      // The connection dropped (or the time ran out) while the body was on its way.
      throw this.networkError('reading the answer', error, signal, response.status);
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

/**
 * The body as text, calling `progress` on each piece (the read timeout counts silences) and
 * showing `peek` the text so far until it is satisfied.
 */
async function readText(
  response: Response,
  progress: () => void,
  peek?: (text: string) => boolean,
): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let peeking = peek;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    progress();
    text += decoder.decode(value, { stream: true });
    if (peeking?.(text)) peeking = undefined;
  }
  return text + decoder.decode();
}

/** A snapshot answer's text begins `{"cursor":<string or null>,` when the server writes it so. */
const CURSOR_FIRST = /^\{"cursor":(null|"(?:[^"\\]|\\.)*")[,}]/;
/** The cursor is never longer than this: past it, the answer is not of that shape. */
const CURSOR_PREFIX_CHARS = 2048;

/** Tells `onCursor` the cursor at the start of a snapshot answer; true once it knows there is none to tell. */
function leadingCursor(text: string, onCursor: (cursor: string | null) => void): boolean {
  const match = CURSOR_FIRST.exec(text);
  if (!match) return text.length > CURSOR_PREFIX_CHARS;
  let cursor: unknown;
  try {
    cursor = JSON.parse(match[1]!);
  } catch {
    return true;
  }
  if (cursor === null || typeof cursor === 'string') onCursor(cursor);
  return true;
}
