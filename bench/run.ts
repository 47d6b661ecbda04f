// `npm run bench`: push 10,000 attendance changes over HTTP (batches of 100, then of 1,000) and pull
// them back through the delta feed, beside a baseline that writes and reads the same rows straight
// through the store. SQLite always; PostgreSQL too when SYNCLINE_BENCH_PG_URL is set. Then what
// the body checks cost on 10 MiB bodies (body-parsing.ts).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  canonicalJson,
  type Change,
  type DeltaResponse,
  type PushResponse,
} from '@syncline/protocol';
import type { SyncStore } from '../packages/server/src/engine/ports.js';
import { composeServices } from '../packages/server/src/app/compose.js';
import { mintToken } from '../packages/server/src/http/auth.js';
import { buildServer } from '../packages/server/src/http/build-server.js';
import {
  createPostgresSyncStore,
  dropPostgresSchema,
  openStore,
  type KyselySyncStore,
} from '../packages/server/src/store/index.js';
import { benchLoad } from './load.js';
import { progress } from './progress.js';
import { benchRetryFairness, printFairness, type FairnessFigures } from './retry-fairness.js';
import { benchBodyParsing, printBodyParsing } from './body-parsing.js';
import { benchScale, printScale, type ScaleFigures } from './scale.js';
import { benchFirstSync, printFirstSync } from './first-sync.js';
import { benchFieldDay, printFieldDay, type FieldDayFigures } from './field-day.js';
import { benchQueries, printQueries } from './queries.js';
import { benchServerRss, printServerRss } from './server-rss.js';
import { postJson as post } from '../test/support/http.js';

const TOTAL = Number(process.env.SYNCLINE_BENCH_CHANGES ?? 10_000);
const BATCH_SIZES = [100, 1000] as const;
const PAGE_SIZE = 1000;
const runId = randomBytes(4).toString('hex');
const secret = randomBytes(32).toString('hex');

type Backend = 'sqlite' | 'postgres';

interface Figure {
  backend: Backend;
  operation: 'push' | 'pull';
  /** The push batch size (for a pull: of the rows being pulled). */
  batchSize: number;
  /** For a pull: changes per page. */
  pageSize?: number;
  changes: number;
  httpSeconds: number;
  httpPerSecond: number;
  baselineSeconds: number;
  baselinePerSecond: number;
  /** HTTP throughput as a share of the baseline's (1 = as fast as the bare store). */
  ratio: number;
}

// ---------------------------------------------------------------------------------------------
// The workload: attendance clock-ins as seed 000's app records them, at 25 facilities that the
// clerk's token lists (the attendance preset checks the `facilities` claim), all in the past.

const FACILITIES = Array.from({ length: 25 }, (_, i) => `facility-${i}`);

