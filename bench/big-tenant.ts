// Cost flat with size: the same pushes and pulls in an empty tenant and in one that already holds
// N entities (seeded straight through the store before the server starts), against one
// `syncline serve` process (SQLite). A pull reads the first changes of the tenant's feed, so in
// the big tenant it pages through the seeded rows' index as a device's first pages would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../packages/server/src/store/index.js';
import { startServer } from '../test/support/server-process.js';
import { synclineContender, writeThroughStore, type Contender } from './contenders.js';
import { progress } from './progress.js';
import { printTable, thousands } from './table.js';
import { judge, verdictText, type Verdict } from './targets.js';
import { attendanceBatch } from './workload.js';

const SEED_BATCH = 10_000;

export interface BigTenantRow {
  operation: 'push' | 'pull';
  batchSize: number | null;
  emptyPerSecond: number;
  bigPerSecond: number;
  /** Big-tenant rate over the empty tenant's (1 = no slower). */
  ratio: number;
  target?: Verdict;
}

export interface BigTenantFigures {
  entities: number;
  changes: number;
  seedPerSecond: number;
  rows: BigTenantRow[];
}

async function seed(dataDir: string, tenant: string, entities: number): Promise<number> {
  const store = await openStore({ dataDir });
  const start = performance.now();
  try {
    progress.start(
      `seeding a tenant of ${thousands(entities)} entities through the store`,
      entities,
    );
    const deviceId = `${tenant}-seed`;
    for (let from = 0; from < entities; from += SEED_BATCH) {
      const docs = attendanceBatch(Math.min(SEED_BATCH, entities - from), deviceId, tenant, from);
      await writeThroughStore(store, tenant, deviceId, docs, SEED_BATCH);
    }
  } finally {
    await store.close();
  }
  return Math.round(entities / ((performance.now() - start) / 1000));
}

async function rates(
  contender: Contender,
  tenant: string,
  changes: number,
  sizes: readonly number[],
) {
  const deviceId = `${tenant}-device-${Date.now()}`;
  const out: Record<string, number> = {};
  for (const size of sizes) {
    const docs = attendanceBatch(changes, deviceId, `${tenant}-${size}`);
    progress.start(`${tenant}: push, batches of ${size}`, changes);
    out[`push:${size}`] = changes / (await contender.push(tenant, deviceId, docs, size));
  }
  progress.start(`${tenant}: pull, pages of 1000`, changes);
  out.pull = changes / (await contender.pull(tenant, `${deviceId}-reader`, changes));
  return out;
}

export async function benchBigTenant(
  entities: number,
  changes: number,
  sizes: readonly number[],
  runId: string,
): Promise<BigTenantFigures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-bench-big-'));
  try {
    const bigTenant = `bench-${runId}-big`;
    const seedPerSecond = await seed(dataDir, bigTenant, entities);
    const server = await startServer({
      dataDir,
      env: { SYNCLINE_JOBS: 'off', SYNCLINE_LOG_LEVEL: 'error' },
    });
    try {
      const syncline = synclineContender(server);
      const empty = await rates(syncline, `bench-${runId}-small`, changes, sizes);
      const big = await rates(syncline, bigTenant, changes, sizes);
      const row = (operation: 'push' | 'pull', batchSize: number | null): BigTenantRow => {
        const key = operation === 'push' ? `push:${batchSize}` : 'pull';
        const ratio = Number(((big[key] as number) / (empty[key] as number)).toFixed(3));
        const target = judge('big-tenant-ratio', ratio);
        return {
          operation,
          batchSize,
          emptyPerSecond: Math.round(empty[key] as number),
          bigPerSecond: Math.round(big[key] as number),
          ratio,
          ...(target ? { target } : {}),
        };
      };
      return {
        entities,
        changes,
        seedPerSecond,
        rows: [...sizes.map((size) => row('push', size)), row('pull', null)],
      };
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function printBigTenant(figures: BigTenantFigures) {
  console.log();
  console.log(
    `Syncline (SQLite), ${thousands(figures.changes)} changes in an empty tenant and in one of ` +
      `${thousands(figures.entities)} entities (seeded at ${thousands(figures.seedPerSecond)}/s through the store)`,
  );
  printTable(
    ['operation', 'empty tenant/s', 'big tenant/s', 'big/empty', 'target'],
    figures.rows.map((r) => [
      r.operation === 'push' ? `push, batches of ${r.batchSize}` : 'pull, pages of 1000',
      thousands(r.emptyPerSecond),
      thousands(r.bigPerSecond),
      `${r.ratio.toFixed(2)}×`,
      verdictText(r.target),
    ]),
    1,
  );
}
