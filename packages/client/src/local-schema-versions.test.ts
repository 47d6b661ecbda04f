// Local schema versions on every storage (memory, SQLite, IndexedDB through fake-indexeddb):
// after an app update, stored rows and queued changes are migrated once and atomically, a
// failing migration leaves the data as it was with a clear error, and every request tells the
// server the app's schema versions.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { healthyServer, scriptedFetch } from '../../../test/support/sdk-fetch.js';
import type { LocalStore } from './core/ports.js';
import { OutboxState } from './core/ports.js';
import type { Migration } from './core/schema-migrations.js';
import { createSyncClient, type SyncClientOptions } from './create-sync-client.js';
import { indexedDbStorage, memoryStorage } from './store/index.js';
import { sqliteStorage } from './store/sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let made = 0;
/** Each factory gives a fresh storage and a way to open it again (the app restarted). */
const storages: Array<[string, () => () => LocalStore]> = [
  [
    'memory',
    () => {
      const kept = memoryStorage();
      return () => ({ ...kept, close: async () => undefined });
    },
  ],
  [
    'sqlite',
    () => {
      const path = join(dir, `s${++made}.db`);
      return () => sqliteStorage(path);
    },
  ],
  [
    'indexeddb',
    () => {
      const name = `schema-${++made}`;
      return () => indexedDbStorage(name);
    },
  ],
];

/** What version 1 of the app left: two confirmed visits, a tombstone, and three queued changes. */
async function writeVersion1(storage: LocalStore) {
  const entity = (id: string, body: object | null) => ({
    kind: 'putEntity' as const,
    row: {
      type: 'visit',
      id,
      version: 1,
      deleted: body === null,
      body: body && JSON.stringify(body),
    },
  });
  const queued = (id: string, operation: 'CREATE' | 'UPDATE' | 'DELETE', body: object | null) => ({
    kind: 'appendOutbox' as const,
    row: {
      mutationId: `m-${id}-${operation}`,
      type: 'visit',
      id,
      operation,
      baseVersion: operation === 'CREATE' ? 1 : 1,
      timestamp: new Date().toISOString(),
      attempts: 0,
      state: OutboxState.PENDING,
      error: null,
      body: body && JSON.stringify(body),
    },
  });
  await storage.write([
    entity('v1', { name: 'Ward A', nurse: 'ann' }),
    entity('v2', { name: 'Ward B', nurse: 'bob' }),
    entity('v3', null),
    {
      kind: 'putEntity',
      row: { type: 'other', id: 'o1', version: 1, deleted: false, body: '{"name":"x"}' },
    },
    queued('v4', 'CREATE', { name: 'Ward C', nurse: 'cy' }),
    queued('v1', 'UPDATE', { name: 'Ward A2' }),
    queued('v2', 'DELETE', null),
  ]);
}

/** Version 3 of the app: `name` became `title` (2), and visits gained a `status` (3). */
function version3(calls: string[], fail?: string) {
  const toV2: Migration = (doc, { patch }) => {
    calls.push(`2:${String(doc.name)}${patch ? ' (patch)' : ''}`);
    const { name, ...rest } = doc;
    return name === undefined ? rest : { ...rest, title: name };
  };
  const toV3: Migration = (doc, { patch }) => {
    calls.push(`3:${String(doc.title)}`);
    if (fail !== undefined && doc.title === fail) throw new Error('title out of range');
    return patch ? doc : { status: 'open', ...doc };
  };
  return { visit: { version: 3, migrations: { 2: toV2, 3: toV3 } }, other: {} };
}

