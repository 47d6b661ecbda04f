// The engine's public surface: what the HTTP layer (canonical and compatibility routes), the
// CLI and the jobs call. Every method takes the verified Actor and works within its tenant only.
import type {
  Conflict,
  DeltaRequest,
  DeltaResponse,
  Device,
  HistoryEntry,
  MutationStatus,
  PushRequest,
  PushResponse,
  RegisterDeviceRequest,
  ResolveConflictRequest,
  ServerChange,
  SnapshotRequest,
} from '@syncline/protocol';
import type { Actor } from './actor.js';
import type { CollectionRegistry } from './collections.js';
import type { CommitListener } from './commit-events.js';
import type { Clock, Crypto, Logger, MutationRecord, SyncStore } from './ports.js';
import type { SnapshotPage } from './snapshot.js';
import type { RetryQueueRequest, RetryQueueResult } from './queue-retry.js';
import type { UpsertRequest, UpsertResult } from './commands/upsert.js';
import type {
  DeferredPushRequest,
  MutationFilter,
  ProcessedMutation,
} from './commands/deferred.js';

/** Compiles a JSON Schema into a checker that returns error messages, or an empty list. */
export type SchemaCompiler = (schema: Record<string, unknown>) => (payload: unknown) => string[];

export interface SyncEngineOptions {
  store: SyncStore;
  collections: CollectionRegistry;
  compileSchema: SchemaCompiler;
  crypto: Crypto;
  clock?: Clock;
  logger?: Logger;
  limits?: Partial<EngineLimits>;
  /** Told after each commit what changed (no data): realtime pokes. Must not throw. */
  onCommitted?: CommitListener;
  /** How long a pull's device time and sync-history row wait to be written (default 1 s). */
  syncNotesFlushMs?: number;
}

export interface EngineLimits {
  maxPayloadBytes: number;
  maxFutureSkewMs: number;
  defaultPageSize: number;
  maxPageSize: number;
  /** A tenant's cache is invalidated at most once per this many ms (default one minute). */
  invalidateCooldownMs: number;
}

/** Facts about the request that the sync history keeps (a client's network type, say). */
export interface RequestMeta {
  networkType?: string | null;
  route?: string;
  /** The app's local schema versions (`assets=1,visits=3`), kept on the device; null: not sent. */
  schemaVersions?: string | null;
}

export interface SyncStatus {
  userId: string;
  serverTime: string;
  syncToken: string;
  devices: Device[];
  pendingConflicts: number;
  queue: Record<MutationStatus, number>;
  lastSyncAt: string | null;
}

export interface QueueStats {
  total: number;
  byStatus: Record<MutationStatus, number>;
  /** Share of finished mutations that synced, e.g. "93.33%". */
  syncRate: string;
  pendingConflicts: number;
}

export interface ResolveResult {
  conflict: Conflict;
  /** The entity state the resolution left, as devices will pull it (absent when nothing changed). */
  change?: ServerChange;
}

/** A push's answer whose feed changes are already JSON text (change-json.ts). */
export type PushPage = Omit<PushResponse, 'changes'> & { changes: string[] };
/** A delta page whose changes are already JSON text (change-json.ts). */
export type DeltaPage = Omit<DeltaResponse, 'changes'> & { changes: string[] };

export interface SyncEngine {
  /**
   * Applies a batch (each change its own outcome) and pulls what changed after `syncToken`,
   * less the versions this push wrote from the device's changes as sent.
   */
  push(actor: Actor, request: PushRequest, meta?: RequestMeta): Promise<PushPage>;
  /** One page of the feed, read without the tenant's write lock. */
  delta(actor: Actor, request: DeltaRequest, meta?: RequestMeta): Promise<DeltaPage>;
  /**
   * A fresh device's first sync: one page of the latest state of each entity it may see, its
   * changes already JSON text (snapshotPageJson writes the whole answer).
   */
  snapshot(actor: Actor, request: SnapshotRequest, meta?: RequestMeta): Promise<SnapshotPage>;
  status(actor: Actor): Promise<SyncStatus>;
  /**
   * Writes what pulls left to note (device sync times and tokens, sync-history rows), which
   * otherwise waits up to `syncNotesFlushMs`; of one tenant, or of all. Reads of devices and
   * status flush their tenant first.
   */
  flushSyncNotes(tenant?: string): Promise<void>;
  /** Writes what is left to note and stops the timer: call before closing the store. */
  close(): Promise<void>;

