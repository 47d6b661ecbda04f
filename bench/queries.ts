// Indexed queries over N confirmed visits (50,000 by default, SYNCLINE_BENCH_QUERY_ROWS for a
// quick run): find({ where, orderBy, limit }) through the SDK, median and p95 over many runs, on
// IndexedDB in Debian's Chromium (plain and encrypted at rest), on SQLite in Node and on the
// memory storage, beside a full scan for contrast, and the time the load took (the indexes' write
// cost). The goal: ≤ 5 ms per indexed query at 50,000.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createSyncClient, memoryStorage, type LocalStore } from '../packages/client/src/index.js';
import { sqliteStorage } from '../packages/client/src/sqlite.js';
import { bundlePage, hasChromium, launchChromium, pageHtml } from '../test/support/chromium.js';
import { startSyncProxy } from '../test/support/sync-proxy.js';
import { progress } from './progress.js';
import {
  collections,
  COMPOUNDS,
  INDEXES,
  loadVisits,
  timeQueries,
  type Timing,
} from './queries-workload.js';

export const QUERY_GOAL_MS = 5;

export interface QueryFigures {
  rows: number;
  runs: number;
  storages: Array<{ storage: string; loadSeconds: number; timings: Timing[] }>;
}

/** Runs per indexed query and per full scan: fewer for a quick run. */
const runsFor = (rows: number) => ({
  runs: rows >= 10_000 ? 200 : 50,
  scanRuns: rows >= 10_000 ? 10 : 5,
});

async function inNode(storage: LocalStore, rows: number) {
  const started = performance.now();
  await loadVisits(storage, rows);
  const loadSeconds = (performance.now() - started) / 1000;
  const client = createSyncClient({
    url: 'http://127.0.0.1:9',
    getToken: () => 'unused: the bench never syncs',
    storage,
    collections,
    realtime: false,
  });
  try {
    const timings = await timeQueries(client, rows, {
      ...runsFor(rows),
      now: () => performance.now(),
    });
    return { loadSeconds, timings };
  } finally {
    await client.close();
  }
}

interface PageResult {
  loadSeconds: number;
  timings: Timing[];
}

async function inChromium(rows: number): Promise<Array<PageResult & { encrypted: boolean }>> {
  const entry = fileURLToPath(new URL('./queries-page.ts', import.meta.url));
  // Serves the page only: nothing is forwarded, the bench never syncs.
  const server = await startSyncProxy('http://127.0.0.1:9', {
    files: {
      '/': { type: 'text/html', body: pageHtml('/bench.js') },
      '/bench.js': { type: 'text/javascript', body: await bundlePage(entry) },
    },
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => 'bench' in window);
    const results: Array<PageResult & { encrypted: boolean }> = [];
    for (const encrypted of [false, true]) {
      progress.start(`indexeddb${encrypted ? ' (encrypted)' : ''}: load and query`, 1);
      const { runs, scanRuns } = runsFor(rows);
      const result = await page.evaluate(
        ([n, e, r, s]) =>
          (
            window as unknown as {
              bench: { run(n: number, e: boolean, r: number, s: number): Promise<PageResult> };
            }
          ).bench.run(n, e, r, s),
        [rows, encrypted, runs, scanRuns] as const,
      );
      progress.tick(1);
      results.push({ ...result, encrypted });
    }
    return results;
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function benchQueries(rows: number): Promise<QueryFigures> {
  const storages: QueryFigures['storages'] = [];
  if (hasChromium) {
    for (const result of await inChromium(rows)) {
      storages.push({
        storage: result.encrypted ? 'IndexedDB, encrypted (Chromium)' : 'IndexedDB (Chromium)',
        loadSeconds: result.loadSeconds,
        timings: result.timings,
      });
    }
  } else {
    console.error('  (IndexedDB skipped: /usr/bin/chromium is missing)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'syncline-bench-queries-'));
  try {
    progress.start('sqlite: load and query', 1);
    storages.push({
      storage: 'SQLite (Node)',
      ...(await inNode(sqliteStorage(join(dir, 'device.db')), rows)),
    });
    progress.tick(1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  progress.start('memory: load and query', 1);
  storages.push({ storage: 'memory (Node)', ...(await inNode(memoryStorage(), rows)) });
  progress.tick(1);
  return { rows, runs: runsFor(rows).runs, storages };
}

export function printQueries(f: QueryFigures): void {
  console.log(
    `\nindexed find() over ${f.rows.toLocaleString('en-US')} visits, ${f.runs} runs each ` +
      `(goal ≤ ${QUERY_GOAL_MS} ms per indexed query at 50,000); median / p95 in ms`,
  );
  console.log(
    `  indexes: ${INDEXES.join(', ')}; compounds: ${COMPOUNDS.map((c) => `[${c.join(', ')}]`).join(', ')}`,
  );
  const names = f.storages[0]?.timings.map((t) => t.name) ?? [];
  const width = Math.max(...names.map((n) => n.length));
  const header = f.storages.map((s) => s.storage);
  const cell = (t: Timing | undefined) =>
    t ? `${t.medianMs.toFixed(2)} / ${t.p95Ms.toFixed(2)}` : '–';
  const widths = header.map((h) => Math.max(h.length, 15));
  console.log(`  ${''.padEnd(width)}  ${header.map((h, i) => h.padStart(widths[i]!)).join('  ')}`);
  for (const name of names) {
    const cells = f.storages.map((s, i) =>
      cell(s.timings.find((t) => t.name === name)).padStart(widths[i]!),
    );
    console.log(`  ${name.padEnd(width)}  ${cells.join('  ')}`);
  }
  const row = (label: string, text: (s: QueryFigures['storages'][number]) => string) =>
    console.log(
      `  ${label.padEnd(width)}  ${f.storages.map((s, i) => text(s).padStart(widths[i]!)).join('  ')}`,
    );
  // The write cost of the indexes: what a first sync of a large tenant pays per row.
  row('loaded in (s)', (s) => s.loadSeconds.toFixed(1));
  row('load rate (rows/s)', (s) => Math.round(f.rows / s.loadSeconds).toLocaleString('en-US'));
  for (const s of f.storages) {
    const indexed = s.timings.filter((t) => !t.name.startsWith('full scan'));
    const worst = Math.max(...indexed.map((t) => t.medianMs));
    const scale = 50_000 / f.rows;
    console.log(
      `  ${s.storage}: slowest indexed median ${worst.toFixed(2)} ms` +
        (f.rows === 50_000
          ? worst <= QUERY_GOAL_MS
            ? ' (meets the goal)'
            : ' (misses the goal)'
          : ` (at ${f.rows} rows; the goal is set at 50,000, ${scale.toFixed(0)}× more)`),
    );
  }
}
