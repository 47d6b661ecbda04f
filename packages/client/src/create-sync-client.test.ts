// The public client: the device id kept per storage, encryption at rest, subscriptions and
// events, the status object, and shared concurrent syncs. Network scripted; storage real.
import type { DeltaRequest, PushRequest } from '@syncline/protocol';
import { describe, expect, it } from 'vitest';
import {
  acceptPush,
  emptyPage,
  healthyServer,
  json,
  scriptedFetch,
  type Handler,
} from '../../../test/support/sdk-fetch.js';
import { createSyncClient, type SyncClientOptions } from './create-sync-client.js';
import type { LocalStore } from './core/ports.js';
import type { QueryableCollection, SyncStatusSource } from './react/types.js';
import { memoryStorage } from './store/index.js';

function makeClient(
  handler: Handler = healthyServer,
  options: Partial<SyncClientOptions> & { storage?: LocalStore } = {},
) {
  const network = scriptedFetch(handler);
  const client = createSyncClient({
    url: 'http://sync.test',
    getToken: () => 'token-1',
    storage: memoryStorage(),
    fetch: network.fetch,
    realtime: false,
    // The scripted server speaks the feed only; the snapshot has its own tests.
    firstSync: 'feed',
    ...options,
  });
  return { client, ...network };
}

/** A storage whose close() leaves the data for the next client (one device, app restarted). */
const reusable = (inner: LocalStore): LocalStore => ({ ...inner, close: async () => undefined });

