// Background Sync with fakes of the browser's parts (the registration, the worker's scope, the
// pages) around real clients on one shared storage: a page client writes, a worker client drains.
// Real Chromium runs it in test/e2e/sdk-background-sync.browser.test.ts.
import type { PushRequest } from '@syncline/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  acceptPush,
  emptyPage,
  json,
  networkDown,
  scriptedFetch,
  type Handler,
} from '../../../../test/support/sdk-fetch.js';
import { createSyncClient } from '../create-sync-client.js';
import type { LocalStore } from '../core/ports.js';
import type { NetworkEvent, NetworkSignal } from '../core/sync-ports.js';
import { memoryStorage } from '../store/index.js';
import {
  backgroundSyncDefaults,
  drainOutbox,
  handleBackgroundSync,
  NoTokenFromPagesError,
  OutboxNotDrainedError,
  registerBackgroundSync,
  tokenFromPages,
  type ServiceWorkerContainerLike,
  type SyncEventLike,
  type SyncEventScopeLike,
} from './index.js';

const server: Handler = (call) =>
  call.path === '/api/sync'
    ? json(200, acceptPush(call.body as PushRequest))
    : json(200, emptyPage);

/** One storage shared by page and worker; a client's close() leaves it open for the other. */
const shared = (inner: LocalStore): LocalStore => ({ ...inner, close: async () => undefined });

function pageClient(storage: LocalStore, handler: Handler = networkDown) {
  const network = scriptedFetch(handler);
  const client = createSyncClient({
    url: 'http://sync.test',
    getToken: () => 'page-token',
    storage,
    fetch: network.fetch,
    realtime: false,
    firstSync: 'feed',
  });
  return { client, ...network };
}

/** A registration with Background Sync: records the tags asked for. */
function syncRegistration(register: (tag: string) => Promise<void> = async () => undefined) {
  const tags: string[] = [];
  return {
    tags,
    registration: {
      sync: {
        register: async (tag: string) => {
          tags.push(tag);
          await register(tag);
        },
      },
    },
  };
}

/** A NetworkSignal the test fires by hand. */
function manualNetwork(): NetworkSignal & { fire(event: NetworkEvent): void } {
  const listeners = new Set<(event: NetworkEvent) => void>();
  return {
    isOnline: () => true,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    fire: (event) => listeners.forEach((listener) => listener(event)),
  };
}

/** The worker's global scope: `sync` listeners, and a way to fire one as the browser does. */
function workerScope() {
  const target = new EventTarget();
  const wrapped = new Map<(event: SyncEventLike) => void, EventListener>();
  const scope: SyncEventScopeLike = {
    addEventListener(_type, listener) {
      const inner = (event: Event) => listener(event as unknown as SyncEventLike);
      wrapped.set(listener, inner);
      target.addEventListener('sync', inner);
    },
    removeEventListener(_type, listener) {
      const inner = wrapped.get(listener);
      if (inner) target.removeEventListener('sync', inner);
    },
  };
  /** Fires a sync event; resolves to what it waited for, or undefined when nobody handled it. */
  const fire = (tag: string): Promise<unknown> | undefined => {
    let waited: Promise<unknown> | undefined;
    const event = Object.assign(new Event('sync'), {
      tag,
      waitUntil: (promise: Promise<unknown>) => (waited = promise),
    });
    target.dispatchEvent(event);
    return waited;
  };
  return { scope, fire };
}

