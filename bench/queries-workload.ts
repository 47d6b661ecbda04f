// The indexed-query bench's workload, shared by Node (SQLite, memory) and the Chromium page
// (IndexedDB, plain and encrypted): N confirmed visits loaded through the LocalStore port as a
// sync stores them, then the SDK's own find() timed over them, each answer checked against the
// reference semantics first. Imports nothing of Node or the DOM.
import type { IndexDeclaration } from '../packages/client/src/core/index-declaration.js';
import type {
  CompoundIndex,
  EntityRow,
  LocalStore,
  StorageWrite,
} from '../packages/client/src/core/ports.js';
import {
  indexFields,
  normalizeQuery,
  referenceQuery,
  type Query,
} from '../packages/client/src/core/query.js';
import type { SyncClient } from '../packages/client/src/create-sync-client.js';
import type { Filter } from '../packages/client/src/core/sync-client.js';

export const TYPE = 'visit';
/** The indexed fields. */
export const INDEXES = ['facility', 'status', 'score', 'day'] as const;
/**
 * The compounds the timed queries need: an equality or `in` on status ordered by score, and one
 * on facility ordered by day. Every other shape walks a single field's index.
 */
export const COMPOUNDS: readonly CompoundIndex[] = [
  ['status', 'score'],
  ['facility', 'day'],
];
export const DECLARED: IndexDeclaration = [...INDEXES, ...COMPOUNDS];
export const collections = { [TYPE]: { indexes: DECLARED } };

export interface Visit {
  facility: string;
  status: string;
  score: number;
  day: string;
  notes: string;
}

const STATUSES = ['open', 'due', 'closed'];
const DAY0 = Date.UTC(2026, 0, 1);

/** Visit i: 50 facilities, 3 statuses, scores spread over 0–9999, a year of days. */
export function visit(i: number): Visit {
  return {
    facility: `f-${String(i % 50).padStart(2, '0')}`,
    status: STATUSES[i % 3]!,
    score: (i * 7919) % 10_000,
    day: new Date(DAY0 + (i % 365) * 86_400_000).toISOString().slice(0, 10),
    notes: `Visit ${i}: checked the cold chain, counted stock, spoke with the nurse in charge.`,
  };
}

export const visitId = (i: number) => `v${String(i).padStart(7, '0')}`;

/** The confirmed row a sync stores for visit i, with the indexed values the core computes. */
export function visitRow(i: number): EntityRow {
  const data = visit(i);
  return {
    type: TYPE,
    id: visitId(i),
    version: 1,
    deleted: false,
    body: JSON.stringify(data),
    fields: indexFields(data as unknown as Record<string, unknown>, INDEXES),
  };
}

/**
 * Writes `count` visits in batches, plus the index declaration the client keeps in meta, so that
 * the client opens on them without indexing them again (were the key to change, it would, once).
 */
export async function loadVisits(store: LocalStore, count: number, batch = 5000): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const writes: StorageWrite[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      writes.push({ kind: 'putEntity', row: visitRow(i), compounds: COMPOUNDS });
    }
    if (start + batch >= count) {
      writes.push({
        kind: 'setMeta',
        key: 'sync.indexedFields',
        value: JSON.stringify({ [TYPE]: DECLARED }),
      });
    }
    await store.write(writes);
  }
}

export interface BenchQuery {
  name: string;
  query: Query;
}

/** The indexed queries timed: equality, ranges and `in`, each ordered and limited. */
export const queries: BenchQuery[] = [
  { name: 'equality, id order, limit 20', query: { where: { facility: 'f-07' }, limit: 20 } },
  {
    name: 'equality + orderBy other field desc, limit 20',
    query: { where: { status: 'due' }, orderBy: { field: 'score', direction: 'desc' }, limit: 20 },
  },
  {
    name: 'range on the orderBy field, limit 20',
    query: { where: { score: { gte: 2500, lt: 2600 } }, orderBy: 'score', limit: 20 },
  },
  {
    name: 'range + orderBy other field, limit 20',
    query: { where: { day: { gte: '2026-03-01', lt: '2026-04-01' } }, orderBy: 'score', limit: 20 },
  },
  {
    name: 'in (3 facilities) + orderBy, limit 20',
    query: { where: { facility: { in: ['f-01', 'f-02', 'f-03'] } }, orderBy: 'day', limit: 20 },
  },
  {
    name: 'in + range, orderBy, offset 40 limit 20',
    query: {
      where: { status: { in: ['open', 'due'] }, score: { lt: 5000 } },
      orderBy: 'score',
      limit: 20,
      offset: 40,
    },
  },
];

/** The contrast: the older field-equality filter, which reads and decodes every row. */
export const fullScan: { name: string; filter: Filter<Visit> } = {
  name: 'full scan: find({ facility }) over every row',
  filter: { facility: 'f-07' },
};

export interface Timing {
  name: string;
  runs: number;
  rows: number;
  medianMs: number;
  p95Ms: number;
}

function quantile(sorted: number[], q: number): number {
  const at = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, at)]!;
}

async function time(
  name: string,
  runs: number,
  run: () => Promise<unknown[]>,
  now: () => number,
): Promise<Timing> {
  const samples: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs + Math.ceil(runs / 10); i++) {
    const at = now();
    rows = (await run()).length;
    // The first tenth warms caches and the JIT and is not counted.
    if (i >= Math.ceil(runs / 10)) samples.push(now() - at);
  }
  samples.sort((a, b) => a - b);
  return {
    name,
    runs,
    rows,
    medianMs: Number(quantile(samples, 0.5).toFixed(3)),
    p95Ms: Number(quantile(samples, 0.95).toFixed(3)),
  };
}

/** Checks each query's answer against the reference, then times them all through find(). */
export async function timeQueries(
  client: SyncClient,
  count: number,
  options: { runs: number; scanRuns: number; now: () => number },
): Promise<Timing[]> {
  const visits = client.collection<Visit>(TYPE);
  const all = Array.from({ length: count }, (_, i) => visitRow(i));
  for (const { name, query } of queries) {
    const expected = referenceQuery(all, normalizeQuery(TYPE, query, INDEXES)).map((r) => r.id);
    const found = (await visits.find(query)).map((r) => r.id);
    if (JSON.stringify(found) !== JSON.stringify(expected)) {
      throw new Error(`${name}: found ${found.join(',')}, expected ${expected.join(',')}`);
    }
  }
  const timings: Timing[] = [];
  for (const { name, query } of queries) {
    timings.push(await time(name, options.runs, () => visits.find(query), options.now));
  }
  timings.push(
    await time(fullScan.name, options.scanRuns, () => visits.find(fullScan.filter), options.now),
  );
  return timings;
}
