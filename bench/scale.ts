// Scale-out figures for `npm run bench` (with SYNCLINE_BENCH_PG_URL and SYNCLINE_BENCH_REDIS_URL):
// push and pull throughput through one and through two server processes on one PostgreSQL schema
// and one Redis, side by side, and how long a connected device waits between a push and having
// pulled it (poke, then pull) with 200 devices streaming.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Change, DeltaResponse, PushResponse } from '@syncline/protocol';
import { dropPostgresSchema, openStore } from '../packages/server/src/store/index.js';
import { openSse, type StreamClient } from '../packages/server/src/testing/stream-client.js';
import { mintHs256, startServer, type ServerProcess } from '../test/support/server-process.js';
import { postJson as post } from '../test/support/http.js';

const CHANGES = Number(process.env.SYNCLINE_BENCH_SCALE_CHANGES ?? 3000);
const BATCH = 100;
const WRITERS = 6;
const READERS = 6;
const PAGE = 1000;
const DEVICES = Number(process.env.SYNCLINE_BENCH_STREAM_DEVICES ?? 200);
const ROUNDS = 10;

export interface ScaleThroughput {
  instances: number;
  pushPerSecond: number;
  pullPerSecond: number;
}

export interface ScaleFigures {
  changes: number;
  batchSize: number;
  writers: number;
  readers: number;
  throughput: ScaleThroughput[];
  pokes: {
    devices: number;
    rounds: number;
    /** Push acknowledged → poke received, ms. */
    pokeMedianMs: number;
    pokeP99Ms: number;
    /** Push acknowledged → the device's pull answered with the change, ms. */
    pullMedianMs: number;
    pullP99Ms: number;
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** A field record every user of the tenant reads (attendance is owner-only: readers would see none). */
function visit(tag: string, i: number): Change {
  return {
    mutationId: `${tag}-${i}`,
    entityType: 'record',
    entityId: `${tag}-${i}`,
    operation: 'CREATE',
    clientVersion: 1,
    timestamp: new Date(Date.now() - 1000).toISOString(),
    payload: {
      facilityId: `facility-${i % 25}`,
      kind: 'visit',
      visitedAt: new Date(Date.now() - 3_600_000).toISOString(),
      latitude: -1.2921,
      longitude: 36.8219,
    },
  };
}

async function throughput(
  servers: ServerProcess[],
  secret: string,
  tenant: string,
): Promise<ScaleThroughput> {
  const now = Math.floor(Date.now() / 1000);
  // One tenant per writer (reader r reads tenant r): a tenant's writes are serialized by design,
  // so instances add throughput across tenants, which is what a large deployment has.
  const token = (sub: string, n: number) =>
    mintHs256(secret, { sub, tenant: `${tenant}-${n}`, role: 'user', iat: now, exp: now + 3600 });
  const perWriter = Math.ceil(CHANGES / WRITERS);
  // Writers take the instances in turn, as a round-robin load balancer would send them.
  let started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const changes = Array.from({ length: perWriter }, (_, i) => visit(`${tenant}-w${w}`, i));
      for (let i = 0, n = 0; i < changes.length; i += BATCH, n++) {
        const server = servers[(w + n) % servers.length] as ServerProcess;
        const response = await post<PushResponse>(
          `${server.url}/api/sync`,
          token(`writer-${w}`, w),
          {
            deviceId: `${tenant}-writer-${w}`,
            changes: changes.slice(i, i + BATCH),
          },
        );
        if (response.results.some((r) => r.status !== 'APPLIED'))
          throw new Error('push not applied');
      }
    }),
  );
  const pushSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const pulled = await Promise.all(
    Array.from({ length: READERS }, async (_, r) => {
      let syncToken: string | undefined;
      let seen = 0;
      for (let n = 0; ; n++) {
        const server = servers[(r + n) % servers.length] as ServerProcess;
        const page: DeltaResponse = await post(
          `${server.url}/api/sync/delta`,
          token(`reader-${r}`, r % WRITERS),
          {
            deviceId: `${tenant}-reader-${r}`,
            pageSize: PAGE,
            ...(syncToken ? { syncToken } : {}),
          },
        );
        seen += page.changes.length;
        syncToken = page.syncToken;
        if (!page.hasMore) return seen;
      }
    }),
  );
  const pullSeconds = (performance.now() - started) / 1000;
  const total = perWriter * WRITERS;
  if (pulled.some((n) => n !== perWriter)) {
    throw new Error(`readers pulled ${pulled.join(',')} of ${perWriter} each`);
  }
  return {
    instances: servers.length,
    pushPerSecond: Math.round(total / pushSeconds),
    pullPerSecond: Math.round((perWriter * READERS) / pullSeconds),
  };
}

