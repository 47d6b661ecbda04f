// A TCP proxy on 127.0.0.1 that behaves like a field worker's 2G link: a shared bandwidth each
// way (50 kbit/s by default), added latency (1 s round trip), and connections dropped at random
// mid-request. Random choices come from a seeded generator; the seed is printed so that a failing
// run can be repeated (SYNCLINE_PROXY_SEED). It counts the bytes that crossed it each way: the
// wire cost of a sync, headers and all.
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { prng } from '../../packages/server/src/testing/prng.js';

export interface ThrottlingProxyOptions {
  /** Bits per second, each way, shared by all connections (default 50,000). */
  bitsPerSecond?: number;
  /** Added round trip in ms, half each way (default 1,000). */
  roundTripMs?: number;
  /** Chance that a connection is cut somewhere within its next request or answer (default 0). */
  dropRate?: number;
  seed?: number;
  /** Where the seed is reported (default console.log). */
  log?: (line: string) => void;
}

export interface ThrottlingProxy {
  readonly url: string;
  readonly seed: number;
  /** Bytes the client sent (up) and received (down) through the proxy. */
  bytes(): { up: number; down: number };
  /** Connections the proxy cut on purpose. */
  drops(): number;
  /** While off, new connections are refused and open ones cut, as with no signal at all. */
  setOnline(online: boolean): void;
  close(): Promise<void>;
}

/** One direction of the link: chunks leave one after another at the link's rate, then travel. */
class Lane {
  private freeAt = 0;
  moved = 0;

  constructor(
    private readonly bytesPerMs: number,
    private readonly delayMs: number,
  ) {}

  /** When a chunk of this size, sent now, arrives at the far end. */
  arrival(size: number): number {
    const now = Date.now();
    const start = Math.max(now, this.freeAt);
    this.freeAt = start + size / this.bytesPerMs;
    this.moved += size;
    return this.freeAt + this.delayMs;
  }
}

const PIECE = 512;

export async function startThrottlingProxy(
  target: string,
  options: ThrottlingProxyOptions = {},
): Promise<ThrottlingProxy> {
  const upstream = new URL(target);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  (options.log ?? console.log)(`throttling proxy seed ${seed} (SYNCLINE_PROXY_SEED=${seed})`);
  const random = prng(seed);
  const bytesPerMs = (options.bitsPerSecond ?? 50_000) / 8 / 1000;
  const oneWay = (options.roundTripMs ?? 1000) / 2;
  const up = new Lane(bytesPerMs, oneWay);
  const down = new Lane(bytesPerMs, oneWay);
  const dropRate = options.dropRate ?? 0;
  const sockets = new Set<Socket>();
  let drops = 0;
  let online = true;

  const server = createServer((client) => {
    if (!online) return client.destroy();
    const server = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client);
    sockets.add(server);
    let closed = false;
    const cut = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
    };
    // Each burst of traffic (a request or an answer) may be the one the link drops, somewhere in
    // first 800 bytes (most requests and answers are longer): before, during or after the commit.
    let dropAfter = -1;
    const armDrop = () => {
      dropAfter = random() < dropRate ? Math.floor(random() * 800) : -1;
    };
    let lastDirection: 'up' | 'down' | undefined;
    const relay = (from: Socket, to: Socket, lane: Lane, direction: 'up' | 'down') => {
      from.on('data', (data: Buffer) => {
        if (direction !== lastDirection) {
          lastDirection = direction;
          armDrop();
        }
        for (let at = 0; at < data.length; at += PIECE) {
          let piece = data.subarray(at, at + PIECE);
          if (dropAfter >= 0 && dropAfter < piece.length) {
            piece = piece.subarray(0, dropAfter);
            const arrival = lane.arrival(piece.length);
            setTimeout(() => {
              if (!closed && piece.length > 0) to.write(piece);
              drops++;
              cut();
            }, arrival - Date.now());
            from.pause();
            return;
          }
          if (dropAfter >= 0) dropAfter -= piece.length;
          const arrival = lane.arrival(piece.length);
          setTimeout(() => {
            if (!closed) to.write(piece);
          }, arrival - Date.now());
        }
      });
      from.on('end', () => {
        // Half-closes travel with the data: after the last byte has arrived.
        const arrival = lane.arrival(0);
        setTimeout(() => {
          if (!closed) to.end();
        }, arrival - Date.now());
      });
    };
    relay(client, server, up, 'up');
    relay(server, client, down, 'down');
    client.on('error', cut);
    server.on('error', cut);
    client.on('close', () => setTimeout(cut, oneWay));
    server.on('close', () => setTimeout(cut, oneWay));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seed,
    bytes: () => ({ up: up.moved, down: down.moved }),
    drops: () => drops,
    setOnline(value) {
      online = value;
      if (!value) for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
