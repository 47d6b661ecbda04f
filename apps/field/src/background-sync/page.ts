// Background Sync, the page's half: whenever changes wait in the outbox, the page asks the
// browser for a `sync` event under one tag, so that the service worker (./worker.ts) sends them
// once a connection returns even if the app was closed meanwhile. While the page is open the
// SDK's own online trigger drains the outbox; this covers the time after. Browsers without
// Background Sync simply never fire the event.
//
// This module and ./worker.ts are the app's whole Background Sync hookup: they are what the SDK's
// `@syncline/client/sw` helper (registerBackgroundSync / handleBackgroundSync) replaces.
import type { SyncClient } from '@syncline/client';

export const outboxSyncTag = 'syncline-field-outbox';

interface SyncManagerLike {
  register(tag: string): Promise<void>;
}

/** Asks for a background sync each time the outbox grows; returns the unsubscribe. */
export function registerOutboxSync(
  client: SyncClient,
  registration: ServiceWorkerRegistration,
): () => void {
  const sync = (registration as ServiceWorkerRegistration & { sync?: SyncManagerLike }).sync;
  if (!sync) return () => undefined;
  let pending = 0;
  const ask = () => {
    // Refused when the user turned background sync off for the site: the page still syncs.
    sync.register(outboxSyncTag).catch(() => undefined);
  };
  if (client.status.pending > 0) ask();
  return client.on('status', (status) => {
    if (status.pending > pending) ask();
    pending = status.pending;
  });
}
