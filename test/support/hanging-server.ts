// A TCP server on 127.0.0.1 that accepts connections and never answers a byte: the dead server
// behind a load balancer, or a captive network. Counts the connections it was offered.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface HangingServer {
  readonly url: string;
  connections(): number;
  /** When each connection came (ms since the epoch). */
  times(): number[];
  close(): Promise<void>;
}

export async function startHangingServer(): Promise<HangingServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const times: number[] = [];
  const server = createServer((socket) => {
    connections++;
    times.push(Date.now());
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    times: () => [...times],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
