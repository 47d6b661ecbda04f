// First sync of a large tenant: N entities (1,000,000 by default, SYNCLINE_BENCH_FIRST_SYNC for
// a quick run) to a fresh device through POST /api/sync/snapshot, into the SQLite storage in Node
// and into IndexedDB in Debian's Chromium, with the progress reports each one got. The server is
// a real process on a SQLite store seeded straight in SQL (set-based inserts), as a tenant that
// grew over years would be found.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { createSyncClient, type SyncProgress } from '../packages/client/src/index.js';
import { sqliteStorage } from '../packages/client/src/sqlite.js';
import { openStore } from '../packages/server/src/store/index.js';
import { bundlePage, hasChromium, launchChromium, pageHtml } from '../test/support/chromium.js';
import { startServer } from '../test/support/server-process.js';
import { startSyncProxy } from '../test/support/sync-proxy.js';

const TENANT = 'bench-first-sync';
const PAGE_SIZE = 5000;

export interface FirstSyncFigures {
  entities: number;
  pageSize: number;
  seedSeconds: number;
  sqlite: { seconds: number; perSecond: number; pulled: number; progressReports: number };
  indexedDb?: {
    seconds: number;
    perSecond: number;
    pulled: number;
    progressReports: number;
    /** Seconds between consecutive progress reports, at most: progress "throughout". */
    longestGapSeconds: number;
  };
}

