// Two clients on one storage, as two tabs on one IndexedDB database or two processes on one SQLite
// file: offline writes from both, interleaved and concurrent, then both sync at once. The
// scripted server below checks what a real one would (each mutation applied once, each change
// made on the version it names) and keeps the feed both clients pull. The same cases run through
// Chromium (test/e2e/sdk-two-tabs.browser.test.ts) and two processes against the real server.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeltaRequest, PushRequest, ServerChange } from '@syncline/protocol';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { json, networkDown, requestJson } from '../../../test/support/sdk-fetch.js';
import type { LocalStore } from './core/ports.js';
import { createSyncClient, type SyncClient } from './create-sync-client.js';
import { indexedDbStorage, memoryStorage } from './store/index.js';
import { sqliteStorage } from './store/sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-shared-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server that applies each mutation once, checks versions, and serves one feed. */
function versionedServer() {
  const feed: ServerChange[] = [];
  const versions = new Map<string, number>();
  const applied = new Map<string, number>();
  const refused: string[] = [];
  /** Notes with these texts are refused, as a schema would. */
  const refuse = new Set<string>();
  /** The sync token each request started from, by path. */
  const tokens: Array<{ path: string; token: string | null }> = [];
  let online = false;
  const cursor = (token: string | null | undefined) => Number(token?.split('.')[1] ?? 0);
  const token = () => `v1.${feed.length}.0.scope`;
  const fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    if (!online) networkDown();
    const path = new URL(input).pathname;
    const body = requestJson(init) as { syncToken?: string };
    tokens.push({ path, token: body.syncToken ?? null });
    if (path === '/api/sync') {
      const request = body as PushRequest;
      const results = request.changes.map((change) => {
        const mutationId = change.mutationId ?? '';
        const key = `${change.entityType}/${change.entityId}`;
        const base = { mutationId, entityType: change.entityType, entityId: change.entityId };
        if (refuse.has(String(change.payload?.text))) {
          return {
            ...base,
            status: 'REJECTED' as const,
            error: { code: 'SCHEMA_VIOLATION', message: 'no' },
          };
        }
        applied.set(mutationId, (applied.get(mutationId) ?? 0) + 1);
        const held = versions.get(key) ?? 0;
        // A CREATE is made on nothing; any other change on the version the server holds.
        const stale = change.operation === 'CREATE' ? held !== 0 : change.clientVersion !== held;
        if (stale) {
          refused.push(`${change.operation} ${key} on ${change.clientVersion}, server at ${held}`);
          return {
            ...base,
            status: 'REJECTED' as const,
            error: { code: 'VERSION_MISMATCH', message: 'stale' },
          };
        }
        const version = held + 1;
        versions.set(key, version);
        const previous = [...feed].reverse().find((c) => `${c.entityType}/${c.entityId}` === key);
        const payload =
          change.operation === 'DELETE'
            ? null
            : change.operation === 'CREATE'
              ? (change.payload ?? {})
              : { ...(previous?.payload ?? {}), ...(change.payload ?? {}) };
        feed.push({
          entityType: change.entityType,
          entityId: change.entityId,
          operation: change.operation,
          payload,
          version,
          clientVersion: version,
          timestamp: change.timestamp,
          updatedBy: 'u1',
          deviceId: request.deviceId,
          checksum: null,
          deletedAt: change.operation === 'DELETE' ? change.timestamp : null,
          seq: feed.length + 1,
        });
        return { ...base, status: 'APPLIED' as const, version };
      });
      return json(200, {
        syncToken: token(),
        changes: feed.slice(cursor(request.syncToken)),
        hasMore: false,
        results,
        conflicts: [],
        serverTime: new Date().toISOString(),
      });
    }
    const request = body as DeltaRequest;
    return json(200, {
      changes: feed.slice(cursor(request.syncToken)),
      nextPageToken: null,
      hasMore: false,
      syncToken: token(),
    });
  };
  return {
    fetch,
    applied,
    refused,
    refuse,
    tokens,
    versions,
    setOnline: (value: boolean) => (online = value),
  };
}

const storages: Array<[string, () => [LocalStore, LocalStore]]> = [
  [
    'one memoryStorage object',
    () => {
      const shared = memoryStorage();
      return [shared, shared];
    },
  ],
  [
    'two connections to one IndexedDB database',
    () => {
      const name = `shared-${Math.random()}`;
      return [indexedDbStorage(name), indexedDbStorage(name)];
    },
  ],
  [
    'two connections to one SQLite file',
    () => {
      const path = join(dir, `shared-${Math.random()}.db`);
      return [sqliteStorage(path, { watchIntervalMs: 20 }), sqliteStorage(path)];
    },
  ],
];

type Note = { text: string; by: string; seen?: string };

