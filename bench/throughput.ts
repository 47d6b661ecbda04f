// Side by side in one run: each contender pushes the same attendance changes into a fresh tenant
// in batches of 100 and of 1,000, then pulls them back in pages of 1,000. Rounds interleave the
// contenders (their order rotates each round) so that a slow minute on a shared machine falls on
// all of them; each figure is the median of its rounds.
import { progress } from './progress.js';
import { printTable, thousands } from './table.js';
import { judge, verdictText, type Verdict } from './targets.js';
import type { Contender } from './contenders.js';
import { median } from './stats.js';
import { attendanceBatch } from './workload.js';

export const BATCH_SIZES = [100, 1000] as const;

export type Backend = 'sqlite' | 'postgres';
type Name = Contender['name'];

export interface ThroughputRow {
  backend: Backend;
  /** `pull-uncompressed`: the same pull asking for answers as they are (the reference's kind). */
  operation: 'push' | 'pull' | 'pull-uncompressed';
  /** For a push, its batch size; a pull reads pages of 1,000 of what both batch sizes pushed. */
  batchSize: number | null;
  changes: number;
  /** Median changes per second by contender, and each round's figure. */
  perSecond: Partial<Record<Name, number>>;
  samples: Partial<Record<Name, number[]>>;
  /** Each contender's rate over the reference's (1 = as fast). */
  ratioToReference: Partial<Record<Name, number>>;
  target?: Verdict;
}

export async function benchThroughput(
  backend: Backend,
  contenders: readonly Contender[],
  options: { changes: number; rounds: number; runId: string },
): Promise<ThroughputRow[]> {
  const { changes, rounds, runId } = options;
  const samples = new Map<string, number[]>();
  const note = (key: string, perSecond: number) =>
    samples.set(key, [...(samples.get(key) ?? []), perSecond]);
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map(
      (_, i) => contenders[(i + round) % contenders.length] as Contender,
    );
    for (const size of BATCH_SIZES) {
      for (const contender of order) {
        // A fresh tenant each time: every measurement starts from an empty feed.
        const tenant = `bench-${runId}-${backend}-${contender.name}-${round}-${size}`;
        const deviceId = `${tenant}-device`;
        const docs = attendanceBatch(changes, deviceId, tenant);
        const label = `${backend} ${round + 1}/${rounds}: ${contender.name}`;
        progress.start(`${label} push, batches of ${size}`, changes);
        note(
          `${contender.name}:push:${size}`,
          changes / (await contender.push(tenant, deviceId, docs, size)),
        );
        progress.start(`${label} pull, pages of 1000`, changes);
        note(
          `${contender.name}:pull`,
          changes / (await contender.pull(tenant, `${deviceId}-reader`, changes)),
        );
        progress.start(`${label} pull, pages of 1000, uncompressed`, changes);
        note(
          `${contender.name}:pull-uncompressed`,
          changes /
            (await contender.pull(tenant, `${deviceId}-plain-reader`, changes, {
              uncompressed: true,
            })),
        );
      }
    }
  }
  const row = (operation: ThroughputRow['operation'], batchSize: number | null): ThroughputRow => {
    const key = operation === 'push' ? `push:${batchSize}` : operation;
    const perSecond: ThroughputRow['perSecond'] = {};
    const byName: ThroughputRow['samples'] = {};
    for (const { name } of contenders) {
      const values = samples.get(`${name}:${key}`) ?? [];
      byName[name] = values.map(Math.round);
      perSecond[name] = Math.round(median(values));
    }
    const reference = perSecond.reference;
    const ratioToReference: ThroughputRow['ratioToReference'] = {};
    for (const { name } of contenders) {
      const rate = perSecond[name];
      if (reference && rate !== undefined && name !== 'reference') {
        ratioToReference[name] = Number((rate / reference).toFixed(3));
      }
    }
    const target =
      perSecond.Syncline === undefined
        ? undefined
        : judge(`${backend}:${operation === 'push' ? key : 'pull'}`, perSecond.Syncline);
    return {
      backend,
      operation,
      batchSize,
      changes,
      perSecond,
      samples: byName,
      ratioToReference,
      ...(target ? { target } : {}),
    };
  };
  return [
    ...BATCH_SIZES.map((size) => row('push', size)),
    row('pull', null),
    row('pull-uncompressed', null),
  ];
}

const operationLabel = (r: ThroughputRow) =>
  r.operation === 'push'
    ? `push, batches of ${r.batchSize}`
    : r.operation === 'pull'
      ? 'pull, pages of 1000'
      : 'pull, uncompressed';

const ratio = (value: number | undefined) => (value === undefined ? '' : `${value.toFixed(2)}×`);
const rate = (value: number | undefined) => (value === undefined ? '' : thousands(value));

export function printThroughput(rows: readonly ThroughputRow[], rounds: number) {
  if (rows.length === 0) return;
  console.log();
  console.log(
    `${thousands(rows[0]?.changes ?? 0)} attendance changes, changes/s, median of ${rounds} interleaved round(s); ` +
      'store = the same rows through SyncStore in process (no HTTP, no engine); ' +
      'reference = bench/reference-server.ts (Fastify + better-sqlite3, WAL, synchronous=FULL)',
  );
  printTable(
    [
      'backend',
      'operation',
      'Syncline',
      'store',
      'reference',
      'Syncline/ref',
      'store/ref',
      'target (Syncline)',
    ],
    rows.map((r) => [
      r.backend,
      operationLabel(r),
      rate(r.perSecond.Syncline),
      rate(r.perSecond.store),
      rate(r.perSecond.reference),
      ratio(r.ratioToReference.Syncline),
      ratio(r.ratioToReference.store),
      verdictText(r.target),
    ]),
    2,
  );
}
