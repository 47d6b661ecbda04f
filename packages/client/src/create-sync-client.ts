// The composition root of the SDK: storage (encrypted when asked), device id, HTTP transport,
// the core, the sync loop and the realtime stream, behind the small public SyncClient surface.
import { limitsDefaults, type ConflictStrategy } from '@syncline/protocol';
import { v7 as uuidv7 } from 'uuid';
import { isLocalStoreChangedError, type LocalStore } from './core/ports.js';
import {
  SyncCore,
  syncMetaKeys,
  type ChangedEntity,
  type CollectionOptions,
  type ConflictView,
  type Entity,
  type FailedMutation,
  type FirstSyncProgress,
  type Filter,
  type SyncProgress,
  type SyncSummary,
} from './core/sync-client.js';
import type { JsonObject } from '@syncline/protocol';
import { isQuery, normalizeQuery, type Query } from './core/query.js';
import { watchQuery } from './live-query.js';
import type { NetworkSignal } from './core/sync-ports.js';
import { backoffDelay, retryDefaults, type RetryOptions } from './scheduler/backoff.js';
import { platformNetworkSignal } from './scheduler/network-signal.js';
import {
  pushDelayDefaults,
  SyncLoop,
  SyncState,
  type LoopError,
  type PushDelayOptions,
} from './scheduler/sync-loop.js';
import {
  HttpTransport,
  type CompressBody,
  type FetchLike,
  type TimeoutOptions,
} from './transport/http-transport.js';
import { openRealtimeStream, type RealtimeStream } from './transport/realtime-stream.js';
import { createTokenSource } from './transport/token-source.js';
import { migrateLocalSchemas, schemaVersionHeader } from './core/schema-migrations.js';
import { parseIndexes } from './core/index-declaration.js';
import { encryptLocalStore, type EncryptLocalStoreOptions } from './store/encrypted-store.js';

const DEVICE_ID = 'sync.deviceId';

export interface SyncClientOptions {
  /** The Syncline server's base URL. */
  url: string;
  /** Called for a bearer token before requests, and once more after a 401. */
  getToken: () => string | Promise<string>;
  /**
   * Else generated once and kept in the storage: one device id per storage (per user of it),
   * shared by every tab or process that opens it.
   */
  deviceId?: string;
  /**
   * Any number of clients (tabs, processes) may open the same storage: each sees the others'
   * changes, and their sync runs take turns.
   */
  storage: LocalStore;
  /**
   * The collections this client syncs, with their options; any valid type when left out. A
   * collection may declare its local schema `version` and `migrations` (by target version): on
   * open, stored rows and queued changes are migrated once, atomically; the versions go to the
   * server with each request (`Syncline-Schema-Version: visits=3`).
   */
  collections?: Record<string, CollectionOptions>;
  fetch?: FetchLike;
  /** The timer between syncs (default 5 minutes): the fallback to the pushes after writes. */
  syncIntervalMs?: number;
  /**
   * Online-first: a local write made online is pushed `debounceMs` after the last write of a
   * burst, and at most `maxDelayMs` after the first (default 300 ms and 1 s, `pushDelayDefaults`).
   */
  pushDelay?: Partial<PushDelayOptions>;
  /** Changes a push carries (default 100). */
  batchSize?: number;
  /**
   * The largest push body in bytes: the server's body limit (default 10 MiB,
   * `limitsDefaults.maxBodyBytes`). Batches are cut to fit; a change larger on its own fails.
   */
  maxBatchBytes?: number;
  /**
   * A request fails as a network error, then backs off, when the server is not reached or the
   * answer pauses for too long (default connect 10 s, read 30 s: `timeoutDefaults`).
   */
  timeouts?: Partial<TimeoutOptions>;
  /**
   * Request bodies over this many bytes are sent gzip-encoded (default 1 KiB); the gzip is the
   * platform's CompressionStream unless `compress` gives another (`null`: never compress).
   */
  compressAboveBytes?: number;
  compress?: CompressBody | null;
  /** Changes a pull page asks for (default 500). */
  pullPageSize?: number;
  /**
   * How a fresh device syncs first: 'snapshot' (default) receives each entity's latest state once
   * from POST /api/sync/snapshot, resuming where it stopped; 'feed' replays the change feed from
   * the beginning (every stored version), as servers before protocol 2 require.
   */
  firstSync?: 'snapshot' | 'feed';
  /** Entities a first-sync snapshot page asks for (default 1000, at most 5000). */
  snapshotPageSize?: number;
  retry?: Partial<RetryOptions>;
  conflictStrategy?: ConflictStrategy;
  onConflict?: (conflict: ConflictView) => void;
  /**
   * Called while a sync runs: during a fresh device's first sync (`phase: 'snapshot'`) after each
   * page with `{ pulled, total }`, entities received of about how many; then for pushes and pulls.
   */
  onProgress?: (progress: SyncProgress) => void;
  /** Open the server's realtime stream on start() (default true). */
  realtime?: boolean;
  /** Online/foreground signals; by default the platform's events where there are any. */
  network?: NetworkSignal;
  /** Random source for backoff jitter (tests pass a seeded one). */
  random?: () => number;
  /** Encrypt the local store at rest (AES-GCM under a key derived from the passphrase). */
  encryption?: EncryptLocalStoreOptions;
}