function attendance(i: number, deviceId: string): Change {
  const clockIn = new Date(Date.now() - 24 * 3_600_000 - i * 1000);
  const clockOut = new Date(clockIn.getTime() + 8 * 3_600_000 - 60_000);
  const clientTimestamp = new Date(Date.now() - 1000).toISOString();
  return {
    mutationId: `${deviceId}-${i}`,
    entityType: 'attendance',
    entityId: `att-${runId}-${i}`,
    operation: 'CREATE',
    clientVersion: 1,
    timestamp: clientTimestamp,
    payload: {
      facilityId: FACILITIES[i % FACILITIES.length] as string,
      clockIn: clockIn.toISOString(),
      clockOut: clockOut.toISOString(),
      clockInLatitude: -1.2921 + (i % 100) / 10_000,
      clockInLongitude: 36.8219 + (i % 100) / 10_000,
      deviceId,
      clientTimestamp,
    },
  };
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTTP: the real server, in process, on an ephemeral port.

async function httpPush(
  baseUrl: string,
  token: string,
  deviceId: string,
  all: Change[],
  size: number,
) {
  const start = performance.now();
  for (const batch of batches(all, size)) {
    const response = await post<PushResponse>(`${baseUrl}/api/sync`, token, {
      deviceId,
      changes: batch,
    });
    const refused = response.results.filter((r) => r.status !== 'APPLIED');
    if (refused.length > 0) throw new Error(`push not applied: ${JSON.stringify(refused[0])}`);
    progress.tick(batch.length);
  }
  return (performance.now() - start) / 1000;
}

async function httpPull(baseUrl: string, token: string, deviceId: string, expected: number) {
  const start = performance.now();
  let syncToken: string | undefined;
  let seen = 0;
  for (;;) {
    const page = await post<DeltaResponse>(`${baseUrl}/api/sync/delta`, token, {
      deviceId,
      pageSize: PAGE_SIZE,
      ...(syncToken ? { syncToken } : {}),
    });
    seen += page.changes.length;
    progress.tick(page.changes.length);
    syncToken = page.syncToken;
    if (!page.hasMore) break;
  }
  if (seen !== expected) throw new Error(`pulled ${seen} changes, expected ${expected}`);
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Baseline: the same rows through the store port, one transaction per batch, no HTTP, no engine.

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function storeWrite(
  store: SyncStore,
  tenant: string,
  userId: string,
  all: Change[],
  size: number,
) {
  const tenantStore = store.forTenant(tenant);
  const start = performance.now();
  for (const batch of batches(all, size)) {
    await tenantStore.transact(async (tx) => {
      const now = new Date().toISOString();
      for (const change of batch) {
        const payload = change.payload ?? null;
        const record = {
          entityType: change.entityType,
          entityId: change.entityId,
          version: 1,
          payload,
          checksum: sha256(canonicalJson(payload)),
          createdBy: userId,
          updatedBy: userId,
          deviceId: 'baseline',
          updatedAt: change.timestamp,
          deletedAt: null,
        };
        const seq = await tx.appendHistory({
          ...record,
          operation: 'CREATE',
          mutationId: change.mutationId ?? null,
          committedAt: now,
        });
        await tx.putEntity({ ...record, seq });
      }
    });
    progress.tick(batch.length);
  }
  return (performance.now() - start) / 1000;
}

async function storeRead(store: SyncStore, tenant: string, expected: number) {
  const tenantStore = store.forTenant(tenant);
  const start = performance.now();
  let afterSeq = 0;
  let seen = 0;
  for (;;) {
    const rows = await tenantStore.readFeed({ afterSeq, limit: PAGE_SIZE });
    if (rows.length === 0) break;
    seen += rows.length;
    progress.tick(rows.length);
    afterSeq = (rows.at(-1) as { seq: number }).seq;
    if (rows.length < PAGE_SIZE) break;
  }
  if (seen !== expected) throw new Error(`read ${seen} rows, expected ${expected}`);
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------------------------------------

async function benchBackend(backend: Backend, store: KyselySyncStore): Promise<Figure[]> {
  const services = composeServices({ store });
  const app = await buildServer({
    services,
    auth: { secret },
    limits: { pushLimit: '100000/1m', pullLimit: '100000/1m' },
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the server has no TCP address');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const figures: Figure[] = [];
  try {
    for (const size of BATCH_SIZES) {
      // Fresh tenants per run and per batch size: each measurement starts from an empty feed.
      const httpTenant = `bench-${runId}-http-${size}`;
      const baseTenant = `bench-${runId}-base-${size}`;
      const userId = `clerk-${size}`;
      const token = await mintToken({
        secret,
        sub: userId,
        tenant: httpTenant,
        extra: { facilities: FACILITIES },
      });
      const deviceId = `bench-${runId}-${backend}-${size}`;
      const changes = Array.from({ length: TOTAL }, (_, i) => attendance(i, deviceId));

      progress.start(`${backend}: HTTP push, batches of ${size}`, TOTAL);
      const httpPushS = await httpPush(baseUrl, token, deviceId, changes, size);
      progress.start(`${backend}: store write, batches of ${size}`, TOTAL);
      const storeWriteS = await storeWrite(store, baseTenant, userId, changes, size);
      progress.start(`${backend}: HTTP pull, pages of ${PAGE_SIZE}`, TOTAL);
      const httpPullS = await httpPull(baseUrl, token, `${deviceId}-reader`, TOTAL);
      progress.start(`${backend}: store read, pages of ${PAGE_SIZE}`, TOTAL);
      const storeReadS = await storeRead(store, baseTenant, TOTAL);

      figures.push(figure(backend, 'push', size, httpPushS, storeWriteS));
      figures.push(figure(backend, 'pull', size, httpPullS, storeReadS));
    }
  } finally {
    await app.close();
    await services.close();
  }
  return figures;
}

function figure(
  backend: Backend,
  operation: 'push' | 'pull',
  batchSize: number,
  httpSeconds: number,
  baselineSeconds: number,
): Figure {
  const httpPerSecond = TOTAL / httpSeconds;
  const baselinePerSecond = TOTAL / baselineSeconds;
  return {
    backend,
    operation,
    batchSize,
    ...(operation === 'pull' ? { pageSize: PAGE_SIZE } : {}),
    changes: TOTAL,
    httpSeconds: round(httpSeconds, 3),
    httpPerSecond: Math.round(httpPerSecond),
    baselineSeconds: round(baselineSeconds, 3),
    baselinePerSecond: Math.round(baselinePerSecond),
    ratio: round(httpPerSecond / baselinePerSecond, 3),
  };
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

function printTable(figures: Figure[]) {
  const header = ['backend', 'operation', 'HTTP changes/s', 'store changes/s', 'HTTP / store'];
  const rows = figures.map((f) => [
    f.backend,
    f.operation === 'push'
      ? `push, batches of ${f.batchSize}`
      : `pull, pages of ${f.pageSize} (pushed in ${f.batchSize}s)`,
    f.httpPerSecond.toLocaleString('en-US'),
    f.baselinePerSecond.toLocaleString('en-US'),
    `${(f.ratio * 100).toFixed(1)}%`,
  ]);
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((r) => (r[c] as string).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, c) =>
        c >= 2 ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number),
      )
      .join('  ');
  console.log();
  console.log(
    `${TOTAL.toLocaleString('en-US')} attendance changes per row; store = the same rows through SyncStore, no HTTP, no engine`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

async function main() {
  const started = performance.now();
  const figures: Figure[] = [];
  const fairness: FairnessFigures[] = [];
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-bench-'));
  try {
    const sqlite = await openStore({ dataDir });
    try {
      figures.push(...(await benchBackend('sqlite', sqlite)));
    } finally {
      await sqlite.close();
    }
    const pgUrl = process.env.SYNCLINE_BENCH_PG_URL;
    if (pgUrl) {
      // A schema of its own, dropped afterwards: the bench leaves nothing in the database.
      const schema = `syncline_bench_${randomBytes(6).toString('hex')}`;
      const postgres = await createPostgresSyncStore({ url: pgUrl, schema });
      try {
        figures.push(...(await benchBackend('postgres', postgres)));
      } finally {
        await postgres.close();
        await dropPostgresSchema(pgUrl, schema);
      }
    } else {
      console.error('  (PostgreSQL skipped: set SYNCLINE_BENCH_PG_URL to include it)');
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }

  printTable(figures);
  progress.start('sqlite: delta pulls while another tenant hammers queue/retry', 1);
  fairness.push(await benchRetryFairness('sqlite'));
  progress.tick(1);
  const fairPgUrl = process.env.SYNCLINE_BENCH_PG_URL;
  if (fairPgUrl) {
    const schema = `syncline_bench_${randomBytes(6).toString('hex')}`;
    const url = new URL(fairPgUrl);
    url.searchParams.set('schema', schema);
    progress.start('postgres: delta pulls while another tenant hammers queue/retry', 1);
    try {
      fairness.push(await benchRetryFairness('postgres', { SYNCLINE_DB_URL: url.toString() }));
    } finally {
      await dropPostgresSchema(fairPgUrl, schema);
    }
    progress.tick(1);
  }
  printFairness(fairness);
  const bodyParsing = benchBodyParsing();
  printBodyParsing(bodyParsing);
  // Scale-out (two server processes, PostgreSQL + Redis) when both services are named.
  const scalePgUrl = process.env.SYNCLINE_BENCH_PG_URL;
  const scaleRedisUrl = process.env.SYNCLINE_BENCH_REDIS_URL;
  let scale: ScaleFigures | undefined;
  if (scalePgUrl && scaleRedisUrl) {
    scale = await benchScale(scalePgUrl, scaleRedisUrl);
    printScale(scale);
  } else {
    console.error('  (scale-out skipped: set SYNCLINE_BENCH_PG_URL and SYNCLINE_BENCH_REDIS_URL)');
  }
  const firstSync = await benchFirstSync(FIRST_SYNC_ENTITIES);
  printFirstSync(firstSync);
  const fieldDay = await benchFieldDay(fieldDaySize());
  printFieldDay(fieldDay);
  const queries = await benchQueries(QUERY_ROWS);
  printQueries(queries);
  const serverRss = await benchServerRss(RSS_CHANGES);
  printServerRss(serverRss);
  const cpuList = cpus();
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    cpu: cpuList[0]?.model ?? null,
    changes: TOTAL,
    pageSize: PAGE_SIZE,
    durationSeconds: round((performance.now() - started) / 1000, 1),
    figures,
    fairness,
    bodyParsing,
    firstSync,
    fieldDay,
    queries,
    serverRss,
    ...(scale ? { scale } : {}),
  };
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to bench/results/latest.json (${results.durationSeconds} s)`);
}

/** `npm run bench -- load`: the fleet load run alone (bench/load.ts). */
async function mainLoad() {
  const figures = await benchLoad();
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(resultsDir, { recursive: true });
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    figures,
  };
  await writeFile(join(resultsDir, 'load-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log('\nwritten to bench/results/load-latest.json');
}

/** The first-sync size: 1,000,000 entities unless SYNCLINE_BENCH_FIRST_SYNC names fewer. */
const FIRST_SYNC_ENTITIES = Number(process.env.SYNCLINE_BENCH_FIRST_SYNC ?? 1_000_000);

/** `npm run bench -- first-sync`: the first sync of a large tenant alone (bench/first-sync.ts). */
async function mainFirstSync() {
  const figures = await benchFirstSync(FIRST_SYNC_ENTITIES);
  printFirstSync(figures);
  await writeLatest('first-sync', figures);
}

/** The field day's size: 500 attendance records (and 200 asset edits) unless SYNCLINE_BENCH_FIELD_DAY names fewer. */
function fieldDaySize() {
  const attendance = Number(process.env.SYNCLINE_BENCH_FIELD_DAY ?? 500);
  return { attendance, assetEdits: Math.round(attendance * 0.4) };
}

/** `npm run bench -- field-day`: the throttled field day alone (bench/field-day.ts). */
async function mainFieldDay() {
  const figures: FieldDayFigures[] = await benchFieldDay(fieldDaySize());
  printFieldDay(figures);
  await writeLatest('field-day', figures);
}

/** Writes one subcommand's figures to bench/results/<name>-latest.json. */
async function writeLatest(name: string, figures: unknown) {
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(resultsDir, { recursive: true });
  const results = { date: new Date().toISOString(), node: process.version, figures };
  await writeFile(join(resultsDir, `${name}-latest.json`), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to bench/results/${name}-latest.json`);
}

/** The query bench's size: 50,000 visits unless SYNCLINE_BENCH_QUERY_ROWS names fewer. */
const QUERY_ROWS = Number(process.env.SYNCLINE_BENCH_QUERY_ROWS ?? 50_000);

/** `npm run bench -- queries`: indexed find() on every local storage alone (bench/queries.ts). */
async function mainQueries() {
  const figures = await benchQueries(QUERY_ROWS);
  printQueries(figures);
  await writeLatest('queries', figures);
}

/** The server RSS run's size: 100,000 changes unless SYNCLINE_BENCH_RSS_CHANGES names fewer. */
const RSS_CHANGES = Number(process.env.SYNCLINE_BENCH_RSS_CHANGES ?? 100_000);

/** `npm run bench -- server-rss`: the server's memory after a bulk sync alone (bench/server-rss.ts). */
async function mainServerRss() {
  const figures = await benchServerRss(RSS_CHANGES);
  printServerRss(figures);
  await writeLatest('server-rss', figures);
}

const commands: Record<string, () => Promise<void>> = {
  load: mainLoad,
  'first-sync': mainFirstSync,
  'field-day': mainFieldDay,
  queries: mainQueries,
  'server-rss': mainServerRss,
};
(commands[process.argv[2] ?? ''] ?? main)().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