/** Entities with their one history row each, straight into the server's SQLite file. */
async function seed(dataDir: string, count: number): Promise<void> {
  const store = await openStore({ dataDir });
  await store.close();
  const db = new BetterSqlite3(join(dataDir, 'syncline.db'));
  try {
    const now = new Date().toISOString();
    db.exec('BEGIN');
    db.prepare(`INSERT INTO tenants (tenant, seq, epoch, created_at) VALUES (?, ?, 0, ?)`).run(
      TENANT,
      count,
      now,
    );
    const rows = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})`;
    const payload = `json_object('facilityId', 'facility-' || (i % 25), 'name', 'Item ' || i,
      'status', CASE i % 3 WHEN 0 THEN 'ok' WHEN 1 THEN 'due' ELSE 'broken' END,
      'serial', printf('SN-%08d', i), 'inspectedAt', '${now}')`;
    db.exec(`${rows} INSERT INTO entities (tenant, entity_type, entity_id, version, payload,
      checksum, created_by, updated_by, device_id, updated_at, deleted_at, seq)
      SELECT '${TENANT}', 'item', printf('e%07d', i), 1, ${payload}, NULL, 'seeder', 'seeder',
      'seed-device', '${now}', NULL, i FROM n`);
    db.exec(`${rows} INSERT INTO entity_history (tenant, seq, entity_type, entity_id, version,
      operation, payload, checksum, created_by, updated_by, device_id, mutation_id, updated_at,
      deleted_at, committed_at)
      SELECT '${TENANT}', i, 'item', printf('e%07d', i), 1, 'CREATE', ${payload}, NULL, 'seeder',
      'seeder', 'seed-device', NULL, '${now}', NULL, '${now}' FROM n`);
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}

export async function benchFirstSync(count: number): Promise<FirstSyncFigures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-bench-first-sync-'));
  const clientDir = await mkdtemp(join(tmpdir(), 'syncline-bench-client-'));
  try {
    let at = performance.now();
    await seed(dataDir, count);
    const seedSeconds = (performance.now() - at) / 1000;
    console.error(`  seeded ${count} entities in ${seedSeconds.toFixed(1)} s`);
    const server = await startServer({ dataDir });
    try {
      const token = server.token('reader', TENANT);
      // SQLite in Node.
      const reports: SyncProgress[] = [];
      const client = createSyncClient({
        url: server.url,
        getToken: () => token,
        storage: sqliteStorage(join(clientDir, 'device.db')),
        realtime: false,
        snapshotPageSize: PAGE_SIZE,
        onProgress: (p) => {
          if (p.phase !== 'snapshot') return;
          reports.push(p);
          if (reports.length % 20 === 0) console.error(`  sqlite: ${p.pulled} of ${p.total}`);
        },
      });
      at = performance.now();
      const summary = await client.syncNow();
      const seconds = (performance.now() - at) / 1000;
      await client.close();
      const sqlite = {
        seconds,
        perSecond: Math.round(count / seconds),
        pulled: summary.pulled,
        progressReports: reports.length,
      };
      console.error(`  sqlite: ${summary.pulled} entities in ${seconds.toFixed(1)} s`);

      let indexedDb: FirstSyncFigures['indexedDb'];
      if (hasChromium) {
        const entry = fileURLToPath(new URL('./first-sync-page.ts', import.meta.url));
        const proxy = await startSyncProxy(server.url, {
          files: {
            '/': { type: 'text/html', body: pageHtml('/bench.js') },
            '/bench.js': { type: 'text/javascript', body: await bundlePage(entry) },
          },
        });
        const browser = await launchChromium();
        try {
          const page = await browser.newPage();
          await page.goto(proxy.url);
          await page.waitForFunction(() => 'bench' in window);
          const result = await page.evaluate(
            ([t, size]) =>
              (
                window as unknown as {
                  bench: {
                    run(
                      t: string,
                      s: number,
                    ): Promise<{
                      seconds: number;
                      pulled: number;
                      samples: Array<{ atMs: number; pulled: number; total: number }>;
                      sampleFound: boolean;
                    }>;
                  };
                }
              ).bench.run(t, size),
            [token, PAGE_SIZE] as const,
          );
          if (!result.sampleFound) throw new Error('IndexedDB client lacks a synced entity');
          let gap = result.samples[0]?.atMs ?? 0;
          for (let i = 1; i < result.samples.length; i++) {
            gap = Math.max(gap, result.samples[i]!.atMs - result.samples[i - 1]!.atMs);
          }
          const step = Math.max(1, Math.floor(result.samples.length / 10));
          for (const s of result.samples.filter(
            (_, i) => i % step === 0 || i === result.samples.length - 1,
          )) {
            console.error(
              `  indexeddb: ${(s.atMs / 1000).toFixed(1)} s  ${s.pulled} of ${s.total}`,
            );
          }
          indexedDb = {
            seconds: result.seconds,
            perSecond: Math.round(count / result.seconds),
            pulled: result.pulled,
            progressReports: result.samples.length,
            longestGapSeconds: gap / 1000,
          };
        } finally {
          await browser.close();
          await proxy.close();
        }
      } else {
        console.error('  (IndexedDB skipped: /usr/bin/chromium is missing)');
      }
      return {
        entities: count,
        pageSize: PAGE_SIZE,
        seedSeconds,
        sqlite,
        ...(indexedDb ? { indexedDb } : {}),
      };
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await rm(clientDir, { recursive: true, force: true });
  }
}

export function printFirstSync(f: FirstSyncFigures): void {
  console.log(
    `\nfirst sync of a fresh device: ${f.entities} entities, snapshot pages of ${f.pageSize}`,
  );
  console.log(
    `  SQLite (Node):        ${f.sqlite.seconds.toFixed(1)} s  ${f.sqlite.perSecond}/s  ` +
      `goal ≤ 30 s at 1,000,000 (${((f.sqlite.seconds / 30) * (1_000_000 / f.entities)).toFixed(2)}× of the goal, scaled)  ` +
      `${f.sqlite.progressReports} progress reports`,
  );
  if (f.indexedDb) {
    console.log(
      `  IndexedDB (Chromium): ${f.indexedDb.seconds.toFixed(1)} s  ${f.indexedDb.perSecond}/s  ` +
        `${f.indexedDb.progressReports} progress reports, longest gap ${f.indexedDb.longestGapSeconds.toFixed(2)} s`,
    );
  }
}