export interface SyncStatus {
  state: SyncState;
  pending: number;
  failed: number;
  conflicts: number;
  lastSyncAt: string | null;
  /** A first sync under way (or stopped half-way, to resume): entities received of about total. */
  firstSync: FirstSyncProgress | null;
  /** Why the state is 'error', 'offline' or 'auth' (e.g. DEVICE_REVOKED). */
  error: LoopError | null;
}

export interface Collection<T extends object = JsonObject> {
  create(data: T, options?: { id?: string }): Promise<string>;
  update(id: string, patch: Partial<T> | Record<string, unknown>): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Promise<Entity<T> | undefined>;
  /**
   * With a Query (`{ where, orderBy, limit, offset }` on the collection's `indexes`): answered
   * from the storage's indexes; a field not declared as indexed is refused (QueryError
   * FIELD_NOT_INDEXED). With a Filter (field equality or a predicate) or nothing: a scan.
   */
  find(query?: Query | Filter<T>): Promise<Array<Entity<T>>>;
  /** Called after any local or pulled change to this type; returns an unsubscribe. */
  subscribe(callback: () => void): () => void;
  /**
   * A live query: `onResult` gets the result now and again after each change that can affect it
   * (to an entity the result holds, or one that matches `where` after the change), not after
   * every change of the type. Returns an unsubscribe.
   */
  watch(
    query: Query,
    onResult: (rows: Array<Entity<T>>) => void,
    onError?: (error: unknown) => void,
  ): () => void;
}

export interface SyncClientEvents {
  status: SyncStatus;
  change: { types: string[] | 'all' };
  conflict: ConflictView;
  /** While a sync runs: pushed so far, pulled n of about N. */
  progress: SyncProgress;
  error: unknown;
}

export interface SyncClient {
  collection<T extends object = JsonObject>(type: string): Collection<T>;
  readonly status: SyncStatus;
  on<E extends keyof SyncClientEvents>(
    event: E,
    callback: (value: SyncClientEvents[E]) => void,
  ): () => void;
  /** Resolves once storage is open and the device id known. */
  ready(): Promise<void>;
  deviceId(): Promise<string>;
  /** Starts automatic syncing: now, on reconnect, on foreground, on pokes and on the timer. */
  start(): void;
  stop(): void;
  /** One sync now (or the one already running). */
  syncNow(): Promise<SyncSummary>;
  /** A login: the token to use from now on; syncs at once. */
  setToken(token: string): void;
  conflicts(): Promise<ConflictView[]>;
  acknowledgeConflict(conflictId: string): Promise<void>;
  failed(): Promise<FailedMutation[]>;
  retryFailed(mutationIds?: readonly string[]): Promise<number>;
  discard(mutationId: string): Promise<void>;
  /** Stops syncing and closes the storage. */
  close(): Promise<void>;
}

type Listener = (value: never) => void;

