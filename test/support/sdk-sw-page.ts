// The page of the Background Sync browser test: the SDK (bundled by esbuild) on IndexedDB, with
// its service worker (sdk-sw-worker.ts, at /sw.js) registered and registerBackgroundSync on. The
// page never calls syncNow(); its own sync loop backs off for a minute after a failure, so what
// reaches the server after that was sent by the worker. Driven through `window.bg`.
import {
  createSyncClient,
  indexedDbStorage,
  type SyncClient,
  type SyncStatus,
} from '../../packages/client/src/index.js';
import { registerBackgroundSync } from '../../packages/client/src/sw/index.js';

/** What the worker reports after each drain (see sdk-sw-worker.ts). */
export interface DrainReport {
  type: 'syncline-test:drain';
  pushed?: number;
  error?: string;
}

let client: SyncClient | undefined;
const opened = () => {
  if (!client) throw new Error('open() first');
  return client;
};
/** Every request this page's client made, and whether an answer came. */
const requests: Array<{ path: string; answered: boolean }> = [];
const drains: DrainReport[] = [];
const errors: string[] = [];

navigator.serviceWorker.addEventListener('message', (event: MessageEvent<DrainReport>) => {
  if (event.data?.type === 'syncline-test:drain') drains.push(event.data);
});

const bg = {
  /** Registers the worker for `database`, opens a started client on it; resolves to facts. */
  async open(token: string, database: string) {
    await navigator.serviceWorker.register(`/sw.js?db=${encodeURIComponent(database)}`);
    const registration = await navigator.serviceWorker.ready;
    client = createSyncClient({
      url: location.origin,
      getToken: () => token,
      storage: indexedDbStorage(database),
      collections: { note: {} },
      realtime: false,
      syncIntervalMs: 60 * 60_000,
      retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 },
      fetch: async (input, init) => {
        const path = new URL(input).pathname;
        try {
          const response = await fetch(input, init);
          requests.push({ path, answered: true });
          return response;
        } catch (error) {
          requests.push({ path, answered: false });
          throw error;
        }
      },
    });
    registerBackgroundSync(client, {
      registration,
      getToken: () => token,
      onError: (error) => errors.push(String(error)),
    });
    client.start();
    return {
      deviceId: await client.deviceId(),
      scope: registration.scope,
      backgroundSync: 'sync' in registration && 'SyncManager' in window,
    };
  },
  create: (text: string) => opened().collection('note').create({ text }),
  update: (id: string, text: string) => opened().collection('note').update(id, { text }),
  find: () => opened().collection('note').find(),
  status: (): SyncStatus => opened().status,
  requests: () => requests,
  drains: () => drains,
  errors: () => errors,
  /** The paths in Cache Storage: what the worker's Workbox precached. */
  async cached(): Promise<string[]> {
    const paths: string[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
    }
    return paths.sort();
  },
  /** The sync tags the registration holds (Background Sync's own list). */
  async tags(): Promise<string[]> {
    const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & {
      sync?: { getTags(): Promise<string[]> };
    };
    return (await registration.sync?.getTags()) ?? [];
  },
};

export type BgApi = typeof bg;
(globalThis as unknown as { bg: BgApi }).bg = bg;
