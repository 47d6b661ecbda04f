// A small HTTP API on 127.0.0.1 standing in for a business's own API (seed 003): it records every
// request it receives and answers as a test tells it to — created, a conflict, a server error,
// a dropped connection — so that replays can be checked against a real socket.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** One scripted answer: a status and JSON body, a dropped connection, or no answer at all. */
export type UpstreamReply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { drop: true }
  | { hang: true };

export interface UpstreamServer {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Answers the next requests to `path` with these replies, in order; then the default. */
  script(path: string, replies: UpstreamReply[]): void;
  /** Requests received for one path. */
  requestsTo(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * Default answer: 201 with `{ id: "srv-<n>" }`; a repeated Idempotency-Key that already
 * succeeded answers 409 `{ conflict_type: "DUPLICATE", id }`, as an idempotent API would.
 */
export async function startUpstreamServer(): Promise<UpstreamServer> {
  const received: ReceivedRequest[] = [];
  const scripts = new Map<string, UpstreamReply[]>();
  const done = new Map<string, string>();
  let created = 0;
  const hanging = new Set<() => void>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = null;
      try {
        body = text ? (JSON.parse(text) as unknown) : null;
      } catch {
        body = text;
      }
      const path = req.url ?? '/';
      received.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      const reply = scripts.get(path)?.shift();
      if (reply && 'drop' in reply) {
        req.socket.destroy();
        return;
      }
      if (reply && 'hang' in reply) {
        const end = () => res.destroy();
        hanging.add(end);
        return;
      }
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(payload));
      };
      if (reply) {
        send(reply.status, reply.body ?? null, reply.headers);
        return;
      }
      const key = req.headers['idempotency-key'];
      const earlier = typeof key === 'string' ? done.get(key) : undefined;
      if (earlier) {
        send(409, { conflict_type: 'DUPLICATE', id: earlier, message: 'Already processed' });
        return;
      }
      const id = `srv-${++created}`;
      if (typeof key === 'string') done.set(key, id);
      send(201, { id, received: body });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script(path, replies) {
      scripts.set(path, [...(scripts.get(path) ?? []), ...replies]);
    },
    requestsTo: (path) => received.filter((r) => r.path === path),
    async close() {
      for (const end of hanging) end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