/** navigator.serviceWorker of one page, and that page as the worker's `clients` see it. */
function pageContainer() {
  const listeners = new Set<(event: MessageEvent) => void>();
  const container: ServiceWorkerContainerLike & { started: boolean } = {
    ready: new Promise(() => undefined),
    started: false,
    addEventListener: (_type, listener) => listeners.add(listener),
    removeEventListener: (_type, listener) => listeners.delete(listener),
    startMessages() {
      container.started = true;
    },
  };
  const asClient = {
    postMessage(message: unknown, transfer: Transferable[]) {
      const event = { data: message, ports: transfer } as unknown as MessageEvent;
      for (const listener of listeners) listener(event);
    },
  };
  return { container, asClient };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('registerBackgroundSync (page side)', () => {
  it('asks for a sync each time the outbox gains changes, with the default tag', async () => {
    const { client } = pageClient(memoryStorage());
    const { tags, registration } = syncRegistration();
    const network = manualNetwork();
    const stop = registerBackgroundSync(client, { registration, network });
    const notes = client.collection('note');
    await notes.create({ text: 'one' });
    await settle();
    expect(tags).toEqual([backgroundSyncDefaults.tag]);
    await notes.create({ text: 'two' });
    await notes.create({ text: 'three' });
    await settle();
    expect(tags).toHaveLength(3);
    // With Background Sync, the page's own signals leave the syncing to the worker.
    const syncNow = vi.spyOn(client, 'syncNow');
    network.fire('online');
    expect(syncNow).not.toHaveBeenCalled();
    stop();
    await notes.create({ text: 'after stop' });
    await settle();
    expect(tags).toHaveLength(3);
    await client.close();
  });

  it('asks once the registration is known for changes queued before, under its own tag', async () => {
    const storage = shared(memoryStorage());
    const earlier = pageClient(storage).client;
    await earlier.collection('note').create({ text: 'from before' });
    await earlier.close();
    const { client } = pageClient(storage);
    await client.ready();
    let resolve!: (registration: ReturnType<typeof syncRegistration>['registration']) => void;
    const { tags, registration } = syncRegistration();
    registerBackgroundSync(client, {
      registration: new Promise((r) => (resolve = r)),
      tag: 'app-outbox',
      network: manualNetwork(),
    });
    await settle();
    expect(tags).toEqual([]);
    resolve(registration);
    await settle();
    expect(tags).toEqual(['app-outbox']);
    await client.close();
  });

  it('without Background Sync, syncs on online and foreground while changes wait, never offline', async () => {
    const { client, pushes } = pageClient(memoryStorage(), server);
    const network = manualNetwork();
    registerBackgroundSync(client, { registration: {}, network });
    await client.ready();
    network.fire('online');
    await settle();
    expect(pushes()).toHaveLength(0); // nothing waiting: no request
    await client.collection('note').create({ text: 'queued' });
    network.fire('offline');
    await settle();
    expect(pushes()).toHaveLength(0);
    network.fire('foreground');
    await vi.waitFor(() => expect(client.status.pending).toBe(0));
    expect(pushes()).toHaveLength(1);
    await client.collection('note').create({ text: 'again' });
    network.fire('online');
    await vi.waitFor(() => expect(pushes()).toHaveLength(2));
    await client.close();
  });

  it('falls back to the page signals after the browser refuses a sync registration', async () => {
    const { client, pushes } = pageClient(memoryStorage(), server);
    const refused = new DOMException('Background Sync is disabled.', 'NotAllowedError');
    const { tags, registration } = syncRegistration(() => Promise.reject(refused));
    const network = manualNetwork();
    const errors: unknown[] = [];
    registerBackgroundSync(client, { registration, network, onError: (e) => errors.push(e) });
    await client.collection('note').create({ text: 'queued' });
    await vi.waitFor(() => expect(errors).toEqual([refused]));
    expect(tags).toHaveLength(1);
    network.fire('online');
    await vi.waitFor(() => expect(pushes()).toHaveLength(1));
    await client.close();
  });
});

describe('handleBackgroundSync (worker side)', () => {
  it('drains the outbox the page wrote: each change pushed once, the client closed', async () => {
    const storage = shared(memoryStorage());
    const page = pageClient(storage);
    const notes = page.client.collection('note');
    for (const text of ['a', 'b', 'c']) await notes.create({ text });
    expect(page.client.status.pending).toBe(3);

    const { scope, fire } = workerScope();
    const worker = scriptedFetch(server);
    let closed = 0;
    const drained: unknown[] = [];
    handleBackgroundSync({
      scope,
      createClient() {
        const client = createSyncClient({
          url: 'http://sync.test',
          getToken: () => 'worker-token',
          storage,
          fetch: worker.fetch,
          realtime: false,
          firstSync: 'feed',
        });
        const close = client.close.bind(client);
        client.close = () => {
          closed += 1;
          return close();
        };
        return client;
      },
      onDrain: (result) => drained.push(result),
    });
    expect(fire('another-tag')).toBeUndefined();
    await fire(backgroundSyncDefaults.tag);
    const pushed = worker
      .pushes()
      .flatMap((call) => (call.body as PushRequest).changes.map((c) => c.mutationId));
    expect(pushed).toHaveLength(3);
    expect(new Set(pushed).size).toBe(3);
    expect(worker.pushes()[0]?.authorization).toBe('Bearer worker-token');
    expect(drained).toEqual([{ summary: expect.objectContaining({ pushed: 3 }) }]);
    expect(page.calls).toHaveLength(0); // the page made no request
    await vi.waitFor(async () => expect((await notes.find()).length).toBe(3));
    expect(page.client.status.pending).toBe(0);
    expect(closed).toBe(1);

    // Nothing queued: the next event makes no request.
    const before = worker.calls.length;
    await fire(backgroundSyncDefaults.tag);
    expect(worker.calls).toHaveLength(before);
    await page.client.close();
  });

  it('rejects the event while the server is unreachable, so the browser tries again', async () => {
    const storage = shared(memoryStorage());
    const page = pageClient(storage);
    await page.client.collection('note').create({ text: 'waits' });
    let up = false;
    const worker = scriptedFetch((call) => (up ? server(call) : networkDown()));
    const { scope, fire } = workerScope();
    const drained: Array<{ error?: unknown }> = [];
    handleBackgroundSync({
      scope,
      createClient: async () =>
        createSyncClient({
          url: 'http://sync.test',
          getToken: () => 'token',
          storage,
          fetch: worker.fetch,
          realtime: false,
          firstSync: 'feed',
        }),
      onDrain: (result) => drained.push(result),
    });
    await expect(fire(backgroundSyncDefaults.tag)).rejects.toThrow();
    expect(drained[0]?.error).toBeDefined();
    expect(page.client.status.pending).toBe(1);
    up = true;
    await fire(backgroundSyncDefaults.tag);
    await vi.waitFor(() => expect(page.client.status.pending).toBe(0));
    expect(worker.pushes()).toHaveLength(2); // the failed one and the one that went through
    await page.client.close();
  });

  it('a drain that leaves changes queued after its runs fails with OutboxNotDrainedError', async () => {
    // Another writer keeps adding while each run goes: the drain gives up after a few runs.
    const summary = { pushed: 1, pulled: 0, conflicts: 0, failed: 0, durationMs: 1 };
    const syncNow = vi.fn(async () => summary);
    const busy = { ready: async () => undefined, status: { pending: 1 }, syncNow, close: vi.fn() };
    await expect(drainOutbox(busy as never)).rejects.toBeInstanceOf(OutboxNotDrainedError);
    expect(syncNow).toHaveBeenCalledTimes(3);
  });

  it('stops listening when told to', async () => {
    const { scope, fire } = workerScope();
    const createClient = vi.fn(() => {
      throw new Error('not expected');
    });
    const stop = handleBackgroundSync({ scope, createClient });
    stop();
    expect(fire(backgroundSyncDefaults.tag)).toBeUndefined();
    expect(createClient).not.toHaveBeenCalled();
  });
});

describe('tokenFromPages', () => {
  it("asks the open pages over a MessageChannel and takes the page's token", async () => {
    const { client } = pageClient(memoryStorage());
    const silent = pageContainer(); // a page of the origin without getToken
    const giving = pageContainer();
    registerBackgroundSync(client, {
      registration: {},
      network: manualNetwork(),
      serviceWorker: giving.container,
      getToken: async () => 'token-from-page',
    });
    expect(giving.container.started).toBe(true);
    const matchAll = vi.fn(async () => [silent.asClient, giving.asClient]);
    const getToken = tokenFromPages({ scope: { clients: { matchAll } } });
    await expect(getToken()).resolves.toBe('token-from-page');
    expect(matchAll).toHaveBeenCalledWith({ type: 'window', includeUncontrolled: true });
    await client.close();
  });

  it('fails when no page is open, none has a token, or none answers in time', async () => {
    const none = tokenFromPages({ scope: { clients: { matchAll: async () => [] } } });
    await expect(none()).rejects.toBeInstanceOf(NoTokenFromPagesError);

    const { client } = pageClient(memoryStorage());
    const empty = pageContainer();
    const errors: unknown[] = [];
    registerBackgroundSync(client, {
      registration: {},
      network: manualNetwork(),
      serviceWorker: empty.container,
      getToken: () => {
        throw new Error('logged out');
      },
      onError: (error) => errors.push(error),
    });
    const refused = tokenFromPages({
      scope: { clients: { matchAll: async () => [empty.asClient] } },
    });
    await expect(refused()).rejects.toThrow('no open page has a token');
    expect(errors).toEqual([new Error('logged out')]);

    const silent = pageContainer();
    const slow = tokenFromPages({
      timeoutMs: 50,
      scope: { clients: { matchAll: async () => [silent.asClient] } },
    });
    await expect(slow()).rejects.toThrow('no page gave a token within 50 ms');
    await client.close();
  });
});
