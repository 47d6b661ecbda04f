// The field app's service worker: precaches the app shell (the list vite-plugin-pwa injects at
// build time) so that the app opens with no network after its first visit, answers every
// navigation inside the app with the cached index.html, and sends queued changes in the
// background (./background-sync/worker.ts).
import { clientsClaim } from 'workbox-core';
import {
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  precacheAndRoute,
  type PrecacheEntry,
} from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { handleOutboxSync } from './background-sync/worker.js';

declare const self: {
  readonly location: { readonly origin: string };
  __WB_MANIFEST: Array<PrecacheEntry | string>;
  skipWaiting(): Promise<void>;
};

const base = import.meta.env.BASE_URL;

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// The API is never cached: only the app's own pages, under its base path.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL(`${base}index.html`), {
    allowlist: [new RegExp(`^${base}`)],
  }),
);

// A new version takes over at once: the app keeps no state in the worker.
void self.skipWaiting();
clientsClaim();

handleOutboxSync(self);
