// The server's memory: a fresh `syncline serve` process (SQLite) takes a push of N changes in
// batches of 1,000 and a pull of them all, then its resident set is read from /proc/<pid>/status
// (VmRSS now, VmHWM the peak). The reference server does the same beside it.
import { readFile } from 'node:fs/promises';
import { startServer } from '../test/support/server-process.js';
import { referenceContender, synclineContender, type Contender } from './contenders.js';
import { startReference } from './reference-process.js';
import { progress } from './progress.js';
import { printTable, thousands } from './table.js';
import { judge, verdictText, type Verdict } from './targets.js';
import { attendanceBatch } from './workload.js';

export interface ServerMemoryFigures {
  server: Contender['name'];
  changes: number;
  rssMb: number;
  peakRssMb: number;
  target?: Verdict;
}

/** VmRSS and VmHWM of a process in MB (0 when /proc does not have them). */
export async function residentMb(pid: number): Promise<{ rssMb: number; peakRssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const mb = (field: string) =>
    Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
  return { rssMb: mb('VmRSS'), peakRssMb: mb('VmHWM') };
}

async function pushAndPull(contender: Contender, changes: number, runId: string) {
  const tenant = `bench-${runId}-memory`;
  const deviceId = `${tenant}-device`;
  progress.start(`${contender.name}: push ${thousands(changes)} for memory`, changes);
  await contender.push(tenant, deviceId, attendanceBatch(changes, deviceId, tenant), 1000);
  progress.start(`${contender.name}: pull ${thousands(changes)} for memory`, changes);
  await contender.pull(tenant, `${deviceId}-reader`, changes);
}

export async function benchServerMemory(
  changes: number,
  runId: string,
): Promise<ServerMemoryFigures[]> {
  const figures: ServerMemoryFigures[] = [];
  const server = await startServer({ env: { SYNCLINE_JOBS: 'off', SYNCLINE_LOG_LEVEL: 'error' } });
  try {
    await pushAndPull(synclineContender(server), changes, runId);
    const memory = await residentMb(server.pid);
    const target = judge('server-rss', memory.rssMb);
    figures.push({ server: 'Syncline', changes, ...memory, ...(target ? { target } : {}) });
  } finally {
    await server.stop();
  }
  const reference = await startReference();
  try {
    await pushAndPull(referenceContender(reference), changes, runId);
    figures.push({ server: 'reference', changes, ...(await residentMb(reference.pid)) });
  } finally {
    await reference.stop();
  }
  return figures;
}

export function printServerMemory(figures: readonly ServerMemoryFigures[]) {
  if (figures.length === 0) return;
  console.log();
  console.log(
    `server memory after pushing and pulling ${thousands(figures[0]?.changes ?? 0)} changes (SQLite)`,
  );
  printTable(
    ['server', 'RSS MB', 'peak RSS MB', 'target RSS'],
    figures.map((f) => [f.server, String(f.rssMb), String(f.peakRssMb), verdictText(f.target)]),
    1,
  );
}