describe('createSyncClient', () => {
  it('generates a device id once and keeps it in the storage; a given one wins', async () => {
    const storage = reusable(memoryStorage());
    const first = makeClient(healthyServer, { storage });
    const id = await first.client.deviceId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    await first.client.syncNow();
    expect((first.calls[0]?.body as DeltaRequest).deviceId).toBe(id);

    const again = makeClient(healthyServer, { storage });
    expect(await again.client.deviceId()).toBe(id);
    const other = makeClient(healthyServer, { storage: memoryStorage() });
    expect(await other.client.deviceId()).not.toBe(id);
    const given = makeClient(healthyServer, { storage, deviceId: 'tablet-3' });
    expect(await given.client.deviceId()).toBe('tablet-3');
  });

  it('creates UUIDv7 ids, writes locally at once and tells subscribers', async () => {
    const { client, calls } = makeClient();
    const tasks = client.collection<{ title: string; done?: boolean }>('task');
    const seen: string[] = [];
    const unsubscribe = tasks.subscribe(() => seen.push('task'));
    client.collection('other').subscribe(() => seen.push('other'));
    const changes: unknown[] = [];
    client.on('change', (change) => changes.push(change));

    const id = await tasks.create({ title: 'Count stock' });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    await tasks.update(id, { done: true });
    expect(await tasks.get(id)).toEqual({ id, title: 'Count stock', done: true });
    expect(await tasks.find({ done: true })).toHaveLength(1);
    expect(await tasks.find((task) => task.title.startsWith('X'))).toHaveLength(0);
    expect(calls).toHaveLength(0);
    expect(seen).toEqual(['task', 'task']);
    expect(changes).toEqual([{ types: ['task'] }, { types: ['task'] }]);
    expect(client.status).toMatchObject({ pending: 2, failed: 0, state: 'idle' });

    unsubscribe();
    await tasks.delete(id);
    expect(seen).toEqual(['task', 'task']);
    expect(await tasks.get(id)).toBeUndefined();
    expect(() => client.collection('Bad Name')).toThrow('not a valid entity type');
    expect(client.collection('task')).toBe(client.collection('task'));
  });

  it('refuses types outside the configured collections and sends their conflict strategy', async () => {
    const { client, pushes } = makeClient(healthyServer, {
      collections: { visit: { conflictStrategy: 'MANUAL' }, patient: {} },
      conflictStrategy: 'LAST_WRITE_WINS',
    });
    expect(() => client.collection('asset')).toThrow('not one of the configured collections');
    await client.collection('visit').create({ at: 'now' });
    await client.collection('patient').create({ name: 'A' });
    await client.syncNow();
    const request = pushes()[0]?.body as PushRequest;
    expect(request.entityTypes).toEqual(['patient', 'visit']);
    expect(request.changes.map((change) => change.conflictStrategy)).toEqual([
      'MANUAL',
      'LAST_WRITE_WINS',
    ]);
  });

  it('has the shape the React hooks are built on', () => {
    const { client } = makeClient();
    const source: SyncStatusSource = client;
    const collection: QueryableCollection<{ title: string }> = client.collection<{ title: string }>(
      'task',
    );
    expect(typeof source.on('status', () => undefined)).toBe('function');
    expect(typeof collection.subscribe(() => undefined)).toBe('function');
  });

  it('keeps one status object until something in it changes', async () => {
    const { client } = makeClient();
    await client.ready();
    const before = client.status;
    expect(client.status).toBe(before);
    const statuses: unknown[] = [];
    client.on('status', (status) => statuses.push(status));
    await client.collection('task').create({ title: 'x' });
    expect(client.status).not.toBe(before);
    expect(client.status.pending).toBe(1);
    await client.syncNow();
    expect(client.status).toMatchObject({ pending: 0, state: 'idle' });
    expect(client.status.lastSyncAt).not.toBeNull();
    expect(statuses.length).toBeGreaterThanOrEqual(3);
  });

  it('concurrent syncNow() calls share one run', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { client, calls } = makeClient(async (call) => {
      await gate;
      return call.path === '/api/sync'
        ? json(200, acceptPush(call.body as PushRequest))
        : json(200, emptyPage);
    });
    await client.collection('task').create({ title: 'x' });
    const runs = [client.syncNow(), client.syncNow(), client.syncNow()];
    release();
    const [a, b, c] = await Promise.all(runs);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(a).toMatchObject({ pushed: 1, failed: 0 });
    expect(calls.map((call) => call.path)).toEqual(['/api/sync']);
  });

  it('encrypts the local store when asked: no plaintext inside, the same data after reopening', async () => {
    const inner = memoryStorage();
    const encryption = { passphrase: 'correct horse', iterations: 1000 };
    const first = makeClient(healthyServer, { storage: reusable(inner), encryption });
    const id = await first.client.collection('patient').create({ name: 'Amina Diallo' });
    const raw = JSON.stringify([await inner.listOutbox(), await inner.getMeta('sync.deviceId')]);
    expect(raw).not.toContain('Amina');
    expect(raw).not.toContain(await first.client.deviceId());

    const second = makeClient(healthyServer, { storage: reusable(inner), encryption });
    expect(await second.client.collection('patient').get(id)).toEqual({ id, name: 'Amina Diallo' });
    expect(await second.client.deviceId()).toBe(await first.client.deviceId());

    const wrong = makeClient(healthyServer, {
      storage: reusable(inner),
      encryption: { passphrase: 'wrong', iterations: 1000 },
    });
    await expect(wrong.client.ready()).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
  });

  it('refuses to turn encryption on over a store that synced in clear, instead of failing later', async () => {
    const inner = memoryStorage();
    const plain = makeClient(healthyServer, { storage: reusable(inner) });
    await plain.client.syncNow(); // nothing queued, but the device id and sync token are kept
    expect(await inner.listOutbox()).toEqual([]);
    const encrypted = makeClient(healthyServer, {
      storage: reusable(inner),
      encryption: { passphrase: 'p', iterations: 1000 },
    });
    await expect(encrypted.client.ready()).rejects.toMatchObject({
      code: 'NOT_AN_ENCRYPTED_STORE',
    });
  });

  it('reports pull progress as an event: pulled n of about N', async () => {
    const change = (id: string, seq: number) => ({
      entityType: 'task',
      entityId: id,
      operation: 'CREATE' as const,
      payload: { title: id },
      version: 1,
      clientVersion: 1,
      timestamp: '2026-01-01T00:00:00.000Z',
      updatedBy: 'u',
      deviceId: null,
      checksum: null,
      deletedAt: null,
      seq,
    });
    const pages = [
      { ...emptyPage, changes: [change('a', 1)], hasMore: true, syncToken: 'v1.1.0.000000000000' },
      { ...emptyPage, changes: [change('b', 2), change('c', 3)], syncToken: 'v1.3.0.000000000000' },
    ];
    const { client } = makeClient((call) =>
      call.path === '/api/sync/status'
        ? json(200, { syncToken: 'v1.3.0.000000000000' })
        : json(200, pages.shift() ?? emptyPage),
    );
    const progress: unknown[] = [];
    client.on('progress', (p) => progress.push(p));
    expect(await client.syncNow()).toMatchObject({ pulled: 3 });
    expect(progress).toEqual([
      { phase: 'pull', pushed: 0, pulled: 1, total: 3 },
      { phase: 'pull', pushed: 0, pulled: 3, total: 3 },
    ]);
    expect((await client.collection('task').find()).map((task) => task.id)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });
});
