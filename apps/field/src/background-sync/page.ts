// Background Sync, the page's half, through the SDK's `@syncline/client/sw`: whenever changes wait
// in the outbox the page asks the browser for a `sync` event, so that the service worker
// (./worker.ts) sends them once a connection returns even if the app was closed meanwhile; where
// the browser has no Background Sync, the helper syncs on `online` and on coming to the front.
// The page also answers the worker's requests for its token.
import type { SyncClient } from '@syncline/client';
import { backgroundSyncDefaults, registerBackgroundSync } from '@syncline/client/sw';

export const outboxSyncTag = backgroundSyncDefaults.tag;

export function startBackgroundSync(
  client: SyncClient,
  options: { registration: ServiceWorkerRegistration; getToken: () => string },
): () => void {
  return registerBackgroundSync(client, {
    registration: options.registration,
    tag: outboxSyncTag,
    getToken: options.getToken,
    onError: (error) => console.warn('Background Sync:', error),
  });
}
