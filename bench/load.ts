// `npm run bench -- load`: a fleet comes back online. Devices push and pull against the real server
// process as fast as it answers, for a fixed time, while a probe (on a worker thread of its own) opens a fresh connection every
// quarter second; prints throughput, latency percentiles, errors by status and the server's RSS.
// SYNCLINE_LOAD_DEVICES (200), SYNCLINE_LOAD_SECONDS (60); PostgreSQL too with SYNCLINE_BENCH_PG_URL.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Change, PushResponse, DeltaResponse } from '@syncline/protocol';
import { dropPostgresSchema } from '../packages/server/src/store/index.js';
import { startServer, type ServerProcess } from '../test/support/server-process.js';
import { progress } from './progress.js';

const DEVICES = Number(process.env.SYNCLINE_LOAD_DEVICES ?? 200);
const SECONDS = Number(process.env.SYNCLINE_LOAD_SECONDS ?? 60);
const TENANTS = 4;
const CHANGES_PER_PUSH = 10;
const PROBE_EVERY_MS = 250;
const PROBE_TIMEOUT_MS = 30_000;

export interface LoadFigures {
  backend: 'sqlite' | 'postgres';
  devices: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  changesApplied: number;
  changesPerSecond: number;
  latencyMs: Record<
    'push' | 'pull' | 'firstAnswer',
    { count: number; p50: number; p99: number; max: number }
  >;
  /** Probes that got no answer within 30 s. */
  unansweredProbes: number;
  errorsByStatus: Record<string, number>;
  rssMb: { start: number; peak: number; end: number };
  /** The server's own event-loop delay over the run (prom-client's monitor, from /metrics). */
  eventLoopDelayMs: { p99: number; max: number } | undefined;
  /** SQLite: COMMITs over the run and the writes they made durable (group commit shares them). */
  sqliteCommits?: { commits: number; writes: number };
}

class Latencies {
  private values: number[] = [];
  add(ms: number) {
    this.values.push(ms);
  }
  summary() {
    const sorted = [...this.values].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      count: sorted.length,
      p50: round(at(0.5)),
      p99: round(at(0.99)),
      max: round(sorted.at(-1) ?? 0),
    };
  }
}

/** The server's /metrics text (loopback needs no token), or undefined when it does not answer. */
async function scrapeMetrics(url: string): Promise<string | undefined> {
  const res = await fetch(`${url}/metrics`).catch(() => undefined);
  return res?.ok ? res.text() : undefined;
}

const metricValue = (text: string, name: string) =>
  Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN);

/**
 * The server's event-loop delay since the previous scrape: prom-client's monitor starts at the
 * first scrape and resets at each, so one scrape before the run and one after give the run's p99
 * and max.
 */
function eventLoopDelayMs(text: string | undefined): { p99: number; max: number } | undefined {
  if (text === undefined) return undefined;
  const p99 = metricValue(text, 'nodejs_eventloop_lag_p99_seconds');
  const max = metricValue(text, 'nodejs_eventloop_lag_max_seconds');
  if (Number.isNaN(p99) || Number.isNaN(max)) return undefined;
  return { p99: Math.round(p99 * 10_000) / 10, max: Math.round(max * 10_000) / 10 };
}

