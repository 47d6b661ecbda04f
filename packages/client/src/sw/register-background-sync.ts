// The page side of Background Sync: when the outbox gains changes, ask the service worker
// registration for a sync (the browser wakes the worker once it is online, even after the tab is
// gone); where the browser has no Background Sync or refuses it, sync on `online` and when the
// page comes to the front instead. Also answers the worker's requests for a bearer token.
import type { SyncClient } from '../create-sync-client.js';
import type { NetworkSignal } from '../core/sync-ports.js';
import { platformNetworkSignal } from '../scheduler/network-signal.js';
import { backgroundSyncDefaults, isTokenRequest, type TokenAnswer } from './background-sync-tag.js';

/**
 * The part of a ServiceWorkerRegistration used here; `sync` only where there is Background Sync.
 * (`scope` only makes TypeScript's DOM type, which lacks `sync`, fit.)
 */
export interface SyncRegistrationLike {
  readonly scope?: string;
  readonly sync?: { register(tag: string): Promise<void> };
}

/** The part of navigator.serviceWorker used here. */
export interface ServiceWorkerContainerLike {
  ready: Promise<SyncRegistrationLike>;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  startMessages?(): void;
}

export interface RegisterBackgroundSyncOptions {
  /** The registration to ask for syncs (default: `navigator.serviceWorker.ready`). */
  registration?: SyncRegistrationLike | Promise<SyncRegistrationLike>;
  /** The sync tag; the worker's handleBackgroundSync must use the same one. */
  tag?: string;
  /**
   * Answers the worker's `tokenFromPages()` requests with this page's bearer token. Only service
   * workers of the page's own origin can ask (the browser delivers no other messages there).
   */
  getToken?: () => string | Promise<string>;
  /** The online and foreground signals of the fallback (default: the page's own events). */
  network?: NetworkSignal;
  /** Default: `navigator.serviceWorker` where there is one. */
  serviceWorker?: ServiceWorkerContainerLike;
  /** A refused sync registration, a failed fallback sync or token. Nothing is thrown. */
  onError?: (error: unknown) => void;
}

type BackgroundSyncClient = Pick<SyncClient, 'status' | 'on' | 'syncNow'>;

const platformServiceWorker = (): ServiceWorkerContainerLike | undefined =>
  (globalThis as { navigator?: { serviceWorker?: ServiceWorkerContainerLike } }).navigator
    ?.serviceWorker;

/**
 * Asks for a background sync each time the client's outbox gains changes. Until the registration
 * is known to support Background Sync (and after it refused a sync), an `online` or `foreground`
 * signal with changes waiting runs `client.syncNow()`. Returns an unsubscribe.
 */
export function registerBackgroundSync(
  client: BackgroundSyncClient,
  options: RegisterBackgroundSyncOptions = {},
): () => void {
  const tag = options.tag ?? backgroundSyncDefaults.tag;
  const onError = options.onError ?? (() => undefined);
  const container = options.serviceWorker ?? platformServiceWorker();
  let stopped = false;
  /** Known to take sync registrations; null while unknown, missing or after a refusal. */
  let background: { register(tag: string): Promise<void> } | null = null;
  let wanted = false;

  const requestSync = () => {
    if (stopped) return;
    if (!background) {
      wanted = true;
      return;
    }
    background.register(tag).catch((error: unknown) => {
      // Refused (the user turned Background Sync off, say): the fallback takes over.
      background = null;
      onError(error);
    });
  };

  const registration = options.registration ?? container?.ready;
  Promise.resolve(registration)
    .then((found) => {
      if (stopped || !found?.sync || typeof found.sync.register !== 'function') return;
      background = found.sync;
      if (wanted || client.status.pending > 0) requestSync();
    })
    .catch(onError);

  // The outbox gained changes: a local write, or another tab's seen through the storage.
  let pending = client.status.pending;
  const unsubscribeStatus = client.on('status', (status) => {
    if (status.pending > pending) requestSync();
    pending = status.pending;
  });

  const network = options.network ?? platformNetworkSignal();
  const unsubscribeNetwork = network.subscribe((event) => {
    if (event === 'offline' || background || client.status.pending === 0) return;
    client.syncNow().catch(onError);
  });

  const { getToken } = options;
  const onMessage = (event: MessageEvent) => {
    const port = event.ports[0];
    if (!getToken || !port || !isTokenRequest(event.data)) return;
    const answer = (message: TokenAnswer) => {
      port.postMessage(message);
      port.close();
    };
    Promise.resolve()
      .then(getToken)
      .then(
        (token) => answer(token ? { token } : { error: 'the page has no token' }),
        (error: unknown) => {
          onError(error);
          answer({ error: 'the page has no token' });
        },
      );
  };
  if (getToken && container) {
    container.addEventListener('message', onMessage);
    // Messages from the worker wait in a queue until the page says it listens.
    container.startMessages?.();
  }

  return () => {
    stopped = true;
    unsubscribeStatus();
    unsubscribeNetwork();
    container?.removeEventListener('message', onMessage);
  };
}
