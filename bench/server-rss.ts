// The server's resident memory after a bulk sync: a `syncline serve` process (its JavaScript build,
// as `npm start` runs it, SQLite in a temporary data directory) takes 100,000 changes in pushes of
// 1,000, then a second device pulls them all in pages of 1,000. Reads VmRSS (and the peak, VmHWM)
// from /proc before, after the pushes, after the pulls and once it has been idle for 10 s.
// Goal: ≤ 150 MB after both.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Change } from '@syncline/protocol';
import { progress } from './progress.js';
import { delta, push } from '../test/support/http.js';
import { startServer } from '../test/support/server-process.js';

export interface ServerRssFigures {
  changes: number;
  batchSize: number;
  pageSize: number;
  /** Resident memory (MiB) once the server answers, after the pushes and after the pulls. */
  idleRssMb: number;
  afterPushRssMb: number;
  afterPullRssMb: number;
  /** After the pulls and 10 s without requests, once V8 has had its idle-time collections. */
  settledRssMb: number;
  /** The highest resident memory the process reached (MiB). */
  peakRssMb: number;
  targetMb: number;
  /** Changes per second of the pushes and of the pulls, to see what a memory setting costs. */
  pushPerSecond: number;
  pullPerSecond: number;
}

const BATCH_SIZE = 1000;
const PAGE_SIZE = 1000;
const TARGET_MB = 150;
const SETTLE_MS = 10_000;

/** VmRSS and VmHWM of a process, in MiB (Linux only). */
async function residentMemory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: round(kib('VmRSS') / 1024), peak: round(kib('VmHWM') / 1024) };
}

const round = (value: number) => Number(value.toFixed(1));

/** A visit note of about 220 bytes of JSON, like the attendance records of the main bench. */
function note(runId: string, deviceId: string, i: number): Change {
  return {
    mutationId: `${deviceId}-${i}`,
    entityType: 'note',
    entityId: `note-${runId}-${i}`,
    operation: 'CREATE',
    clientVersion: 1,
    timestamp: new Date().toISOString(),
    payload: {
      facilityId: `facility-${i % 25}`,
      text: `Visit ${i}: checked the cold chain, restocked the kit and noted the next date`,
      recordedAt: new Date(Date.now() - i * 1000).toISOString(),
      latitude: -1.2921 + (i % 100) / 10_000,
      longitude: 36.8219 + (i % 100) / 10_000,
    },
  };
}

export async function benchServerRss(changes = 100_000): Promise<ServerRssFigures> {
  const server = await startServer();
  const runId = randomBytes(4).toString('hex');
  const token = server.token(`rss-${runId}`, `rss-${runId}`);
  try {
    const idle = await residentMemory(server.pid);
    progress.start(`server RSS: push ${changes.toLocaleString('en-US')} changes`, changes);
    const writer = `rss-writer-${runId}`;
    const pushStart = performance.now();
    for (let from = 0; from < changes; from += BATCH_SIZE) {
      const batch = [];
      for (let i = from; i < Math.min(changes, from + BATCH_SIZE); i++) {
        batch.push(note(runId, writer, i));
      }
      const answer = await push(server.url, token, { deviceId: writer, changes: batch });
      const refused = answer.results.find((r) => r.status !== 'APPLIED');
      if (refused) throw new Error(`push not applied: ${JSON.stringify(refused)}`);
      progress.tick(batch.length);
    }
    const pushSeconds = (performance.now() - pushStart) / 1000;
    const afterPush = await residentMemory(server.pid);
    const pullStart = performance.now();
    progress.start(`server RSS: pull ${changes.toLocaleString('en-US')} changes`, changes);
    const reader = `rss-reader-${runId}`;
    let pulled = 0;
    for (let syncToken: string | undefined; ;) {
      const page = await delta(server.url, token, {
        deviceId: reader,
        pageSize: PAGE_SIZE,
        ...(syncToken ? { syncToken } : {}),
      });
      pulled += page.changes.length;
      progress.tick(page.changes.length);
      syncToken = page.syncToken;
      if (!page.hasMore) break;
    }
    if (pulled !== changes) throw new Error(`pulled ${pulled} changes, expected ${changes}`);
    const pullSeconds = (performance.now() - pullStart) / 1000;
    const afterPull = await residentMemory(server.pid);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const settled = await residentMemory(server.pid);
    return {
      changes,
      batchSize: BATCH_SIZE,
      pageSize: PAGE_SIZE,
      idleRssMb: idle.rss,
      afterPushRssMb: afterPush.rss,
      afterPullRssMb: afterPull.rss,
      settledRssMb: settled.rss,
      peakRssMb: settled.peak,
      targetMb: TARGET_MB,
      pushPerSecond: Math.round(changes / pushSeconds),
      pullPerSecond: Math.round(changes / pullSeconds),
    };
  } finally {
    await server.stop();
  }
}

export function printServerRss(figures: ServerRssFigures): void {
  const n = figures.changes.toLocaleString('en-US');
  console.log();
  console.log(
    `server RSS (syncline serve, SQLite): ${n} changes pushed in batches of ${figures.batchSize}, pulled in pages of ${figures.pageSize}`,
  );
  console.log(
    `  idle ${figures.idleRssMb} MiB, after push ${figures.afterPushRssMb} MiB, after pull ${figures.afterPullRssMb} MiB, ${SETTLE_MS / 1000} s later ${figures.settledRssMb} MiB, peak ${figures.peakRssMb} MiB (goal ≤ ${figures.targetMb} MiB)`,
  );
  console.log(
    `  meanwhile ${figures.pushPerSecond.toLocaleString('en-US')} changes/s pushed, ${figures.pullPerSecond.toLocaleString('en-US')} pulled`,
  );
}
