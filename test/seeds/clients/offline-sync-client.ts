// Seed 002's OfflineSyncClient (Asset Manager PWA), ported only as far as Node needs: IndexedDB
// and navigator.onLine become the shims in node-shims.ts; fetch is the real one. `sync()` is the
// seed's own method; the helpers it calls (getQueuedChanges, applyServerChanges, handleConflicts)
// and the writes that fill the queue follow the seed's "Data Flow" and "Caching Strategies".
import type { MemoryKeyValueStore, Connectivity } from './node-shims.js';

type Operation = 'CREATE' | 'UPDATE' | 'DELETE';
type Resolution = 'CLIENT_WINS' | 'SERVER_WINS' | 'LAST_WRITE_WINS' | 'MERGE' | 'MANUAL';

/** The seed's SyncQueue row, as the device keeps it. */
export interface QueuedChange {
  entityType: string;
  entityId: string;
  operation: Operation;
  payload: Record<string, unknown> | null;
  clientVersion: number;
  timestamp: string;
}

/** The local copy of an entity, with the seed's SyncMetadata. */
export interface CachedEntity {
  payload: Record<string, unknown> | null;
  version: number;
  deletedAt: string | null;
  /** "Show changes as pending sync". */
  pendingSync: boolean;
}

export interface ServerChange {
  entityType: string;
  entityId: string;
  operation: Operation;
  payload: Record<string, unknown> | null;
  clientVersion: number;
  version?: number;
  timestamp: string;
}

export interface SyncConflict {
  id?: string;
  entityType: string;
  entityId: string;
  clientVersion: number;
  serverVersion: number;
  clientData: Record<string, unknown> | null;
  serverData: Record<string, unknown> | null;
  suggestedResolution: Resolution;
  status?: string;
}

export interface OfflineSyncClientOptions {
  baseUrl: string;
  token: string;
  deviceId: string;
  deviceName?: string;
  storage: MemoryKeyValueStore;
  connectivity: Connectivity;
}

const keys = { queue: 'syncQueue', token: 'lastSyncToken', conflicts: 'conflicts' } as const;
const entityKey = (type: string, id: string) => `entity:${type}:${id}`;

export class OfflineSyncClient {
  readonly deviceId: string;
  readonly token: string;
  lastSyncToken: string | undefined;
  readonly #options: OfflineSyncClientOptions;
  #syncing: Promise<void> | undefined;

  constructor(options: OfflineSyncClientOptions) {
    this.#options = options;
    this.deviceId = options.deviceId;
    this.token = options.token;
    // Background sync: when connectivity returns, the queue is processed (the 'sync-all' tag).
    options.connectivity.addEventListener('online', () => void this.backgroundSync());
  }

  /** Restores the sync token a previous session stored. */
  async open(): Promise<this> {
    this.lastSyncToken = await this.#options.storage.get<string>(keys.token);
    return this;
  }

