// Raw clients for GET /api/sync/stream, as a device (or a browser) would open it: server-sent
// events over fetch, and a WebSocket through `ws`. They record every message for assertions.
import { WebSocket } from 'ws';

export interface StreamMessage {
  type: 'poke' | 'reconnect';
  syncToken?: string;
  retryAfterMs?: number;
}

export interface StreamClient {
  readonly messages: StreamMessage[];
  /** SSE comments (heartbeats) seen so far. */
  readonly comments: number;
  /** Resolves with the first message (from index `from` on) that matches, or rejects after `ms`. */
  next(match?: (m: StreamMessage) => boolean, ms?: number, from?: number): Promise<StreamMessage>;
  /** Resolves when the server ends the stream: the WebSocket close code, or null for SSE. */
  readonly ended: Promise<{ code: number | null; reason: string }>;
  close(): void;
}

function recorder() {
  const messages: StreamMessage[] = [];
  const waiters = new Set<() => void>();
  const push = (message: StreamMessage) => {
    messages.push(message);
    for (const wake of [...waiters]) wake();
  };
  const next = (
    match: (m: StreamMessage) => boolean = () => true,
    ms = 10_000,
    from = 0,
  ): Promise<StreamMessage> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = messages.slice(from).find(match);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`no matching stream message within ${ms} ms: ${JSON.stringify(messages)}`),
        );
      }, ms);
      const wake = () => void check();
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      waiters.add(wake);
      check();
    });
  return { messages, push, next };
}

export interface OpenStreamOptions {
  deviceId: string;
  token: string;
  /** Send the token as ?access_token= instead of the Authorization header. */
  tokenInQuery?: boolean;
  entityTypes?: string[];
}

function streamUrl(baseUrl: string, options: OpenStreamOptions, scheme?: 'ws'): string {
  const url = new URL('/api/sync/stream', baseUrl);
  if (scheme) url.protocol = 'ws:';
  url.searchParams.set('deviceId', options.deviceId);
  if (options.entityTypes) url.searchParams.set('entityTypes', options.entityTypes.join(','));
  if (options.tokenInQuery) url.searchParams.set('access_token', options.token);
  return url.toString();
}

/** Opens an SSE stream; rejects with the status and body if the server refuses it. */
export async function openSse(baseUrl: string, options: OpenStreamOptions): Promise<StreamClient> {
  const abort = new AbortController();
  const res = await fetch(streamUrl(baseUrl, options), {
    headers: {
      accept: 'text/event-stream',
      ...(options.tokenInQuery ? {} : { authorization: `Bearer ${options.token}` }),
    },
    signal: abort.signal,
  });
  if (res.status !== 200 || !res.body) {
    throw Object.assign(new Error(`stream answered ${res.status}: ${await res.text()}`), {
      status: res.status,
    });
  }
  const { messages, push, next } = recorder();
  let comments = 0;
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments += 1;
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (event === 'poke' || event === 'reconnect') {
            push({ type: event, ...(JSON.parse(data) as object) });
          }
        }
      }
    } catch {
      // Aborted by close().
    }
    return { code: null, reason: '' };
  })();
  return {
    messages,
    get comments() {
      return comments;
    },
    next,
    ended,
    close: () => abort.abort(),
  };
}

/** Opens a WebSocket stream; rejects with the HTTP status if the upgrade is refused. */
export async function openWebSocket(
  baseUrl: string,
  options: OpenStreamOptions,
): Promise<StreamClient> {
  const socket = new WebSocket(streamUrl(baseUrl, options, 'ws'), {
    headers: options.tokenInQuery ? {} : { authorization: `Bearer ${options.token}` },
  });
  const { messages, push, next } = recorder();
  const ended = new Promise<{ code: number | null; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
  socket.on('message', (data) => push(JSON.parse(String(data)) as StreamMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, res) => {
      reject(
        Object.assign(new Error(`upgrade answered ${res.statusCode}`), { status: res.statusCode }),
      );
      socket.terminate();
    });
    socket.once('error', reject);
  });
  return { messages, comments: 0, next, ended, close: () => socket.close() };
}
