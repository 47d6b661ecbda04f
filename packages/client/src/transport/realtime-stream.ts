// The realtime stream: GET /api/sync/stream as Server-Sent Events through the injected fetch.
// A `poke` means "the feed moved": the client syncs. A `reconnect` event or a dropped stream
// reconnects with backoff; a 404 means the server has no stream and the timer alone remains.
import { createParser } from 'eventsource-parser';
import type { FetchLike } from './http-transport.js';
import type { TokenSource } from './token-source.js';

export interface RealtimeStreamOptions {
  url: string;
  deviceId: string;
  /** Only changes of these types poke (the client's configured collections). */
  entityTypes?: readonly string[];
  fetch: FetchLike;
  tokens: TokenSource;
  /** The wait before reconnect number n (1 for the first). */
  reconnectDelay: (attempt: number) => number;
  /** A poke arrived, or the stream came back after a drop (pokes may have been missed). */
  onPoke: () => void;
  /** The stream cannot be had (404, or refused credentials); the caller keeps its timer. */
  onUnavailable?: (reason: string) => void;
}

export interface RealtimeStream {
  close(): void;
  /** Resolves once the stream has stopped for good (closed or unavailable). */
  readonly done: Promise<void>;
}

export function openRealtimeStream(options: RealtimeStreamOptions): RealtimeStream {
  const base = options.url.replace(/\/+$/, '');
  const query = new URLSearchParams({ deviceId: options.deviceId });
  if (options.entityTypes?.length) query.set('entityTypes', options.entityTypes.join(','));
  const address = `${base}/api/sync/stream?${query.toString()}`;
  let closed = false;
  let controller: AbortController | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const open = async (token: string) => {
    controller = new AbortController();
    return options.fetch(address, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
  };

  /** Reads one connection to its end; returns the wait the server asked for, if it did. */
  const consume = async (body: ReadableStream<Uint8Array>): Promise<number | undefined> => {
    let retryAfterMs: number | undefined;
    const parser = createParser({
      onEvent(event) {
        if (event.event === 'poke') options.onPoke();
        else if (event.event === 'reconnect') {
          try {
            const data = JSON.parse(event.data) as { retryAfterMs?: unknown };
            if (typeof data.retryAfterMs === 'number') retryAfterMs = data.retryAfterMs;
          } catch {
            // A reconnect without a readable wait uses the backoff.
          }
          controller?.abort();
        }
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // Aborted or dropped: either way, reconnect.
    } finally {
      reader.releaseLock?.();
    }
    return retryAfterMs;
  };

  const run = async () => {
    let failures = 0;
    let connectedBefore = false;
    while (!closed) {
      let waitMs: number | undefined;
      try {
        let response = await open(await options.tokens.current());
        if (response.status === 401) response = await open(await options.tokens.refresh());
        if (response.status === 404 || response.status === 401 || response.status === 403) {
          await response.body?.cancel().catch(() => undefined);
          options.onUnavailable?.(`the stream answered ${response.status}`);
          return;
        }
        if (response.ok && response.body) {
          if (connectedBefore) options.onPoke();
          connectedBefore = true;
          failures = 0;
          waitMs = await consume(response.body);
        } else await response.body?.cancel().catch(() => undefined);
      } catch {
        // Network failure: back off below.
      }
      if (closed) return;
      failures++;
      await sleep(waitMs ?? options.reconnectDelay(failures));
    }
  };

  const done = run();
  return {
    done,
    close() {
      closed = true;
      controller?.abort();
      wake?.();
    },
  };
}
