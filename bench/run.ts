// `npm run bench`: everything in one run. Side by side, Syncline over HTTP (a `syncline serve`
// process), its store alone and a minimal reference server push 10,000 attendance changes in
// batches of 100 and of 1,000 and pull them back (medians of interleaved rounds, ratios to the
// reference), then 50 devices push 10 changes at once (p50/p99); the server's memory after 100,000
// changes; the same rates in a tenant of 1,000,000 entities; the fleet back online (load.ts);
// fairness, body parsing, scale-out, first sync, the field day and local queries. Each figure with
// a target is printed beside it (targets.ts); all of them go to bench/results/latest.json. SQLite
// always; PostgreSQL too when SYNCLINE_BENCH_PG_URL is set. Long sections are sized by env.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dropPostgresSchema } from '../packages/server/src/store/index.js';
import { benchLoad, type LoadFigures } from './load.js';
import { progress } from './progress.js';
import { benchRetryFairness, printFairness, type FairnessFigures } from './retry-fairness.js';
import { benchBodyParsing, printBodyParsing } from './body-parsing.js';
import { benchScale, printScale, type ScaleFigures } from './scale.js';
import { benchFirstSync, printFirstSync } from './first-sync.js';
import { benchFieldDay, printFieldDay, type FieldDayFigures } from './field-day.js';
import { benchQueries, printQueries } from './queries.js';
import { benchSideBySide } from './side-by-side.js';
import { BATCH_SIZES, printThroughput } from './throughput.js';
import { printConcurrentPush } from './concurrent-push.js';
import { benchServerMemory, printServerMemory } from './server-memory.js';
import { benchBigTenant, printBigTenant } from './big-tenant.js';
import { judge, verdictText } from './targets.js';
import { PAGE_SIZE } from './contenders.js';

const size = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const TOTAL = size('SYNCLINE_BENCH_CHANGES', 10_000);
const ROUNDS = size('SYNCLINE_BENCH_ROUNDS', 3);
const CONCURRENT_DEVICES = size('SYNCLINE_BENCH_CONCURRENT_DEVICES', 50);
const CONCURRENT_PUSHES = size('SYNCLINE_BENCH_CONCURRENT_PUSHES', 2_000);
const RSS_CHANGES = size('SYNCLINE_BENCH_RSS_CHANGES', 100_000);
const BIG_TENANT = size('SYNCLINE_BENCH_BIG_TENANT', 1_000_000);
const runId = randomBytes(4).toString('hex');

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** The fleet's two targets, printed under load.ts's own report. */
function fleetVerdicts(figures: readonly LoadFigures[]) {
  return figures.map((f) => {
    const changes = judge('fleet:changes', f.changesPerSecond);
    const firstAnswer = judge('fleet:first-answer-p99', f.latencyMs.firstAnswer.p99);
    console.log(
      `  ${f.backend} fleet targets: ${f.changesPerSecond.toLocaleString('en-US')} changes/s (${verdictText(changes)}), ` +
        `new connection's first answer p99 ${f.latencyMs.firstAnswer.p99} ms (${verdictText(firstAnswer)})`,
    );
    return { backend: f.backend, changes, firstAnswer };
  });
}

async function main() {
  const started = performance.now();
  const pgUrl = process.env.SYNCLINE_BENCH_PG_URL;
  const sideBySide = await benchSideBySide({
    changes: TOTAL,
    rounds: ROUNDS,
    concurrentDevices: CONCURRENT_DEVICES,
    concurrentPushes: CONCURRENT_PUSHES,
    runId,
    pgUrl,
  });
  printThroughput(sideBySide.throughput, ROUNDS);
  printConcurrentPush(sideBySide.concurrentPush);
  const serverMemory = await benchServerMemory(RSS_CHANGES, runId);
  printServerMemory(serverMemory);
  const bigTenant = await benchBigTenant(BIG_TENANT, TOTAL, BATCH_SIZES, runId);
  printBigTenant(bigTenant);
  const load = await benchLoad();
  const fleetTargets = fleetVerdicts(load);

  const fairness: FairnessFigures[] = [];
  progress.start('sqlite: delta pulls while another tenant hammers queue/retry', 1);
  fairness.push(await benchRetryFairness('sqlite'));
  progress.tick(1);
  if (pgUrl) {
    const schema = `syncline_bench_${randomBytes(6).toString('hex')}`;
    const url = new URL(pgUrl);
    url.searchParams.set('schema', schema);
    progress.start('postgres: delta pulls while another tenant hammers queue/retry', 1);
    try {
      fairness.push(await benchRetryFairness('postgres', { SYNCLINE_DB_URL: url.toString() }));
    } finally {
      await dropPostgresSchema(pgUrl, schema);
    }
    progress.tick(1);
  }
  printFairness(fairness);
  const bodyParsing = benchBodyParsing();
  printBodyParsing(bodyParsing);
  // Scale-out (two server processes, PostgreSQL + Redis) when both services are named.
  const scaleRedisUrl = process.env.SYNCLINE_BENCH_REDIS_URL;
  let scale: ScaleFigures | undefined;
  if (pgUrl && scaleRedisUrl) {
    scale = await benchScale(pgUrl, scaleRedisUrl);
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
  const cpuList = cpus();
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    cpu: cpuList[0]?.model ?? null,
    changes: TOTAL,
    rounds: ROUNDS,
    pageSize: PAGE_SIZE,
    durationSeconds: round((performance.now() - started) / 1000, 1),
    throughput: sideBySide.throughput,
    concurrentPush: sideBySide.concurrentPush,
    serverMemory,
    bigTenant,
    load,
    fleetTargets,
    fairness,
    bodyParsing,
    firstSync,
    fieldDay,
    queries,
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

/** `npm run bench -- server-rss`: the server's memory after a bulk sync alone (bench/server-memory.ts). */
async function mainServerRss() {
  const figures = await benchServerMemory(RSS_CHANGES, runId);
  printServerMemory(figures);
  await writeLatest('server-rss', figures);
}

/** `npm run bench -- side-by-side`: the push/pull rates and the 50-device pushes alone. */
async function mainSideBySide() {
  const figures = await benchSideBySide({
    changes: TOTAL,
    rounds: ROUNDS,
    concurrentDevices: CONCURRENT_DEVICES,
    concurrentPushes: CONCURRENT_PUSHES,
    runId,
    pgUrl: process.env.SYNCLINE_BENCH_PG_URL,
  });
  printThroughput(figures.throughput, ROUNDS);
  printConcurrentPush(figures.concurrentPush);
  await writeLatest('side-by-side', figures);
}

const commands: Record<string, () => Promise<void>> = {
  'side-by-side': mainSideBySide,
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
