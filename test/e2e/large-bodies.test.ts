// Regressions from review, through the real server process: an oversize body answered 413 to
// curl, but Node's fetch got EPIPE because the server closed while it was still sending; and a
// burst of nine ~5 MB bodies grew the server's memory by hundreds of MB. A fetch client now
// receives the 413 JSON (with or without Content-Length, gzip too), and large bodies are read and
// handled a few at a time, so a burst stays within a bound.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = server.token('u1', 'large-bodies');
});
afterAll(() => server?.stop());

const headers = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  ...extra,
});

/** A push body of about `mib` MiB that the default 10 MiB limit refuses. */
const oversize = (mib: number) =>
  Buffer.from(JSON.stringify({ deviceId: 'd1', changes: [], pad: 'x'.repeat(mib * 1024 * 1024) }));

/** The same bytes as a stream: fetch sends them chunked, with no Content-Length. */
const chunked = (bytes: Buffer) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 64 * 1024) {
        controller.enqueue(bytes.subarray(i, i + 64 * 1024));
      }
      controller.close();
    },
  });

async function expect413(init: RequestInit & { duplex?: 'half' }) {
  const res = await fetch(`${server.url}/api/sync`, { method: 'POST', ...init });
  expect(res.status).toBe(413);
  expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
}

describe('an oversize body', () => {
  const body = oversize(20);

  it('answers fetch 413 JSON with Content-Length, every time', async () => {
    for (let i = 0; i < 8; i++) await expect413({ headers: headers(), body });
  });

  it('answers fetch 413 JSON without Content-Length', async () => {
    for (let i = 0; i < 4; i++) {
      await expect413({ headers: headers(), body: chunked(body), duplex: 'half' });
    }
  });

  it('answers fetch 413 JSON for gzip bodies too large inflated, or even compressed', async () => {
    const inflatesTooLarge = gzipSync(body);
    const incompressible = gzipSync(randomBytes(12 * 1024 * 1024));
    for (const zipped of [inflatesTooLarge, incompressible]) {
      const gzip = headers({ 'content-encoding': 'gzip' });
      await expect413({ headers: gzip, body: zipped });
      await expect413({ headers: gzip, body: chunked(zipped), duplex: 'half' });
    }
  });
});

describe('a burst of large bodies', () => {
  const rssMiB = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]) / 1024;

  /** ~5 MB: 20 changes with payloads of 2,500 small rows, each answered with the pulled feed. */
  const burstBody = (i: number) =>
    JSON.stringify({
      deviceId: `burst-${i}`,
      changes: Array.from({ length: 20 }, (_, j) => ({
        entityType: 'record',
        entityId: `b-${i}-${j}`,
        operation: 'CREATE',
        clientVersion: 1,
        timestamp: new Date().toISOString(),
        payload: { rows: Array.from({ length: 2500 }, (_, k) => ({ k, v: 'z'.repeat(70) })) },
      })),
    });

  // Measured on the test machine, peak growth of the server's RSS: +720–810 MB before large bodies
  // were admitted two at a time, +360–490 MB since. The bound is loose: it catches the old way.
  it.skipIf(process.platform !== 'linux')(
    'nine in parallel keep the server’s memory within a bound',
    async () => {
      const bodies = Array.from({ length: 9 }, (_, i) => burstBody(i));
      const before = rssMiB();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 5);
      try {
        const statuses = await Promise.all(
          bodies.map(async (body) => {
            const res = await fetch(`${server.url}/api/sync`, {
              method: 'POST',
              headers: headers(),
              body,
            });
            await res.arrayBuffer();
            return res.status;
          }),
        );
        expect(statuses).toEqual(Array(9).fill(200));
      } finally {
        clearInterval(sampler);
      }
      expect(peak - before).toBeLessThan(640);
    },
    60_000,
  );
});