describe.each(storages)('two clients on %s', (_name, openPair) => {
  const clients = (server: ReturnType<typeof versionedServer>): [SyncClient, SyncClient] => {
    const [first, second] = openPair();
    const make = (storage: LocalStore) =>
      createSyncClient({
        url: 'http://sync.test',
        getToken: () => 'token',
        storage,
        fetch: server.fetch,
        realtime: false,
        firstSync: 'feed',
      });
    return [make(first), make(second)];
  };

  it('loses no offline write and sends each exactly once when both sync at once', async () => {
    const server = versionedServer();
    const [a, b] = clients(server);
    try {
      const notesA = a.collection<Note>('note');
      const notesB = b.collection<Note>('note');
      // Interleaved one by one, then in concurrent bursts; each edits the other's notes too.
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push(await notesA.create({ text: `a${i}`, by: 'a' }));
        ids.push(await notesB.create({ text: `b${i}`, by: 'b' }));
      }
      const burst = await Promise.all([
        ...[0, 1, 2].map((i) => notesA.create({ text: `burst a${i}`, by: 'a' })),
        ...[0, 1, 2].map((i) => notesB.create({ text: `burst b${i}`, by: 'b' })),
      ]);
      ids.push(...burst);
      await Promise.all([
        notesA.update(ids[1]!, { seen: 'a' }),
        notesB.update(ids[0]!, { seen: 'b' }),
        notesB.update(ids[1]!, { text: 'b0 edited' }),
      ]);
      await notesA.delete(ids[3]!);
      // Offline, each already shows the other's changes.
      const offlineA = await notesA.find();
      expect(offlineA).toHaveLength(13);
      expect(await notesB.find()).toEqual(offlineA);

      server.setOnline(true);
      const [summaryA, summaryB] = await Promise.all([a.syncNow(), b.syncNow()]);
      expect(summaryA.pushed + summaryB.pushed).toBe(18);
      expect(server.refused).toEqual([]);
      expect(server.applied.size).toBe(18);
      expect([...server.applied.values()].every((times) => times === 1)).toBe(true);

      const expected = await notesA.find();
      expect(expected).toHaveLength(13);
      expect(await notesB.find()).toEqual(expected);
      expect(expected.find((note) => note.id === ids[1])).toMatchObject({
        text: 'b0 edited',
        seen: 'a',
      });
      expect(expected.find((note) => note.id === ids[3])).toBeUndefined();
      expect(a.status).toMatchObject({ pending: 0, failed: 0 });
      expect(b.status).toMatchObject({ pending: 0, failed: 0 });
      expect(await a.deviceId()).toBe(await b.deviceId());
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("shows each client the other's writes and tells its subscribers", async () => {
    const server = versionedServer();
    const [a, b] = clients(server);
    try {
      let told = 0;
      b.collection('note').subscribe(() => (told += 1));
      await b.ready();
      const id = await a.collection<Note>('note').create({ text: 'from a', by: 'a' });
      expect(await b.collection<Note>('note').get(id)).toMatchObject({ text: 'from a' });
      await vi.waitFor(() => expect(told).toBeGreaterThan(0));
      await vi.waitFor(() => expect(b.status.pending).toBe(1));

      // What one client's sync confirms, the other shows as confirmed: nothing left pending.
      server.setOnline(true);
      await a.syncNow();
      expect(a.status.lastSyncAt).not.toBeNull();
      await vi.waitFor(() =>
        expect(b.status).toMatchObject({ pending: 0, lastSyncAt: a.status.lastSyncAt }),
      );
      // The other client's next run finds the work done and does not redo it.
      expect(await b.syncNow()).toMatchObject({ pushed: 0 });
      expect([...server.applied.values()]).toEqual([1]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.each(storages)('a client on %s that did not sync', (_name, openPair) => {
  it('writes back nothing stale: it starts from the token, failures and retries the other left', async () => {
    const server = versionedServer();
    const [first, second] = openPair();
    const make = (storage: LocalStore) =>
      createSyncClient({
        url: 'http://sync.test',
        getToken: () => 'token',
        storage,
        fetch: server.fetch,
        realtime: false,
        firstSync: 'feed',
      });
    const [a, b] = [make(first), make(second)];
    try {
      server.setOnline(true);
      server.refuse.add('bad');
      await b.ready();
      await a.collection<Note>('note').create({ text: 'good', by: 'a' });
      await a.collection<Note>('note').create({ text: 'bad', by: 'a' });
      expect(await a.syncNow()).toMatchObject({ pushed: 1, failed: 1 });

      // B never synced: it reads A's outcome, not its own old view of the outbox.
      expect(await b.failed()).toMatchObject([{ error: { code: 'SCHEMA_VIOLATION' } }]);
      server.refuse.clear();
      expect(await b.retryFailed()).toBe(1);
      expect(await a.failed()).toEqual([]);

      // A's next run pushes what B put back; B's run after it starts from the token A reached.
      expect(await a.syncNow()).toMatchObject({ pushed: 1, failed: 0 });
      const afterA = server.tokens.length;
      await b.syncNow();
      const fromB = server.tokens.slice(afterA);
      // Two changes in the feed: B starts where A left the storage, not where B last looked.
      expect(fromB[0]).toEqual({ path: '/api/sync/delta', token: 'v1.2.0.scope' });
      expect([...server.applied.values()]).toEqual([1, 1]);
      expect(b.status).toMatchObject({ pending: 0, failed: 0 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('two clients opening one new storage at the same moment', () => {
  it('agree on one device id', async () => {
    const name = `fresh-${Math.random()}`;
    const server = versionedServer();
    const open = () =>
      createSyncClient({
        url: 'http://sync.test',
        getToken: () => 'token',
        storage: indexedDbStorage(name),
        fetch: server.fetch,
        realtime: false,
        firstSync: 'feed',
      });
    const [a, b] = [open(), open()];
    try {
      const [idA, idB] = await Promise.all([a.deviceId(), b.deviceId()]);
      expect(idA).toBe(idB);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
