// A small HTTP server on 127.0.0.1 in front of the real sync server, for end-to-end tests: it
// forwards /api/* (streaming the answer back, server-sent events included), can serve static
// files from the same origin (a test page and its bundle, so that the page needs no CORS), records
// every request body it forwards, and lets a test answer a request itself (a 502, a 413) or drop
// its connection, as a misbehaving proxy does.
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The body's bytes as the client sent them. */
  bytes: number;
  /** The body parsed as JSON, when it is. */
  body: unknown;
}

/** What the proxy does with a request instead of forwarding it. */
export type Intercept =
  { status: number; body?: unknown; headers?: Record<string, string> } | 'drop' | undefined;

export interface SyncProxyOptions {
  /** Served at these paths (e.g. '/' → an HTML page, '/sdk.js' → a bundle). */
  files?: Record<string, { type: string; body: string }>;
  /** Called for every /api request before it is forwarded; an answer replaces forwarding. */
  intercept?: (request: ProxiedRequest) => Intercept;
}

export interface SyncProxy {
  readonly url: string;
  /** Every /api request the proxy received, intercepted or not, in arrival order. */
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startSyncProxy(
  target: string,
  options: SyncProxyOptions = {},
): Promise<SyncProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    const file = options.files?.[path.split('?')[0] ?? '/'];
    if (file) {
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
      res.end(file.body);
      return;
    }
    if (!path.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      body = raw.length > 0 ? JSON.parse(text.toString('utf8')) : undefined;
    } catch {
      body = undefined;
    }
    const seen: ProxiedRequest = { method: req.method ?? 'GET', path, bytes: raw.length, body };
    requests.push(seen);
    const answer = options.intercept?.(seen);
    if (answer === 'drop') {
      req.socket.destroy();
      return;
    }
    if (answer) {
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      return;
    }
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(raw.length) };
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path, headers },
      (answerFromServer) => {
        res.writeHead(answerFromServer.statusCode ?? 502, answerFromServer.headers);
        answerFromServer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    res.on('close', () => forwarded.destroy());
    forwarded.end(raw);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
