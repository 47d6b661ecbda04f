// Cost flat with size: the same pushes and pulls in an empty tenant and in one that already holds
// N entities (seeded before the server starts: seed-tenant.ts), against one
// `syncline serve` process (SQLite). A pull reads the first changes of the tenant's feed, so in
// the big tenant it pages through the seeded rows' index as a device's first pages would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../test/support/server-process.js';
import { synclineContender, type Contender } from './contenders.js';
import { seedTenant } from './seed-tenant.js';
import { progress } from './progress.js';
import { printTable, thousands } from './table.js';
import { judge, verdictText, type Verdict } from './targets.js';
import { attendanceBatch } from './workload.js';

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

/**
 * Each operation in the empty tenant and then in the big one, before the next operation, so that
 * both meet the server equally warm; answers changes per second by tenant and operation.
 */
async function rates(
  contender: Contender,
  tenants: { empty: string; big: string },
  changes: number,
  sizes: readonly number[],
) {
  const out = { empty: {} as Record<string, number>, big: {} as Record<string, number> };
  for (const size of sizes) {
    for (const which of ['empty', 'big'] as const) {
      const tenant = tenants[which];
      const deviceId = `${tenant}-device-${size}`;
      const docs = attendanceBatch(changes, deviceId, deviceId);
      progress.start(`${which} tenant: push, batches of ${size}`, changes);
      out[which][`push:${size}`] = changes / (await contender.push(tenant, deviceId, docs, size));
    }
  }
  for (const which of ['empty', 'big'] as const) {
    progress.start(`${which} tenant: pull, pages of 1000`, changes);
    out[which].pull =
      changes / (await contender.pull(tenants[which], `${tenants[which]}-reader`, changes));
  }
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
    const seedPerSecond = await seedTenant(dataDir, bigTenant, entities);
    const server = await startServer({
      dataDir,
      env: { SYNCLINE_JOBS: 'off', SYNCLINE_LOG_LEVEL: 'error' },
    });
    try {
      const syncline = synclineContender(server);
      const tenants = { empty: `bench-${runId}-empty`, big: bigTenant };
      const { empty, big } = await rates(syncline, tenants, changes, sizes);
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
      `${thousands(figures.entities)} entities (seeded at ${thousands(figures.seedPerSecond)}/s)`,
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
