// A small DNS server on 127.0.0.1 (UDP) for end-to-end tests: the real server process resolves
// upstream host names through it (SYNCLINE_UPSTREAM_DNS), and the test decides what each query
// answers, so a name can point one way when the config is saved and another way when sending.
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { decode, encode, RECURSION_AVAILABLE, type Answer } from 'dns-packet';

const nxdomain = 3;

export interface DnsServer {
  /** `127.0.0.1:port`, for SYNCLINE_UPSTREAM_DNS. */
  readonly address: string;
  /** A-record answers for `name`, one list per query, the last one repeated. */
  answer(name: string, ...answers: string[][]): void;
  /** The A queries received for `name`, in order. */
  queriesFor(name: string): number;
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<DnsServer> {
  const socket = createSocket('udp4');
  const scripts = new Map<string, string[][]>();
  const asked = new Map<string, number>();

  socket.on('message', (message, peer) => {
    const query = decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase();
    const script = scripts.get(name);
    let answers: Answer[] = [];
    if (question.type === 'A' && script) {
      const n = asked.get(name) ?? 0;
      asked.set(name, n + 1);
      const addresses = script[Math.min(n, script.length - 1)] ?? [];
      answers = addresses.map((data) => ({ type: 'A', name: question.name, ttl: 0, data }));
    }
    const reply = encode({
      type: 'response',
      id: query.id ?? 0,
      // NXDOMAIN (rcode 3) for names the test never scripted; AAAA queries answer no data.
      flags: RECURSION_AVAILABLE | (script ? 0 : nxdomain),
      questions: [question],
      answers,
    });
    socket.send(reply, peer.port, peer.address);
  });

  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    answer(name, ...answers) {
      scripts.set(name.toLowerCase(), answers);
      asked.delete(name.toLowerCase());
    },
    queriesFor: (name) => asked.get(name.toLowerCase()) ?? 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
