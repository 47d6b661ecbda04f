// A push with omitOwnChanges leaves the versions it wrote as sent out of its answer without reading
// them back from the feed, and its cursor passes them whatever the page size: what it sends is
// what the full page sends less those versions, and its next pull brings everything else. And a
// pushed payload is stringified once, for its size check and its rows alike.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Change } from '@syncline/protocol';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';
import type { SyncStore, TenantTx } from '../../packages/server/src/engine/ports.js';
import { createSyncEngine } from '../../packages/server/src/engine/sync-engine.js';
import { createSqliteSyncStore } from '../../packages/server/src/store/index.js';
import { testCrypto, userOf } from './engine-fixture.js';

const pageSize = 5;
const ann = userOf('ann');
const stores: SyncStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** A store whose transactions count the feed rows they read. */
function countingFeedReads(store: SyncStore, read: { rows: number }): SyncStore {
  const watch = (tx: TenantTx): TenantTx =>
    new Proxy(tx, {
      get(target, key) {
        if (key === 'readFeedEntries') {
          return async (query: Parameters<TenantTx['readFeedEntries']>[0]) => {
            const rows = await target.readFeedEntries(query);
            read.rows += rows.length;
            return rows;
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
  return {
    dialect: store.dialect,
    ping: () => store.ping(),
    close: () => store.close(),
    forTenant(tenant) {
      const inner = store.forTenant(tenant);
      return new Proxy(inner, {
        get(target, key) {
          if (key === 'transact') {
            return <T>(fn: (tx: TenantTx) => Promise<T>) => target.transact((tx) => fn(watch(tx)));
          }
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
    },
  };
}

async function newEngine() {
  const store = await createSqliteSyncStore({ file: ':memory:' });
  stores.push(store);
  const read = { rows: 0 };
  const engine = createSyncEngine({
    store: countingFeedReads(store, read),
    collections: createCollectionRegistry({
      presets: false,
      collections: { thing: {}, other: {} },
    }),
    compileSchema: () => () => [],
    crypto: testCrypto,
    limits: { defaultPageSize: pageSize },
  });
  return { engine, read };
}

const creates = (entityType: string, prefix: string, count: number): Change[] =>
  Array.from({ length: count }, (_, i) => ({
    mutationId: `${prefix}-${i}`,
    entityType,
    entityId: `${prefix}-${i}`,
    operation: 'CREATE',
    clientVersion: 1,
    timestamp: new Date(Date.now() - 60_000).toISOString(),
    payload: { n: i },
  }));

/** Another device writes `others` changes after the device's token, then the device pushes. */
async function pushAfterOthers(
  others: number,
  own: number,
  omitOwnChanges: boolean,
  entityTypes?: string[],
) {
  const { engine, read } = await newEngine();
  const start = await engine.push(ann, { deviceId: 'van', changes: [] });
  await engine.push(ann, { deviceId: 'truck', changes: creates('thing', 'theirs', others) });
  read.rows = 0;
  const page = await engine.push(ann, {
    deviceId: 'van',
    syncToken: start.syncToken,
    changes: creates('thing', 'mine', own),
    ...(entityTypes ? { entityTypes } : {}),
    ...(omitOwnChanges ? { omitOwnChanges } : {}),
  });
  expect(page.results.every((r) => r.status === 'APPLIED')).toBe(true);
  const sent = page.changes.map((c) => (JSON.parse(c) as { entityId: string }).entityId);
  const rest = await engine.delta(ann, {
    deviceId: 'van',
    syncToken: page.syncToken,
    pageSize: 1000,
    ...(entityTypes ? { entityTypes } : {}),
  });
  const after = rest.changes.map((c) => (JSON.parse(c) as { entityId: string }).entityId);
  return { page, sent, after, feedRowsRead: read.rows };
}

describe('a push that omits its own changes', () => {
  const cases = [0, 3, 4, 5, 6].flatMap((others) => [1, 2, 4, 7].map((own) => ({ others, own })));
  const ids = (prefix: string, from: number, to: number) =>
    Array.from({ length: Math.max(0, to - from) }, (_, i) => `${prefix}-${from + i}`);

  it.each(cases)(
    'sends the others’ changes the page reaches and passes its own ($others others, $own own, page of 5)',
    async ({ others, own }) => {
      const full = await pushAfterOthers(others, own, false);
      const lean = await pushAfterOthers(others, own, true);
      expect(lean.sent).toEqual(full.sent.filter((id) => !id.startsWith('mine-')));
      expect(lean.sent).toEqual(ids('theirs', 0, Math.min(others, pageSize)));
      expect(lean.page.hasMore).toBe(others > pageSize);
      // Past the page: the others' changes it did not reach, then (only then) its own, which
      // the cursor could not pass without passing those.
      expect(lean.after).toEqual(
        others > pageSize ? [...ids('theirs', pageSize, others), ...ids('mine', 0, own)] : [],
      );
      // Its own rows are not read back: at most the others' rows (and the one past the page).
      expect(lean.feedRowsRead).toBeLessThanOrEqual(Math.min(others, pageSize + 1));
    },
  );

  it.each([[['thing']], [['thing', 'other']]])(
    'passes its own changes under a type filter that shows them (%j)',
    async (entityTypes) => {
      const lean = await pushAfterOthers(3, 7, true, entityTypes);
      expect(lean.sent).toEqual(ids('theirs', 0, 3));
      expect(lean.page.hasMore).toBe(false);
      expect(lean.after).toEqual([]);
    },
  );

  it('answers as the full page does under a type filter that hides them', async () => {
    const full = await pushAfterOthers(3, 4, false, ['other']);
    const lean = await pushAfterOthers(3, 4, true, ['other']);
    expect(lean.page.syncToken).toBe(full.page.syncToken);
    expect(lean.sent).toEqual([]);
    expect(lean.after).toEqual(full.after);
  });
});

describe('a pushed payload', () => {
  it('is stringified once, for its size check and all three rows it is stored in', async () => {
    const { engine } = await newEngine();
    const [change] = creates('thing', 'once', 1) as [Change];
    const payload = change.payload as object;
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const page = await engine.push(ann, { deviceId: 'van', changes: [change] });
      expect(page.results[0]?.status).toBe('APPLIED');
      expect(stringify.mock.calls.filter(([value]) => value === payload)).toHaveLength(1);
    } finally {
      stringify.mockRestore();
    }
  });
});
