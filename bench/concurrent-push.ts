// Latency under concurrency: many devices at once, each pushing batches of 10 changes back to back
// until the run's pushes are spent (after one untimed warm-up push each); the latency of every
// timed push, as its device saw it.
import { performance } from 'node:perf_hooks';
import type { Contender } from './contenders.js';
import { progress } from './progress.js';
import { summarize, type LatencySummary } from './stats.js';
import { printTable, thousands } from './table.js';
import { judge, verdictText, type Verdict } from './targets.js';
import type { Backend } from './throughput.js';
import { attendanceBatch } from './workload.js';

export const CHANGES_PER_PUSH = 10;

/** 50 devices at once are 50 clerks at work, each seeing only their own records. */
const clerkOf = (device: number) => `clerk-${device}`;

export interface ConcurrentPushFigures {
  backend: Backend;
  contender: Contender['name'];
  devices: number;
  pushes: number;
  changesPerSecond: number;
  latencyMs: LatencySummary;
  target?: Verdict;
}

export async function benchConcurrentPush(
  backend: Backend,
  contender: Contender,
  options: { devices: number; pushes: number; runId: string },
): Promise<ConcurrentPushFigures> {
  const { devices, pushes, runId } = options;
  const tenant = `bench-${runId}-${backend}-${contender.name}-concurrent`;
  const latencies: number[] = [];
  let next = 0;
  progress.start(
    `${backend}: ${contender.name}, ${devices} devices pushing ${CHANGES_PER_PUSH} at once`,
    (devices + pushes) * CHANGES_PER_PUSH,
  );
  // Each device first pushes once untimed, all at once: its connection is open and the server warm
  // when the timed pushes begin, so the p99 is the steady state of 50 devices, not their start-up.
  await Promise.all(
    Array.from({ length: devices }, (_, i) => {
      const deviceId = `${tenant}-device-${i}`;
      const warmUp = attendanceBatch(CHANGES_PER_PUSH, deviceId, deviceId, 0);
      return contender.push(tenant, deviceId, warmUp, CHANGES_PER_PUSH, clerkOf(i));
    }),
  );
  const device = async (index: number) => {
    const deviceId = `${tenant}-device-${index}`;
    for (let n = 1; next < pushes; n++) {
      next++;
      const changes = attendanceBatch(CHANGES_PER_PUSH, deviceId, deviceId, n * CHANGES_PER_PUSH);
      const took = await contender.push(
        tenant,
        deviceId,
        changes,
        CHANGES_PER_PUSH,
        clerkOf(index),
      );
      latencies.push(took * 1000);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: devices }, (_, i) => device(i)));
  const seconds = (performance.now() - start) / 1000;
  const latencyMs = summarize(latencies);
  const target =
    contender.name === 'Syncline'
      ? judge(`${backend}:concurrent-push-p99`, latencyMs.p99)
      : undefined;
  return {
    backend,
    contender: contender.name,
    devices,
    pushes: latencies.length,
    changesPerSecond: Math.round((latencies.length * CHANGES_PER_PUSH) / seconds),
    latencyMs,
    ...(target ? { target } : {}),
  };
}

export function printConcurrentPush(figures: readonly ConcurrentPushFigures[]) {
  if (figures.length === 0) return;
  console.log();
  console.log(
    `pushes of ${CHANGES_PER_PUSH} changes, ${figures[0]?.devices} devices at once: latency each device saw`,
  );
  printTable(
    ['backend', 'server', 'pushes', 'changes/s', 'p50 ms', 'p99 ms', 'max ms', 'target p99'],
    figures.map((f) => [
      f.backend,
      f.contender,
      thousands(f.pushes),
      thousands(f.changesPerSecond),
      String(f.latencyMs.p50),
      String(f.latencyMs.p99),
      String(f.latencyMs.max),
      verdictText(f.target),
    ]),
    2,
  );
}