export function createSyncClient(options: SyncClientOptions): SyncClient {
  const retry: RetryOptions = { ...retryDefaults, ...options.retry };
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const tokens = createTokenSource(options.getToken);
  // A declaration that cannot be used is refused here, before anything opens.
  for (const [type, collection] of Object.entries(options.collections ?? {})) {
    parseIndexes(type, collection.indexes);
  }
  const schemaVersion = schemaVersionHeader(options.collections);
  const transport = new HttpTransport({
    url: options.url,
    fetch: fetchImpl,
    tokens,
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(options.compress !== undefined ? { compress: options.compress } : {}),
    ...(options.compressAboveBytes !== undefined
      ? { compressAboveBytes: options.compressAboveBytes }
      : {}),
    snapshot: options.firstSync !== 'feed',
    ...(schemaVersion ? { schemaVersion } : {}),
  });
  const network = options.network ?? platformNetworkSignal();
  const listeners = new Map<keyof SyncClientEvents, Set<Listener>>();
  /** Per type: called with the changed entities of that type, or undefined when any may have. */
  const typeListeners = new Map<string, Set<(entities?: readonly ChangedEntity[]) => void>>();
  const listen = (type: string, callback: (entities?: readonly ChangedEntity[]) => void) => {
    let set = typeListeners.get(type);
    if (!set) typeListeners.set(type, (set = new Set()));
    set.add(callback);
    return () => set.delete(callback);
  };
  const collections = new Map<string, Collection>();
  const emit = <E extends keyof SyncClientEvents>(event: E, value: SyncClientEvents[E]) => {
    for (const callback of listeners.get(event) ?? [])
      (callback as (v: typeof value) => void)(value);
  };

  let loopState: SyncState = SyncState.IDLE;
  let loopError: LoopError | null = null;
  let core: SyncCore | undefined;
  let stream: RealtimeStream | undefined;
  let closed = false;

  const status = (): SyncStatus => ({
    state: loopState,
    pending: core?.pendingCount ?? 0,
    failed: core?.failedCount ?? 0,
    conflicts: core?.conflictCount ?? 0,
    lastSyncAt: core?.lastSyncAt ?? null,
    firstSync: core?.firstSync ?? null,
    error: loopError,
  });
  // The same object until something in it changes, so that a UI store can compare by identity.
  let currentStatus = status();
  let currentText = JSON.stringify(currentStatus);
  const refreshStatus = (): boolean => {
    const next = status();
    const text = JSON.stringify(next);
    if (text === currentText) return false;
    currentStatus = next;
    currentText = text;
    return true;
  };
  const publishStatus = () => {
    if (refreshStatus()) emit('status', currentStatus);
  };

  let openedStorage: LocalStore | undefined;
  const opening = (async () => {
    const storage = options.encryption
      ? await encryptLocalStore(options.storage, {
          ...options.encryption,
          clearMarkers: [DEVICE_ID, syncMetaKeys.syncToken],
        })
      : options.storage;
    openedStorage = storage;
    // After an app update: stored rows and queued changes brought up to the declared versions.
    await migrateLocalSchemas(storage, options.collections);
    const deviceId = options.deviceId ?? (await storedDeviceId(storage));
    const opened = await SyncCore.open({
      storage,
      transport,
      deviceId,
      batchSize: options.batchSize ?? 100,
      maxBatchBytes: options.maxBatchBytes ?? limitsDefaults.maxBodyBytes,
      pullPageSize: options.pullPageSize ?? 500,
      ...(options.snapshotPageSize !== undefined
        ? { snapshotPageSize: options.snapshotPageSize }
        : {}),
      maxAttempts: retry.maxAttempts,
      ...(options.conflictStrategy ? { conflictStrategy: options.conflictStrategy } : {}),
      ...(options.collections ? { collections: options.collections } : {}),
      newId: () => uuidv7(),
      now: () => new Date(),
      events: {
        change(types, entities) {
          const targets = types === 'all' ? [...typeListeners.keys()] : [...types];
          for (const type of targets) {
            const ofType = entities?.filter((entity) => entity.type === type);
            for (const callback of [...(typeListeners.get(type) ?? [])]) callback(ofType);
          }
          emit('change', { types: types === 'all' ? 'all' : [...types] });
        },
        conflict(conflict) {
          options.onConflict?.(conflict);
          emit('conflict', conflict);
        },
        counts: publishStatus,
        queued: () => loop.trigger('write'),
      },
    });
    core = opened;
    publishStatus();
    return { core: opened, deviceId };
  })();
  // Callers see the failure through ready() and every operation; this only avoids an
  // unhandled rejection when nobody has asked yet.
  opening.catch(() => undefined);

  const loop = new SyncLoop<SyncSummary>({
    network,
    intervalMs: options.syncIntervalMs ?? 5 * 60 * 1000,
    pushDelay: { ...pushDelayDefaults, ...options.pushDelay },
    retry,
    ...(options.random ? { random: options.random } : {}),
    run: async () => {
      const { core: opened } = await opening;
      const summary = await opened.sync((progress) => {
        options.onProgress?.(progress);
        emit('progress', progress);
      });
      return summary;
    },
    onState(state, error) {
      loopState = state;
      loopError = error;
      publishStatus();
    },
    onError: (error) => emit('error', error),
  });

  const startStream = async () => {
    const { deviceId } = await opening;
    if (closed || !loop.isStarted || stream) return;
    stream = openRealtimeStream({
      url: options.url,
      deviceId,
      ...(options.collections ? { entityTypes: Object.keys(options.collections).sort() } : {}),
      fetch: fetchImpl,
      tokens,
      reconnectDelay: (attempt) => backoffDelay(attempt, retry, options.random),
      onPoke: () => loop.trigger('poke'),
    });
  };

  const withCore = async <T>(fn: (opened: SyncCore) => Promise<T> | T): Promise<T> =>
    fn((await opening).core);

  return {
    collection<T extends object = JsonObject>(type: string): Collection<T> {
      // One object per type, so that UI code comparing by identity sees the same collection.
      const known = collections.get(type);
      if (known) return known as Collection<T>;
      // Names are checked at once, not on first use.
      SyncCore.assertCollectionName(type, options.collections);
      const local = () => withCore((opened) => opened.collection<T>(type));
      const collection: Collection<T> = {
        create: (data, createOptions) => local().then((c) => c.create(data, createOptions)),
        update: (id, patch) => local().then((c) => c.update(id, patch)),
        delete: (id) => local().then((c) => c.delete(id)),
        get: (id) => local().then((c) => c.get(id)),
        find: (query) =>
          isQuery(query)
            ? local().then((c) => c.find(query))
            : local().then((c) => c.find(query as Filter<T>)),
        subscribe: (callback) => listen(type, () => callback()),
        watch(query, onResult, onError) {
          const { fields: indexes } = parseIndexes(type, options.collections?.[type]?.indexes);
          return watchQuery<Entity<T>>({
            normalized: () => normalizeQuery(type, query, indexes),
            indexes,
            run: () => collection.find(query),
            listen: (callback) => listen(type, callback),
            onResult,
            onError: onError ?? ((error) => emit('error', error)),
          });
        },
      };
      collections.set(type, collection as unknown as Collection);
      return collection;
    },
    get status() {
      refreshStatus();
      return currentStatus;
    },
    on(event, callback) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(callback as Listener);
      return () => set.delete(callback as Listener);
    },
    ready: async () => {
      await opening;
    },
    deviceId: async () => (await opening).deviceId,
    start() {
      if (closed) return;
      loop.start();
      if (options.realtime !== false) startStream().catch((error) => emit('error', error));
    },
    stop() {
      loop.stop();
      stream?.close();
      stream = undefined;
    },
    syncNow: () => loop.syncNow(),
    setToken(token) {
      tokens.set(token);
      loop.trigger('login');
    },
    conflicts: () => withCore((opened) => opened.conflicts()),
    acknowledgeConflict: (id) => withCore((opened) => opened.acknowledgeConflict(id)),
    failed: () => withCore((opened) => opened.failed()),
    retryFailed: (ids) => withCore((opened) => opened.retryFailed(ids)),
    discard: (id) => withCore((opened) => opened.discard(id)),
    async close() {
      closed = true;
      loop.stop();
      stream?.close();
      stream = undefined;
      const opened = await opening.catch(() => undefined);
      opened?.core.close();
      await (openedStorage ?? options.storage).close();
    },
  };
}

/**
 * The device id kept in the storage, made on first use. Two tabs opening a new storage at once
 * must end up with the same one: it is written only if nothing changed since it was found missing.
 */
async function storedDeviceId(storage: LocalStore): Promise<string> {
  for (;;) {
    const revision = await storage.revision();
    const stored = await storage.getMeta(DEVICE_ID);
    if (stored !== undefined) return stored;
    const made = uuidv7();
    try {
      await storage.write([{ kind: 'setMeta', key: DEVICE_ID, value: made }], {
        ifRevision: revision,
      });
      return made;
    } catch (error) {
      if (!isLocalStoreChangedError(error)) throw error;
    }
  }
}