  listDevices(actor: Actor): Promise<Device[]>;
  /**
   * Registers a device to the caller (again, after it was unregistered), or, for an admin with
   * `userId`, to that user: a device of another user is handed on, starting afresh.
   */
  registerDevice(actor: Actor, request: RegisterDeviceRequest): Promise<Device>;
  /**
   * For routes that name a device outside a sync (in a header, say): the device is the
   * caller's (an unknown one is registered to them), else FORBIDDEN or DEVICE_REVOKED.
   */
  claimDevice(actor: Actor, deviceId: string): Promise<void>;
  /** Revokes a device: its requests answer DEVICE_REVOKED until it registers again. */
  unregisterDevice(actor: Actor, deviceId: string): Promise<void>;

  /** The caller's conflicts (a tenant's, for admins); every status unless one is given. */
  listConflicts(
    actor: Actor,
    filter?: { status?: 'PENDING_REVIEW' | 'RESOLVED'; entityType?: string; limit?: number },
  ): Promise<Conflict[]>;
  resolveConflict(actor: Actor, request: ResolveConflictRequest): Promise<ResolveResult>;

  /**
   * Re-runs FAILED mutations of the caller's devices (or the tenant's, for admins): at most 100 a
   * call, in short transactions, with what is left in `remaining` (queue-retry.ts).
   */
  retryQueue(actor: Actor, request: RetryQueueRequest): Promise<RetryQueueResult>;
  queueStats(actor: Actor, filter?: { userId?: string; deviceId?: string }): Promise<QueueStats>;
  /**
   * Bumps the tenant's cache epoch: older sync tokens answer `reset: true`. At most once per
   * `invalidateCooldownMs`; sooner is RATE_LIMITED with `retryAfterSeconds`.
   */
  invalidateCache(actor: Actor, request: { deviceId?: string }): Promise<{ epoch: number }>;

  /** Admin: every version of one entity, oldest first. */
  entityHistory(actor: Actor, entityType: string, entityId: string): Promise<HistoryEntry[]>;
  /** Admin: brings an old version back as a new version. */
  restore(
    actor: Actor,
    entityType: string,
    entityId: string,
    version: number,
  ): Promise<ServerChange>;

  /**
   * Upserts full copies: each entity is created when the server has none, else updated with the
   * usual conflict checks; chunks commit one transaction each, every change in its own savepoint
   * (commands/upsert.ts).
   */
  upsert(actor: Actor, request: UpsertRequest, meta?: RequestMeta): Promise<UpsertResult>;
  /**
   * A deferred push: validates the change and stores it as PENDING without applying it; the same
   * change again finds the same mutation (commands/deferred.ts).
   */
  pushDeferred(
    actor: Actor,
    request: DeferredPushRequest,
  ): Promise<{ mutation: MutationRecord; created: boolean }>;
  /** Applies a stored mutation; one already processed answers DUPLICATE with its first outcome. */
  processMutation(actor: Actor, id: string): Promise<ProcessedMutation>;
  /** One stored mutation, with the conflict its processing raised. */
  getMutation(actor: Actor, id: string): Promise<{ mutation: MutationRecord; conflict?: Conflict }>;
  /** The caller's stored mutations (a tenant's, or one user's, for admins), in arrival order. */
  listMutations(actor: Actor, filter: MutationFilter): Promise<MutationRecord[]>;
}
