// The service worker of the Background Sync browser test, written as for Workbox's
// injectManifest (the test bundles it as a classic script and puts the precache manifest in place
// of `self.__WB_MANIFEST`): Workbox precaches the page, and the SDK's /sw entry handles the
// outbox's sync event, where a client in the worker drains the IndexedDB outbox the page (same
// origin, database named in the script URL) wrote, with a token asked of the page. After each
// drain it tells the pages what happened, for the test to read.
import { precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { createSyncClient, indexedDbStorage } from '../../packages/client/src/index.js';
import { handleBackgroundSync, tokenFromPages } from '../../packages/client/src/sw/index.js';
import type { DrainReport } from './sdk-sw-page.js';

interface WorkerScope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: {
    claim(): Promise<void>;
    matchAll(options: {
      type: 'window';
      includeUncontrolled: boolean;
    }): Promise<Array<{ postMessage(message: DrainReport): void }>>;
  };
  addEventListener(
    type: 'install' | 'activate',
    listener: (event: { waitUntil(promise: Promise<unknown>): void }) => void,
  ): void;
}
const worker = globalThis as unknown as WorkerScope;
const database = new URL(worker.location.href).searchParams.get('db') ?? 'syncline';

precacheAndRoute((self as unknown as { __WB_MANIFEST: PrecacheEntry[] }).__WB_MANIFEST);
worker.addEventListener('install', (event) => event.waitUntil(worker.skipWaiting()));
worker.addEventListener('activate', (event) => event.waitUntil(worker.clients.claim()));

const report = async (message: DrainReport) => {
  const pages = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const page of pages) page.postMessage(message);
};

handleBackgroundSync({
  createClient: () =>
    createSyncClient({
      url: worker.location.origin,
      getToken: tokenFromPages(),
      storage: indexedDbStorage(database),
      collections: { note: {} },
      realtime: false,
    }),
  onDrain: ({ summary, error }) =>
    void report({
      type: 'syncline-test:drain',
      ...(summary ? { pushed: summary.pushed } : {}),
      ...(error ? { error: String(error) } : {}),
    }),
});