async function pokeDelays(servers: ServerProcess[], secret: string, tenant: string) {
  const now = Math.floor(Date.now() / 1000);
  const token = (sub: string) =>
    mintHs256(secret, { sub, tenant, role: 'user', iat: now, exp: now + 3600 });
  const devices: Array<{
    stream: StreamClient;
    token: string;
    deviceId: string;
    syncToken?: string;
  }> = [];
  for (let d = 0; d < DEVICES; d++) {
    const deviceId = `${tenant}-device-${d}`;
    const bearer = token(`field-${d}`);
    const server = servers[d % servers.length] as ServerProcess;
    const stream = await openSse(server.url, { deviceId, token: bearer });
    const first = await stream.next();
    devices.push({
      stream,
      token: bearer,
      deviceId,
      ...(first.syncToken ? { syncToken: first.syncToken } : {}),
    });
  }
  const pokeMs: number[] = [];
  const pullMs: number[] = [];
  const writer = token('dispatcher');
  for (let round = 0; round < ROUNDS; round++) {
    const marks = devices.map((d) => d.stream.messages.length);
    const entityId = `${tenant}-round-${round}`;
    const via = servers[round % servers.length] as ServerProcess;
    const sent = performance.now();
    await post<PushResponse>(`${via.url}/api/sync`, writer, {
      deviceId: `${tenant}-dispatcher`,
      changes: [{ ...visit(tenant, round), entityId, mutationId: entityId }],
    });
    const acked = performance.now();
    void sent;
    await Promise.all(
      devices.map(async (device, d) => {
        const poke = await device.stream.next((m) => m.type === 'poke', 30_000, marks[d]);
        pokeMs.push(performance.now() - acked);
        const server = servers[d % servers.length] as ServerProcess;
        for (;;) {
          const page: DeltaResponse = await post(`${server.url}/api/sync/delta`, device.token, {
            deviceId: device.deviceId,
            ...(device.syncToken ? { syncToken: device.syncToken } : {}),
          });
          device.syncToken = page.syncToken;
          if (page.changes.some((c) => c.entityId === entityId)) break;
          if (!page.hasMore)
            throw new Error(`poke ${poke.syncToken} but the pull lacks ${entityId}`);
        }
        pullMs.push(performance.now() - acked);
      }),
    );
  }
  for (const device of devices) device.stream.close();
  pokeMs.sort((x, y) => x - y);
  pullMs.sort((x, y) => x - y);
  const ms = (value: number) => Math.round(value * 10) / 10;
  return {
    devices: DEVICES,
    rounds: ROUNDS,
    pokeMedianMs: ms(percentile(pokeMs, 50)),
    pokeP99Ms: ms(percentile(pokeMs, 99)),
    pullMedianMs: ms(percentile(pullMs, 50)),
    pullP99Ms: ms(percentile(pullMs, 99)),
  };
}

export async function benchScale(pgUrl: string, redisUrl: string): Promise<ScaleFigures> {
  const runId = randomBytes(4).toString('hex');
  const schema = `syncline_bench_scale_${runId}`;
  const url = new URL(pgUrl);
  url.searchParams.set('schema', schema);
  const secret = randomBytes(32).toString('hex');
  const migrated = await openStore({ url: url.toString(), dataDir: '.' });
  await migrated.close();
  const env = {
    SYNCLINE_DB_URL: url.toString(),
    SYNCLINE_REDIS_URL: redisUrl,
    SYNCLINE_REDIS_PREFIX: `syncline-bench-${runId}:`,
    SYNCLINE_JWT_SECRET: secret,
    SYNCLINE_PUSH_LIMIT: '1000000/1m',
    SYNCLINE_PULL_LIMIT: '1000000/1m',
    SYNCLINE_ADMIN_LIMIT: '1000000/1m',
  };
  const servers: ServerProcess[] = [];
  try {
    servers.push(...(await Promise.all([startServer({ env }), startServer({ env })])));
    const [first] = servers as [ServerProcess, ServerProcess];
    process.stderr.write('  scale: one instance …\n');
    const one = await throughput([first], secret, `scale-${runId}-one`);
    process.stderr.write('  scale: two instances …\n');
    const two = await throughput(servers, secret, `scale-${runId}-two`);
    process.stderr.write(`  scale: ${DEVICES} streaming devices, ${ROUNDS} pushes …\n`);
    const pokes = await pokeDelays(servers, secret, `scale-${runId}-pokes`);
    return {
      changes: Math.ceil(CHANGES / WRITERS) * WRITERS,
      batchSize: BATCH,
      writers: WRITERS,
      readers: READERS,
      throughput: [one, two],
      pokes,
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await dropPostgresSchema(pgUrl, schema);
  }
}

export function printScale(figures: ScaleFigures): void {
  console.log();
  console.log(
    `Scale-out on PostgreSQL + Redis: ${figures.changes.toLocaleString('en-US')} changes, ` +
      `${figures.writers} writers (a tenant each) in batches of ${figures.batchSize}, ${figures.readers} readers in pages of ${PAGE}`,
  );
  console.log('instances  push changes/s  pull changes/s');
  for (const row of figures.throughput) {
    console.log(
      `${String(row.instances).padEnd(9)}  ${row.pushPerSecond.toLocaleString('en-US').padStart(14)}  ${row.pullPerSecond.toLocaleString('en-US').padStart(14)}`,
    );
  }
  const p = figures.pokes;
  console.log(
    `${p.devices} streaming devices over 2 instances, ${p.rounds} pushes: push → poke median ${p.pokeMedianMs} ms, p99 ${p.pokeP99Ms} ms; ` +
      `push → pulled median ${p.pullMedianMs} ms, p99 ${p.pullP99Ms} ms`,
  );
}