describe.each(storages)('local schema versions on %s', (_name, fresh) => {
  const open = (
    storage: LocalStore,
    collections: NonNullable<SyncClientOptions['collections']>,
    fetch = scriptedFetch(healthyServer),
  ) => ({
    client: createSyncClient({
      url: 'http://sync.test',
      getToken: () => 't',
      storage,
      collections,
      fetch: fetch.fetch,
      realtime: false,
      firstSync: 'feed',
    }),
    calls: fetch.calls,
  });

  it('migrates stored rows and queued changes once, and tells the server the versions', async () => {
    const reopen = fresh();
    const old = reopen();
    await writeVersion1(old);
    await old.close();

    const calls: string[] = [];
    const { client, calls: requests } = open(reopen(), version3(calls));
    await client.ready();
    // Each live row and each queued body once per step; the tombstone and the DELETE have none.
    expect(calls.sort()).toEqual(
      [
        '2:Ward A',
        '2:Ward B',
        '2:Ward C',
        '2:Ward A2 (patch)',
        '3:Ward A',
        '3:Ward B',
        '3:Ward C',
        '3:Ward A2',
      ].sort(),
    );
    const visits = client.collection<Record<string, unknown>>('visit');
    // v1 is the confirmed row with its queued (migrated) patch on top.
    expect(await visits.get('v1')).toEqual({
      id: 'v1',
      status: 'open',
      title: 'Ward A2',
      nurse: 'ann',
    });
    expect(await visits.get('v2')).toBeUndefined();
    expect(await visits.get('v4')).toEqual({
      id: 'v4',
      status: 'open',
      title: 'Ward C',
      nurse: 'cy',
    });
    // Collections without a version are left alone.
    expect(await client.collection('other').get('o1')).toEqual({ id: 'o1', name: 'x' });

    await client.syncNow();
    const push = requests.find((r) => r.path === '/api/sync');
    const sent = (push?.body as { changes: Array<{ entityId: string; payload?: unknown }> })
      .changes;
    expect(sent.map((c) => [c.entityId, c.payload])).toEqual([
      ['v4', { status: 'open', title: 'Ward C', nurse: 'cy' }],
      ['v1', { title: 'Ward A2' }],
      ['v2', undefined],
    ]);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((r) => r.schemaVersion === 'visit=3')).toBe(true);
    await client.close();

    // Opened again by the same version: nothing runs twice.
    const again: string[] = [];
    const second = open(reopen(), version3(again)).client;
    await second.ready();
    expect(again).toEqual([]);
    expect(await second.collection('visit').get('v4')).toMatchObject({ title: 'Ward C' });
    await second.close();
  });

  it('a failing migration changes nothing and says which document and version failed', async () => {
    const reopen = fresh();
    const old = reopen();
    await writeVersion1(old);
    const before = {
      entities: await old.listEntities('visit'),
      outbox: await old.listOutbox(),
    };
    await old.close();

    const broken = open(reopen(), version3([], 'Ward B')).client;
    await expect(broken.ready()).rejects.toMatchObject({
      name: 'SchemaMigrationError',
      code: 'SCHEMA_MIGRATION_FAILED',
      message: expect.stringMatching(
        /visit: migration to version 3 failed for visit v2: title out of range; the local data is unchanged/,
      ),
    });
    await broken.close().catch(() => undefined);

    const check = reopen();
    expect(await check.listEntities('visit')).toEqual(before.entities);
    expect(await check.listOutbox()).toEqual(before.outbox);
    expect(await check.getMeta('sync.schema.visit')).toBeUndefined();
    await check.close();

    // The fixed app migrates from the untouched version 1 data.
    const fixed = open(reopen(), version3([])).client;
    await fixed.ready();
    expect(await fixed.collection('visit').get('v2')).toBeUndefined();
    expect(await fixed.collection('visit').find()).toHaveLength(2);
    await fixed.close();
  });

  it('refuses to open data of a newer schema than the app knows', async () => {
    const reopen = fresh();
    const newer = open(reopen(), {
      visit: { version: 4, migrations: { 2: (d) => d, 3: (d) => d, 4: (d) => d } },
    }).client;
    await newer.ready();
    await newer.close();
    const older = open(reopen(), { visit: { version: 2, migrations: { 2: (d) => d } } }).client;
    await expect(older.ready()).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
    await older.close().catch(() => undefined);
  });
});
