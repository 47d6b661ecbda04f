// Indexed find() over IndexedDB in Debian's Chromium, the way an app uses it: visits created and
// synced with the real server, then find({ where, orderBy, limit, offset }) with equality, `in`,
// ranges and both directions, checked against the reference semantics (core/query.ts) on a model
// of the data kept here: after the first sync, after updates and deletes are synced, with changes
// still queued, and with getAll's direction hidden (the cursor path older engines take).
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INDEXES,
  queries as benchQueries,
  TYPE,
  visit,
  visitId,
  type Visit,
} from '../../bench/queries-workload.js';
import type { EntityRow } from '../../packages/client/src/core/ports.js';
import {
  indexFields,
  normalizeQuery,
  referenceQuery,
  type Query,
} from '../../packages/client/src/core/query.js';
import {
  bundlePage,
  hasChromium,
  launchChromium,
  noChromiumReason,
  pageHtml,
} from '../support/chromium.js';
import type { QueriesApi } from '../support/sdk-query-page.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type SyncProxy } from '../support/sync-proxy.js';

const entry = fileURLToPath(new URL('../support/sdk-query-page.ts', import.meta.url));
const COUNT = 300;

let server: ServerProcess;
let proxy: SyncProxy;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

function call<K extends keyof QueriesApi>(
  method: K,
  ...args: Parameters<QueriesApi[K]>
): Promise<Awaited<ReturnType<QueriesApi[K]>>> {
  return page.evaluate(
    ([name, values]) =>
      (window as unknown as { queries: Record<string, (...a: unknown[]) => unknown> }).queries[
        name
      ]!(...values),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<QueriesApi[K]>>>;
}

/** What the page should hold: each visit's data, or undefined once deleted. */
const model = new Map<string, Visit | undefined>();

function expected(query: Query): string[] {
  const rows: EntityRow[] = [];
  for (const [id, data] of model) {
    if (!data) continue;
    rows.push({
      type: TYPE,
      id,
      version: 1,
      deleted: false,
      body: null,
      fields: indexFields(data as unknown as Record<string, unknown>, INDEXES),
    });
  }
  return referenceQuery(rows, normalizeQuery(TYPE, query, INDEXES)).map((row) => row.id);
}

const fixed: Query[] = [
  ...benchQueries.map((q) => q.query),
  { where: { facility: 'f-07' } },
  { where: { status: { in: ['open', 'closed'] } }, orderBy: 'day', limit: 15, offset: 10 },
  { where: { score: { gt: 9000 } }, orderBy: { field: 'score', direction: 'desc' }, limit: 7 },
  { where: { score: { gte: 100, lte: 2000 } }, orderBy: 'day', limit: 5 },
  { where: { day: { lt: '2026-02-01' } }, orderBy: { field: 'day', direction: 'desc' } },
  { where: { status: 'due', facility: { in: ['f-01', 'f-02', 'f-30'] } }, orderBy: 'score' },
  { where: { status: { in: ['due', 'open'] } }, orderBy: 'status', limit: 30, offset: 90 },
  { orderBy: { field: 'score', direction: 'desc' }, limit: 10, offset: 5 },
  { orderBy: 'facility', limit: 400 },
  { where: { score: { gt: 50, lt: 50 } } },
  { where: { score: null }, orderBy: 'day' },
  { limit: 12, offset: 3 },
  { where: { facility: 'f-07' }, limit: 0 },
];

const facility = fc.integer({ min: 0, max: 52 }).map((i) => `f-${String(i).padStart(2, '0')}`);
const day = fc.integer({ min: 0, max: 370 }).map((d) => visit(d).day);
const score = fc.integer({ min: -10, max: 10_010 });
const bounds = <T extends number | string>(value: fc.Arbitrary<T>) =>
  fc
    .record({ gt: value, gte: value, lt: value, lte: value }, { requiredKeys: [] })
    .filter((r) => !(r.gt !== undefined && r.gte !== undefined))
    .filter((r) => !(r.lt !== undefined && r.lte !== undefined))
    .filter((r) => Object.keys(r).length > 0);
const condition = fc.oneof(
  fc.record({
    facility: fc.oneof(facility, fc.record({ in: fc.array(facility, { maxLength: 4 }) })),
  }),
  fc.record({
    status: fc.oneof(
      fc.constantFrom('open', 'due', 'closed'),
      fc.record({ in: fc.subarray(['open', 'due', 'closed']) }),
    ),
  }),
  fc.record({ score: bounds(score) }),
  fc.record({ day: bounds(day) }),
);
const randomQuery: fc.Arbitrary<Query> = fc.record(
  {
    where: fc.array(condition, { maxLength: 2 }).map((list) => Object.assign({}, ...list)),
    orderBy: fc.record({
      field: fc.constantFrom(...INDEXES),
      direction: fc.constantFrom('asc' as const, 'desc' as const),
    }),
    limit: fc.integer({ min: 0, max: 60 }),
    offset: fc.integer({ min: 0, max: 40 }),
  },
  { requiredKeys: [] },
);
/** The same queries every time: a seed, so that a failure can be run again. */
const sampled = fc.sample(randomQuery, { numRuns: 120, seed: 4242 });

async function expectAnswers(label: string) {
  for (const query of [...fixed, ...sampled]) {
    expect(await call('find', query), `${label}: ${JSON.stringify(query)}`).toEqual(
      expected(query),
    );
  }
}

describe.skipIf(!hasChromium)(
  `indexed find() over IndexedDB${hasChromium ? '' : ` (${noChromiumReason})`}`,
  () => {
    beforeAll(async () => {
      server = await startServer();
      proxy = await startSyncProxy(server.url, {
        files: {
          '/': { type: 'text/html', body: pageHtml('/queries.js') },
          '/queries.js': { type: 'text/javascript', body: await bundlePage(entry) },
        },
      });
      browser = await launchChromium();
      page = await browser.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(proxy.url);
      await page.waitForFunction(() => 'queries' in window);
      await call('open', server.token('nurse', 'indexed-queries'), 'indexed-queries');
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await proxy?.close();
      await server?.stop();
    });

    it('answers from the index as the reference does, through syncs, updates and deletes', async () => {
      await call('create', 0, COUNT);
      for (let i = 0; i < COUNT; i++) model.set(visitId(i), visit(i));
      expect(await call('sync')).toBe(0);
      expect(await call('hasGetAllDirection')).toBe(true);
      await expectAnswers('synced');

      // Updates move rows between index keys; deletes leave tombstones the index must not show.
      for (let i = 0; i < 40; i++) {
        const id = visitId(i * 7);
        const patch: Partial<Visit> = {
          status: 'closed',
          score: (i * 263) % 10_000,
          ...(i % 4 === 0 ? { facility: 'f-51' } : {}),
        };
        await call('update', id, patch);
        model.set(id, { ...model.get(id)!, ...patch });
      }
      for (const i of [1, 2, 3]) {
        const id = visitId(i * 50 + 1);
        await call('update', id, { score: null as unknown as number });
        model.set(id, { ...model.get(id)!, score: null as unknown as number });
      }
      for (let i = 0; i < 30; i++) {
        const id = visitId(i * 9 + 4);
        await call('remove', id);
        model.set(id, undefined);
      }
      // Still queued: judged on the rebased view beside the stored index.
      await expectAnswers('queued');
      expect(await call('sync')).toBe(0);
      await expectAnswers('synced again');

      await call('create', COUNT, COUNT + 20);
      for (let i = COUNT; i < COUNT + 20; i++) model.set(visitId(i), visit(i));
      expect(await call('sync')).toBe(0);
      expect(await call('hideGetAllDirection')).toBe(false);
      await expectAnswers('by cursor');
      expect(pageErrors).toEqual([]);
    }, 180_000);
  },
);
