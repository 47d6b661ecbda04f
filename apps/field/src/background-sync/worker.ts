// Background Sync, the service worker's half: on the page's `sync` tag, open the signed-in user's
// local store with the SDK and run one sync, so that queued changes leave the device although no
// page is open. A rejected sync makes the browser try again later. An encrypted store opens only
// with the passphrase, which only the page holds: its changes wait for the page.
import { loadSession } from '../session.js';
import { createFieldClient } from '../field-client.js';
import { readToken } from '../token.js';
import { outboxSyncTag } from './page.js';

interface SyncEventLike extends Event {
  readonly tag: string;
  waitUntil(promise: Promise<unknown>): void;
}

export interface BackgroundSyncScope {
  readonly location: { readonly origin: string };
  addEventListener(type: 'sync', listener: (event: SyncEventLike) => void): void;
}

export function handleOutboxSync(scope: BackgroundSyncScope): void {
  scope.addEventListener('sync', (event) => {
    if (event.tag === outboxSyncTag) event.waitUntil(drainOutbox(scope.location.origin));
  });
}

async function drainOutbox(origin: string): Promise<void> {
  const session = await loadSession();
  if (!session || session.encrypted) return;
  let claims;
  try {
    claims = readToken(session.token);
  } catch {
    return; // Expired or damaged: the user signs in again in the app, which then syncs.
  }
  const client = createFieldClient({
    claims,
    url: origin,
    realtime: false,
    getToken: async () => {
      const latest = await loadSession();
      return latest && !latest.encrypted ? latest.token : session.token;
    },
  });
  try {
    await client.ready();
    await client.syncNow();
    if (client.status.pending > 0 && client.status.state !== 'idle') {
      throw new Error(`outbox not drained (${client.status.state})`);
    }
  } finally {
    await client.close();
  }
}
