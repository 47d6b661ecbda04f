// Seed 001's React Native `SyncManager` (seeds/001_58fe607889b27e40.txt, "sync-manager.ts"),
// ported only as far as Node needs: AsyncStorage, NetInfo and the app's helpers (user, device,
// token, conflict dialog) are injected shims, and `fetch` is the real one with the server's base
// URL in front of the seed's relative paths. The class body is the seed's, line for line, except
// where a comment marked "Port:" says otherwise (and for type annotations Node's typings need).
/* eslint-disable @typescript-eslint/no-explicit-any -- the seed's own types, kept as written */

/** The part of @react-native-async-storage/async-storage the manager uses. */
export interface AsyncStorageLike {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
}

/** The part of @react-native-community/netinfo the manager uses. */
export interface NetInfoLike {
  addEventListener(listener: (state: { isConnected: boolean | null }) => void): () => void;
}

export interface SyncManagerEnvironment {
  AsyncStorage: AsyncStorageLike;
  NetInfo: NetInfoLike;
  fetch: typeof fetch;
  generateUUID(): string;
  getCurrentUserId(): string;
  getDeviceId(): Promise<string>;
  getAuthToken(): string;
  showConflictDialog(input: { localData: unknown; conflictInfo: any }): Promise<string | null>;
}

/** Node's storage shim: AsyncStorage over a Map that outlives a manager (an app restart). */
export class MemoryAsyncStorage implements AsyncStorageLike {
  readonly items = new Map<string, string>();
  async getItem(key: string): Promise<string | null> {
    return this.items.get(key) ?? null;
  }
  async setItem(key: string, value: string): Promise<void> {
    this.items.set(key, value);
  }
}

/** Node's connectivity shim: the test says when the device goes off- and online. */
export class ManualNetInfo implements NetInfoLike {
  private listeners = new Set<(state: { isConnected: boolean | null }) => void>();
  addEventListener(listener: (state: { isConnected: boolean | null }) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(isConnected: boolean): void {
    for (const listener of this.listeners) listener({ isConnected });
  }
}

/** The real fetch with the server's base URL in front of the seed's relative paths. */
export function fetchFrom(baseUrl: string, realFetch: typeof fetch = fetch): typeof fetch {
  return (input, init) =>
    realFetch(typeof input === 'string' && input.startsWith('/') ? baseUrl + input : input, init);
}

interface SyncOperation {
  id: string;
  userId: string;
  deviceId: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  resourceType: string;
  resourceId?: string | undefined;
  data: any;
  createdAtClient: Date;
  version: number;
  status: 'PENDING' | 'SYNCING' | 'SYNCED' | 'FAILED';
  /** Port: the server's queue id, which the seed's resolve call needs (see handleConflict). */
  serverId?: string;
}

export class SyncManager {
  private syncQueue: SyncOperation[] = [];
  private syncInterval: ReturnType<typeof setInterval> | null = null;
  private isOnline: boolean = true;

  constructor(private readonly env: SyncManagerEnvironment) {}

  async initialize() {
    const { AsyncStorage, NetInfo } = this.env;
    // Load queued operations from local storage
    const stored = await AsyncStorage.getItem('syncQueue');
    if (stored) {
      this.syncQueue = JSON.parse(stored);
    }

    // Monitor connectivity
    NetInfo.addEventListener((state) => {
      this.isOnline = state.isConnected || false;
      if (this.isOnline) {
        this.startSync();
      }
    });

    // Auto-sync every 5 minutes if online
    this.syncInterval = setInterval(() => {
      if (this.isOnline) {
        this.syncAll();
      }
    }, 300000);
  }

  /**
   * Port: the seed's connectivity listener calls `this.startSync()`, which its class never
   * defines; a reconnect is taken to mean syncing everything, as its timer does.
   */
  startSync() {
    return this.syncAll();
  }

  /** Port: Node must stop the 5-minute timer for the process to exit. */
  stop() {
    if (this.syncInterval) clearInterval(this.syncInterval);
  }

  async queueOperation(
    operation: 'CREATE' | 'UPDATE' | 'DELETE',
    resourceType: string,
    data: any,
    resourceId?: string,
  ) {
    const { generateUUID, getCurrentUserId, getDeviceId } = this.env;
    const syncOp: SyncOperation = {
      id: generateUUID(),
      userId: getCurrentUserId(),
      deviceId: await getDeviceId(),
      operation,
      resourceType,
      resourceId,
      data,
      createdAtClient: new Date(),
      version: 1,
      status: 'PENDING',
    };

    this.syncQueue.push(syncOp);
    await this.saveQueue();

    // Try immediate sync if online
    if (this.isOnline) {
      await this.syncOperation(syncOp);
    }

    return syncOp.id;
  }

  async syncAll() {
    const pending = this.syncQueue.filter(
      (op) => op.status === 'PENDING' || op.status === 'FAILED',
    );

    for (const operation of pending) {
      await this.syncOperation(operation);
    }
  }

  private async syncOperation(operation: SyncOperation) {
    const { fetch, getAuthToken } = this.env;
    try {
      operation.status = 'SYNCING';
      await this.saveQueue();

      // Step 1: Queue on server
      const queueResponse = await fetch('/api/v1/sync/queue', {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${getAuthToken()}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({
          userId: operation.userId,
          deviceId: operation.deviceId,
          operation: operation.operation,
          resourceType: operation.resourceType,
          resourceId: operation.resourceId,
          data: operation.data,
          createdAtClient: operation.createdAtClient,
          version: operation.version,
        }),
      });

      const queueResult: any = await queueResponse.json();
      operation.serverId = queueResult.id;

      // Step 2: Process sync
      const processResponse = await fetch(`/api/v1/sync/process/${queueResult.id}`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${getAuthToken()}`,
          'Content-Type': 'application/json',
        },
      });

      const processResult: any = await processResponse.json();

      if (processResult.status === 'SYNCED') {
        operation.status = 'SYNCED';
        await this.removeFromQueue(operation.id);
      } else if (processResult.status === 'CONFLICT') {
        // Handle conflict
        await this.handleConflict(operation, processResult);
      }
    } catch (error) {
      operation.status = 'FAILED';
      await this.saveQueue();
      console.error('Sync failed:', error);
    }
  }

  private async handleConflict(operation: SyncOperation, conflictInfo: any) {
    const { fetch, getAuthToken, showConflictDialog } = this.env;
    // Show user conflict resolution dialog
    const resolution = await showConflictDialog({
      localData: operation.data,
      conflictInfo,
    });

    if (resolution) {
      // Port: the seed sends `operation.id`, the device's own id, which the server never saw
      // (the queue request does not carry it); the server's queue id names the item.
      await fetch(`/api/v1/sync/resolve/${operation.serverId}?resolution=${resolution}`, {
        method: 'PATCH',
        headers: {
          Authorization: `Bearer ${getAuthToken()}`,
        },
      });

      if (resolution === 'SERVER_WINS') {
        operation.status = 'SYNCED';
        await this.removeFromQueue(operation.id);
      }
    }
  }

  private async saveQueue() {
    await this.env.AsyncStorage.setItem('syncQueue', JSON.stringify(this.syncQueue));
  }

  private async removeFromQueue(id: string) {
    this.syncQueue = this.syncQueue.filter((op) => op.id !== id);
    await this.saveQueue();
  }

  getSyncStatus() {
    const pending = this.syncQueue.filter((op) => op.status === 'PENDING').length;
    const failed = this.syncQueue.filter((op) => op.status === 'FAILED').length;
    return { total: this.syncQueue.length, pending, failed };
  }
}
