// A fresh device's first sync through the SDK against the real server: each entity's latest state
// once (snapshot pages, then the delta feed from where the snapshot began), progress reported in
// onProgress and in status, writes landing between pages received exactly once, and a snapshot
// cut off by a dropped connection resumed from its stored cursor, not begun again.
import type { PushRequest, ServerChange } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSyncClient,
  memoryStorage,
  type SyncProgress,
} from '../../packages/client/src/index.js';
import { change, push } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type SyncProxy } from '../support/sync-proxy.js';

let server: ServerProcess;
let proxy: SyncProxy;
let dropNext: ((path: string, body: unknown) => boolean) | undefined;

beforeAll(async () => {
  server = await startServer();
  proxy = await startSyncProxy(server.url, {
    intercept: (request) => (dropNext?.(request.path, request.body) ? 'drop' : undefined),
  });
});
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

const ids = Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, '0')}`);

async function seed(tenant: string) {
  const token = server.token('writer', tenant);
  const send = (changes: PushRequest['changes']) =>
    push(server.url, token, { deviceId: 'seeder', changes });
  await send(
    ids.map((id) =>
      change({
        entityType: 'note',
        entityId: id,
        operation: 'CREATE',
        payload: { v: 1 },
        clientVersion: 1,
      }),
    ),
  );
  // Several versions of some entities: a first sync must bring only the latest.
  await send(
    ['n01', 'n02'].map((id) =>
      change({
        entityType: 'note',
        entityId: id,
        operation: 'UPDATE',
        payload: { v: 2 },
        clientVersion: 1,
      }),
    ),
  );
  await send(
    ['n01'].map((id) =>
      change({
        entityType: 'note',
        entityId: id,
        operation: 'UPDATE',
        payload: { v: 3 },
        clientVersion: 2,
      }),
    ),
  );
  return send;
}

/** A fetch that keeps every server change the client received, by route. */
function recordingFetch(before?: (path: string, body: unknown) => Promise<void>) {
  const received: Array<{ path: string; change: ServerChange }> = [];
  const fetchImpl = async (input: string, init?: RequestInit) => {
    const path = new URL(input).pathname;
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    await before?.(path, body);
    const response = await fetch(input, init);
    const copy = (await response
      .clone()
      .json()
      .catch(() => ({}))) as { changes?: ServerChange[] };
    for (const c of copy.changes ?? []) received.push({ path, change: c });
    return response;
  };
  return { received, fetch: fetchImpl };
}

describe('first sync of a fresh device', () => {
  it('brings each entity once at its latest version, with progress, and writes made meanwhile once', async () => {
    const tenant = 'first-sync-sdk';
    const send = await seed(tenant);
    let snapshotCalls = 0;
    const recorder = recordingFetch(async (path) => {
      if (path !== '/api/sync/snapshot' || ++snapshotCalls !== 2) return;
      // Between the first and the second page: one entity already sent changes, one not yet sent
      // changes, one not yet sent is deleted, one new one sorts among those not yet sent.
      await send([
        change({
          entityType: 'note',
          entityId: 'n03',
          operation: 'UPDATE',
          payload: { v: 9 },
          clientVersion: 1,
        }),
        change({
          entityType: 'note',
          entityId: 'n15',
          operation: 'UPDATE',
          payload: { v: 9 },
          clientVersion: 1,
        }),
        change({ entityType: 'note', entityId: 'n20', operation: 'DELETE', clientVersion: 1 }),
        change({
          entityType: 'note',
          entityId: 'n12x',
          operation: 'CREATE',
          payload: { v: 1 },
          clientVersion: 1,
        }),
      ]);
    });
    const progress: SyncProgress[] = [];
    const statuses: unknown[] = [];
    const client = createSyncClient({
      url: server.url,
      getToken: () => server.token('reader', tenant),
      storage: memoryStorage(),
      realtime: false,
      fetch: recorder.fetch,
      snapshotPageSize: 10,
      onProgress: (p) => progress.push(p),
    });
    client.on('status', (s) => statuses.push(s.firstSync));
    try {
      await client.syncNow();
      const notes = await client.collection<{ v: number }>('note').find();
      const expected = [...ids.filter((id) => id !== 'n20'), 'n12x'].sort();
      expect(notes.map((n) => n.id)).toEqual(expected);
      expect(notes.find((n) => n.id === 'n01')?.v).toBe(3);
      expect(notes.find((n) => n.id === 'n03')?.v).toBe(9);
      expect(notes.find((n) => n.id === 'n15')?.v).toBe(9);

      const seen = recorder.received.map((r) => `${r.change.entityId}@${r.change.version}`);
      expect(new Set(seen).size).toBe(seen.length);
      // Only the latest state of the seeded entities, never their older versions.
      expect(seen).not.toContain('n01@1');
      expect(seen).not.toContain('n01@2');
      const fromFeed = recorder.received.filter((r) => r.path !== '/api/sync/snapshot');
      expect(fromFeed.map((r) => r.change.entityId).sort()).toEqual(['n03', 'n12x', 'n15', 'n20']);

      const snapshots = progress.filter((p) => p.phase === 'snapshot');
      expect(snapshots.map((p) => [p.pulled, p.total])).toEqual([
        [10, 25],
        // n15 and n20 changed after the snapshot began: the feed brings them, not the snapshot.
        [20, 25],
        [23, 23],
      ]);
      expect(statuses).toContainEqual({ pulled: 10, total: 25 });
      expect(client.status.firstSync).toBeNull();
    } finally {
      await client.close();
    }
  });

  it('resumes a snapshot cut off by a dropped connection from its stored cursor', async () => {
    const tenant = 'first-sync-resume';
    await seed(tenant);
    const storage = memoryStorage();
    const keep = { ...storage, close: async () => undefined };
    const open = () =>
      createSyncClient({
        url: proxy.url,
        getToken: () => server.token('reader', tenant),
        storage: keep,
        realtime: false,
        snapshotPageSize: 10,
      });
    let snapshotRequests = 0;
    dropNext = (path) => path === '/api/sync/snapshot' && ++snapshotRequests === 2;
    const first = open();
    await expect(first.syncNow()).rejects.toThrow();
    expect(first.status.firstSync).toEqual({ pulled: 10, total: 25 });
    expect(await first.collection('note').find()).toHaveLength(10);
    await first.close();
    dropNext = undefined;

    // The app starts again: the snapshot goes on from page 2 with the cursor it kept.
    const seenBefore = proxy.requests.length;
    const again = open();
    try {
      expect(again.status.firstSync).toBeNull();
      await again.ready();
      expect(again.status.firstSync).toEqual({ pulled: 10, total: 25 });
      await again.syncNow();
      const later = proxy.requests.slice(seenBefore).filter((r) => r.path === '/api/sync/snapshot');
      expect(later).toHaveLength(2);
      expect((later[0]?.body as { cursor?: string }).cursor).toMatch(/^s1\./);
      const notes = await again.collection('note').find();
      expect(notes.map((n) => n.id)).toEqual(ids);
      expect(again.status.firstSync).toBeNull();
      // Synced since: the next run pulls the feed only.
      await again.syncNow();
      const after = proxy.requests.slice(seenBefore).filter((r) => r.path === '/api/sync/snapshot');
      expect(after).toHaveLength(2);
    } finally {
      await again.close();
    }
  });
});
