// The service worker side of Background Sync: on the outbox's `sync` event, a client made in the
// worker drains the outbox the origin's pages share. The worker's client opens the same storage
// as the pages (an IndexedDB database is per origin), so it takes its turn in the storage's sync
// section (Web Locks) like another tab, and no change is pushed twice. A failed drain rejects the
// event, and the browser tries again later.
import type { SyncClient } from '../create-sync-client.js';
import type { SyncSummary } from '../core/sync-client.js';
import { backgroundSyncDefaults } from './background-sync-tag.js';

/** The part of a SyncEvent used here. */
export interface SyncEventLike {
  readonly tag: string;
  waitUntil(promise: Promise<unknown>): void;
}

/** The part of ServiceWorkerGlobalScope used here. */
export interface SyncEventScopeLike {
  addEventListener(type: 'sync', listener: (event: SyncEventLike) => void): void;
  removeEventListener(type: 'sync', listener: (event: SyncEventLike) => void): void;
}

type DrainClient = Pick<SyncClient, 'ready' | 'status' | 'syncNow' | 'close'>;

export interface HandleBackgroundSyncOptions {
  /**
   * Makes the worker's client for one sync event: the pages' storage and server, `realtime:
   * false`, and a `getToken` that works in the worker (`tokenFromPages()`, or the app's own). It
   * is closed when the drain ends; do not start() it.
   */
  createClient: () => DrainClient | Promise<DrainClient>;
  /** The sync tag the pages register (default `backgroundSyncDefaults.tag`). */
  tag?: string;
  /** Default: the worker's global scope (`self`). */
  scope?: SyncEventScopeLike;
  /** After each drain, with what it did (nothing: the outbox was empty) or why it failed. */
  onDrain?: (result: { summary?: SyncSummary; error?: unknown }) => void;
}

/** Changes still queued after a drain: more were written while it ran, or a sync failed. */
export class OutboxNotDrainedError extends Error {
  override readonly name = 'OutboxNotDrainedError';
}

/** Sync runs one drain makes at most, for changes written while the previous run went. */
const drainRuns = 3;

/**
 * Syncs until the client's outbox is empty; resolves to the last run's summary, or undefined when
 * there was nothing to send (no request is made then). Rejects with the sync's error.
 */
export async function drainOutbox(client: DrainClient): Promise<SyncSummary | undefined> {
  await client.ready();
  let summary: SyncSummary | undefined;
  for (let run = 0; run < drainRuns && client.status.pending > 0; run++) {
    summary = await client.syncNow();
  }
  const left = client.status.pending;
  if (left > 0) throw new OutboxNotDrainedError(`${left} changes are still queued`);
  return summary;
}

/**
 * Listens for `sync` events with the tag and keeps the worker alive (`waitUntil`) while a new
 * client drains the outbox. Call it when the worker script starts, as the browser requires of
 * event listeners. Returns a function that stops listening.
 */
export function handleBackgroundSync(options: HandleBackgroundSyncOptions): () => void {
  const tag = options.tag ?? backgroundSyncDefaults.tag;
  const scope = options.scope ?? (globalThis as unknown as SyncEventScopeLike);
  const drain = async () => {
    let client: DrainClient | undefined;
    try {
      client = await options.createClient();
      const summary = await drainOutbox(client);
      options.onDrain?.(summary ? { summary } : {});
    } catch (error) {
      options.onDrain?.({ error });
      throw error;
    } finally {
      await client?.close();
    }
  };
  const listener = (event: SyncEventLike) => {
    if (event.tag === tag) event.waitUntil(drain());
  };
  scope.addEventListener('sync', listener);
  return () => scope.removeEventListener('sync', listener);
}