  // --- the seed's sync(), with fetch's relative URL made absolute ------------------------------
  async sync() {
    const changes = await this.getQueuedChanges();
    const response = await fetch(`${this.#options.baseUrl}/api/sync`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${this.token}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        deviceId: this.deviceId,
        ...(this.#options.deviceName ? { deviceName: this.#options.deviceName } : {}),
        ...(this.lastSyncToken ? { syncToken: this.lastSyncToken } : {}),
        changes,
      }),
    });
    if (!response.ok)
      throw new Error(`sync failed: HTTP ${response.status} ${await response.text()}`);

    const result = (await response.json()) as {
      syncToken: string;
      changes: ServerChange[];
      conflicts: SyncConflict[];
      results: { entityType: string; entityId: string; status: string }[];
    };

    // Sent changes leave the queue once the server has answered for them.
    await this.dequeue(changes.length);

    // Apply server changes
    await this.applyServerChanges(result.changes);

    // Handle conflicts
    await this.handleConflicts(result.conflicts);

    // Update sync token
    this.lastSyncToken = result.syncToken;
    await this.#options.storage.set(keys.token, result.syncToken);
  }

  // --- local writes: network-first, queued when offline, cache updated optimistically ---------
  async create(entityType: string, entityId: string, payload: Record<string, unknown>) {
    await this.write({ entityType, entityId, operation: 'CREATE', payload, clientVersion: 1 }, 1);
  }

  async update(entityType: string, entityId: string, patch: Record<string, unknown>) {
    const cached = await this.get(entityType, entityId);
    if (!cached?.payload) throw new Error(`${entityType} ${entityId} is not in the local cache`);
    await this.write(
      {
        entityType,
        entityId,
        operation: 'UPDATE',
        payload: patch,
        clientVersion: cached.version,
      },
      cached.version,
      { ...cached.payload, ...patch },
    );
  }

  async delete(entityType: string, entityId: string) {
    const cached = await this.get(entityType, entityId);
    const version = cached?.version ?? 1;
    await this.write(
      { entityType, entityId, operation: 'DELETE', payload: null, clientVersion: version },
      version,
      null,
    );
  }

  /** Cache-first read. */
  async get(entityType: string, entityId: string): Promise<CachedEntity | undefined> {
    return this.#options.storage.get<CachedEntity>(entityKey(entityType, entityId));
  }

  async getQueuedChanges(): Promise<QueuedChange[]> {
    return (await this.#options.storage.get<QueuedChange[]>(keys.queue)) ?? [];
  }

  async getConflicts(): Promise<SyncConflict[]> {
    return (await this.#options.storage.get<SyncConflict[]>(keys.conflicts)) ?? [];
  }

  async applyServerChanges(changes: ServerChange[]) {
    for (const change of changes) {
      const key = entityKey(change.entityType, change.entityId);
      const cached = await this.#options.storage.get<CachedEntity>(key);
      // A change still waiting in the queue keeps the optimistic copy until the server answers.
      if (cached?.pendingSync && (await this.isQueued(change.entityType, change.entityId)))
        continue;
      await this.#options.storage.set(key, {
        payload: change.operation === 'DELETE' ? null : change.payload,
        version: change.version ?? change.clientVersion,
        deletedAt: change.operation === 'DELETE' ? change.timestamp : null,
        pendingSync: false,
      } satisfies CachedEntity);
    }
  }

  async handleConflicts(conflicts: SyncConflict[]) {
    const kept = await this.getConflicts();
    for (const conflict of conflicts) {
      // The server kept its copy (or waits for a person): show the server's state meanwhile.
      if (conflict.serverData) {
        await this.#options.storage.set(entityKey(conflict.entityType, conflict.entityId), {
          payload: conflict.serverData,
          version: conflict.serverVersion,
          deletedAt: null,
          pendingSync: false,
        } satisfies CachedEntity);
      }
      kept.push(conflict);
    }
    await this.#options.storage.set(keys.conflicts, kept);
  }

  /** Resolves when a background sync started by the 'online' event has finished. */
  async idle(): Promise<void> {
    await this.#syncing;
  }

  private async write(
    change: Omit<QueuedChange, 'timestamp'>,
    version: number,
    local: Record<string, unknown> | null = change.payload,
  ) {
    const queued: QueuedChange = { ...change, timestamp: new Date().toISOString() };
    const queue = await this.getQueuedChanges();
    queue.push(queued);
    await this.#options.storage.set(keys.queue, queue);
    await this.#options.storage.set(entityKey(change.entityType, change.entityId), {
      payload: local,
      version,
      deletedAt: local === null ? queued.timestamp : null,
      pendingSync: true,
    } satisfies CachedEntity);
    // Network-first: send at once when online; otherwise the change waits in the queue.
    if (this.#options.connectivity.onLine) await this.sync();
  }

  private backgroundSync(): Promise<void> {
    this.#syncing ??= this.sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  private async dequeue(count: number) {
    const queue = await this.getQueuedChanges();
    await this.#options.storage.set(keys.queue, queue.slice(count));
  }

  private async isQueued(entityType: string, entityId: string): Promise<boolean> {
    const queue = await this.getQueuedChanges();
    return queue.some((c) => c.entityType === entityType && c.entityId === entityId);
  }
}