/** SQLite's COMMITs and the writes they made durable so far (none on PostgreSQL). */
function sqliteCommits(text: string | undefined): { commits: number; writes: number } | undefined {
  if (text === undefined) return undefined;
  const commits = metricValue(text, 'syncline_sqlite_commits_total');
  const writes = metricValue(text, 'syncline_sqlite_commit_writes_total');
  return Number.isNaN(commits) || Number.isNaN(writes) ? undefined : { commits, writes };
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/**
 * A new device's first answers: every PROBE_EVERY_MS a fresh connection (no keep-alive pool to hide
 * a busy server) asks /healthz and times the answer. It runs on a worker thread of its own, so the
 * time is the server's, not this process's own event loop busy with 200 devices' answers.
 */
const proberSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { request } = require('node:http');
const { everyMs, timeoutMs, url } = workerData;
const pending = new Set();
const probe = () => {
  const start = performance.now();
  const done = new Promise((resolve) => {
    const req = request(url + '/healthz', { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(performance.now() - start);
    });
    req.on('timeout', () => { req.destroy(); resolve(null); });
    req.on('error', () => resolve(null));
    req.end();
  }).then((ms) => { pending.delete(done); parentPort.postMessage(ms); });
  pending.add(done);
};
const timer = setInterval(probe, everyMs);
parentPort.on('message', async () => {
  clearInterval(timer);
  await Promise.all([...pending]);
  parentPort.postMessage('done');
});
`;

function startProber(url: string) {
  const answered: number[] = [];
  let unanswered = 0;
  const worker = new Worker(proberSource, {
    eval: true,
    workerData: { url, everyMs: PROBE_EVERY_MS, timeoutMs: PROBE_TIMEOUT_MS },
  });
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: number | null | 'done') => {
      if (message === 'done') resolve();
      else if (message === null) unanswered++;
      else answered.push(message);
    });
  });
  return {
    /** Stops probing, waits for the probes in flight, and answers what they saw. */
    async stop() {
      worker.postMessage('stop');
      await finished;
      await worker.terminate();
      return { answered, unanswered };
    },
  };
}

function asset(deviceId: string, n: number, version: number): Change {
  return {
    mutationId: `${deviceId}-${n}-${version}`,
    entityType: 'asset',
    entityId: `${deviceId}-asset-${n}`,
    operation: version === 1 ? 'CREATE' : 'UPDATE',
    clientVersion: version === 1 ? 1 : version - 1,
    timestamp: new Date().toISOString(),
    payload: {
      name: `Water pump ${n}`,
      status: version % 3 === 0 ? 'needs repair' : 'ok',
      reading: Math.round(Math.random() * 10_000) / 10,
      location: { lat: -1.2921 + n / 10_000, lng: 36.8219 - n / 10_000 },
      inspectedBy: deviceId,
      notes: 'Checked the seals and the pressure valve; no leaks found at the inlet.',
    },
  };
}

interface Counters {
  push: Latencies;
  pull: Latencies;
  errors: Record<string, number>;
  requests: number;
  applied: number;
}

async function post<T>(
  url: string,
  token: string,
  body: unknown,
  counters: Counters,
  kind: 'push' | 'pull',
) {
  const start = performance.now();
  counters.requests++;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    counters[kind].add(performance.now() - start);
    if (!res.ok) {
      counters.errors[res.status] = (counters.errors[res.status] ?? 0) + 1;
      return undefined;
    }
    return JSON.parse(text) as T;
  } catch (error) {
    const name = (error as Error).name === 'TimeoutError' ? 'timeout' : 'network';
    counters.errors[name] = (counters.errors[name] ?? 0) + 1;
    return undefined;
  }
}

/** One device: push ten changes (new assets and edits of its own), then pull what it lacks. */
async function device(server: ServerProcess, index: number, deadline: number, counters: Counters) {
  const tenant = `load-${index % TENANTS}`;
  const deviceId = `load-device-${index}`;
  const token = server.token(`user-${Math.floor(index / 2)}`, tenant);
  const versions: number[] = [];
  let syncToken: string | undefined;
  while (performance.now() < deadline) {
    const changes: Change[] = [];
    for (let i = 0; i < CHANGES_PER_PUSH; i++) {
      const edit = versions.length > 0 && i % 3 === 0;
      const n = edit ? Math.floor(Math.random() * versions.length) : versions.length;
      if (!edit) versions.push(0);
      if (changes.some((c) => c.entityId === `${deviceId}-asset-${n}`)) continue;
      changes.push(asset(deviceId, n, (versions[n] ?? 0) + 1));
    }
    const pushed = await post<PushResponse>(
      `${server.url}/api/sync`,
      token,
      // As the SDK sends it: the answer leaves out the changes this push wrote.
      { deviceId, changes, omitOwnChanges: true, ...(syncToken ? { syncToken } : {}) },
      counters,
      'push',
    );
    if (pushed) {
      for (const result of pushed.results) {
        if (result.status !== 'APPLIED' && result.status !== 'DUPLICATE') continue;
        counters.applied += result.status === 'APPLIED' ? 1 : 0;
        const n = Number(result.entityId.slice(result.entityId.lastIndexOf('-') + 1));
        if (result.version !== undefined) versions[n] = result.version;
      }
      syncToken = pushed.syncToken;
    }
    for (let page = 0; page < 5 && performance.now() < deadline; page++) {
      const pulled = await post<DeltaResponse>(
        `${server.url}/api/sync/delta`,
        token,
        { deviceId, pageSize: 500, ...(syncToken ? { syncToken } : {}) },
        counters,
        'pull',
      );
      if (!pulled) break;
      syncToken = pulled.syncToken;
      if (!pulled.hasMore) break;
    }
  }
}

async function loadRun(backend: 'sqlite' | 'postgres', pgUrl?: string): Promise<LoadFigures> {
  const schema = `syncline_load_${randomBytes(5).toString('hex')}`;
  const server = await startServer({
    env: {
      SYNCLINE_JOBS: 'off',
      SYNCLINE_LOG_LEVEL: 'error',
      ...(backend === 'postgres' ? { SYNCLINE_DB_URL: `${pgUrl}?schema=${schema}` } : {}),
    },
  });
  try {
    const counters: Counters = {
      push: new Latencies(),
      pull: new Latencies(),
      errors: {},
      requests: 0,
      applied: 0,
    };
    const firstAnswer = new Latencies();
    const rss = { start: await rssMb(server.pid), peak: 0, end: 0 };
    const commitsBefore = sqliteCommits(await scrapeMetrics(server.url));
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    progress.start(`${backend}: ${DEVICES} devices for ${SECONDS} s`, SECONDS);
    let tick = 0;
    const sampler = setInterval(() => {
      void rssMb(server.pid).then((mb) => {
        rss.peak = Math.max(rss.peak, mb);
      });
      const elapsed = Math.min(SECONDS, Math.floor((performance.now() - started) / 1000));
      if (elapsed > tick) {
        progress.tick(elapsed - tick);
        tick = elapsed;
      }
    }, 1000);
    const prober = startProber(server.url);
    await Promise.all(
      Array.from({ length: DEVICES }, (_, i) => device(server, i, deadline, counters)),
    );
    clearInterval(sampler);
    const probes = await prober.stop();
    for (const ms of probes.answered) firstAnswer.add(ms);
    const unansweredProbes = probes.unanswered;
    const seconds = (performance.now() - started) / 1000;
    if (tick < SECONDS) progress.tick(SECONDS - tick);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    rss.end = await rssMb(server.pid);
    rss.peak = Math.max(rss.peak, rss.end);
    const metricsAfter = await scrapeMetrics(server.url);
    const commitsAfter = sqliteCommits(metricsAfter);
    return {
      backend,
      devices: DEVICES,
      seconds: Math.round(seconds * 10) / 10,
      requests: counters.requests,
      requestsPerSecond: Math.round(counters.requests / seconds),
      changesApplied: counters.applied,
      changesPerSecond: Math.round(counters.applied / seconds),
      latencyMs: {
        push: counters.push.summary(),
        pull: counters.pull.summary(),
        firstAnswer: firstAnswer.summary(),
      },
      unansweredProbes,
      errorsByStatus: counters.errors,
      rssMb: rss,
      eventLoopDelayMs: eventLoopDelayMs(metricsAfter),
      ...(commitsBefore && commitsAfter
        ? {
            sqliteCommits: {
              commits: commitsAfter.commits - commitsBefore.commits,
              writes: commitsAfter.writes - commitsBefore.writes,
            },
          }
        : {}),
    };
  } finally {
    await server.stop();
    if (backend === 'postgres' && pgUrl) await dropPostgresSchema(pgUrl, schema);
  }
}

export function printLoad(figures: LoadFigures): void {
  const { latencyMs: l } = figures;
  const row = (name: string, s: { count: number; p50: number; p99: number; max: number }) =>
    `  ${name.padEnd(28)} p50 ${String(s.p50).padStart(7)} ms   p99 ${String(s.p99).padStart(7)} ms   max ${String(s.max).padStart(7)} ms   (${s.count.toLocaleString('en-US')})`;
  console.log();
  console.log(
    `load on ${figures.backend}: ${figures.devices} devices for ${figures.seconds} s, ${CHANGES_PER_PUSH} changes a push, then pull`,
  );
  console.log(
    `  requests ${figures.requests.toLocaleString('en-US')} (${figures.requestsPerSecond}/s), changes applied ${figures.changesApplied.toLocaleString('en-US')} (${figures.changesPerSecond}/s)`,
  );
  console.log(row('push', l.push));
  console.log(row('pull', l.pull));
  console.log(row('first answer, new connection', l.firstAnswer));
  console.log(`  probes unanswered in ${PROBE_TIMEOUT_MS / 1000} s: ${figures.unansweredProbes}`);
  const errors = Object.entries(figures.errorsByStatus);
  console.log(
    `  errors by status: ${errors.length === 0 ? 'none' : errors.map(([s, n]) => `${s}: ${n}`).join(', ')}`,
  );
  console.log(
    `  server RSS: ${figures.rssMb.start} MB at start, ${figures.rssMb.peak} MB peak, ${figures.rssMb.end} MB at end`,
  );
  const delay = figures.eventLoopDelayMs;
  console.log(
    `  server event-loop delay: ${delay ? `p99 ${delay.p99} ms, max ${delay.max} ms` : 'not read (no /metrics)'}`,
  );
  const commits = figures.sqliteCommits;
  if (commits && commits.commits > 0) {
    console.log(
      `  SQLite: ${commits.writes.toLocaleString('en-US')} writes made durable by ${commits.commits.toLocaleString('en-US')} COMMITs (${(commits.writes / commits.commits).toFixed(1)} a COMMIT)`,
    );
  }
}

export async function benchLoad(): Promise<LoadFigures[]> {
  const figures = [await loadRun('sqlite')];
  printLoad(figures[0]!);
  const pgUrl = process.env.SYNCLINE_BENCH_PG_URL;
  if (pgUrl) {
    figures.push(await loadRun('postgres', pgUrl));
    printLoad(figures[1]!);
  } else {
    console.error('  (PostgreSQL load skipped: set SYNCLINE_BENCH_PG_URL to include it)');
  }
  return figures;
}
