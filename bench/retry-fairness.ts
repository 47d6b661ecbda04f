// Fairness figures for `npm run bench`: how long one tenant's delta pull takes while another
// tenant hammers POST /api/sync/queue/retry over 1,000 FAILED mutations, beside the same pulls on
// an idle server. The server is its own process (`syncline serve`), so the load generator does
// not share its event loop. The budgets are raised so that the hammer is never refused: what is
// measured is how the retry's work is bounded and shared, not the 429s a real budget answers.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Change, DeltaResponse } from '@syncline/protocol';
import { startServer } from '../test/support/server-process.js';
import { postJson as post } from '../test/support/http.js';

const FAILED = 1000;
const FEED = 200;
const PULLS = 200;
const HAMMERS = 4;

export interface PullLatency {
  medianMs: number;
  p99Ms: number;
}

export interface FairnessFigures {
  backend: string;
  failedMutations: number;
  hammers: number;
  pulls: number;
  pageSize: number;
  idle: PullLatency;
  underRetry: PullLatency & { retryCalls: number; mutationsRetried: number };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (ms: number) => Number(ms.toFixed(2));

function latency(samples: number[]): PullLatency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)) };
}

const change = (entityId: string, operation: 'CREATE' | 'UPDATE'): Change => ({
  mutationId: `${operation}-${entityId}`,
  entityType: 'asset',
  entityId,
  operation,
  payload: { name: entityId, status: 'ok' },
  clientVersion: 1,
  timestamp: new Date(Date.now() - 1000).toISOString(),
});

/** `env`: for PostgreSQL, SYNCLINE_DB_URL (a fresh schema); SQLite in a temporary directory else. */
export async function benchRetryFairness(
  backend: string,
  env: Record<string, string> = {},
): Promise<FairnessFigures> {
  const runId = randomBytes(4).toString('hex');
  // startServer raises every budget out of reach.
  const server = await startServer({ env });
  const { url } = server;
  try {
    const noisyAdmin = server.token('ops', `fair-${runId}-noisy`, 'admin');
    const reader = server.token('reader', `fair-${runId}-quiet`);

    // The noisy tenant: updates of assets that do not exist, each a FAILED mutation a retry
    // re-runs (and that fails again, so every retry has the whole backlog to work through).
    const missing = Array.from({ length: FAILED }, (_, i) => change(`missing-${i}`, 'UPDATE'));
    await post(`${url}/api/sync`, noisyAdmin, { deviceId: 'noisy-till', changes: missing });
    // The quiet tenant: a small feed its device pulls page by page.
    const assets = Array.from({ length: FEED }, (_, i) => change(`asset-${i}`, 'CREATE'));
    await post(`${url}/api/sync`, reader, { deviceId: 'quiet-tablet', changes: assets });

    const pullOnce = async () => {
      const started = performance.now();
      const page = await post<DeltaResponse>(`${url}/api/sync/delta`, reader, {
        deviceId: 'quiet-tablet',
        pageSize: 100,
      });
      if (page.changes.length !== 100) throw new Error('the quiet tenant pulled a short page');
      return performance.now() - started;
    };
    const measure = async () => {
      const samples: number[] = [];
      for (let i = 0; i < PULLS; i++) samples.push(await pullOnce());
      return samples;
    };

    for (let i = 0; i < 20; i++) await pullOnce(); // warm-up
    const idle = latency(await measure());

    let running = true;
    let retryCalls = 0;
    let mutationsRetried = 0;
    const hammer = async () => {
      while (running) {
        const answer = await post<{ retried: number }>(
          `${url}/api/sync/queue/retry`,
          noisyAdmin,
          {},
        );
        retryCalls++;
        mutationsRetried += answer.retried;
      }
    };
    const hammers = Array.from({ length: HAMMERS }, hammer);
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the hammer get going
    const busy = await measure();
    running = false;
    await Promise.all(hammers);

    return {
      backend,
      failedMutations: FAILED,
      hammers: HAMMERS,
      pulls: PULLS,
      pageSize: 100,
      idle,
      underRetry: { ...latency(busy), retryCalls, mutationsRetried },
    };
  } finally {
    await server.stop();
  }
}

export function printFairness(figures: FairnessFigures[]): void {
  console.log();
  console.log(
    `Another tenant's delta pull (pages of 100, ${PULLS} pulls) while one tenant's admin hammers ` +
      `queue/retry (${HAMMERS} callers, ${FAILED} FAILED mutations, budgets raised)`,
  );
  const header = ['backend', 'idle median', 'idle p99', 'under retry median', 'under retry p99'];
  const rows = figures.map((f) => [
    f.backend,
    `${f.idle.medianMs} ms`,
    `${f.idle.p99Ms} ms`,
    `${f.underRetry.medianMs} ms`,
    `${f.underRetry.p99Ms} ms`,
  ]);
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((r) => (r[c] as string).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, c) =>
        c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number),
      )
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  for (const f of figures) {
    console.log(
      `  ${f.backend}: ${f.underRetry.retryCalls} retry calls re-ran ${f.underRetry.mutationsRetried.toLocaleString('en-US')} mutations meanwhile`,
    );
  }
}
