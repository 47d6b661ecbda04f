// The storage port for offline operations: queued HTTP requests that replay against a business's
// own API (seed 003), their per-attempt history and the business's offline config.
import type { AuditRecord, JsonObject } from '../engine/ports.js';

export const OfflineOperationStatus = {
  PENDING: 'pending',
  SYNCING: 'syncing',
  SYNCED: 'synced',
  CONFLICT: 'conflict',
  FAILED: 'failed',
} as const;
export type OfflineOperationStatus =
  (typeof OfflineOperationStatus)[keyof typeof OfflineOperationStatus];

export const ReplayConflictType = {
  DUPLICATE: 'DUPLICATE',
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  DELETED: 'DELETED',
  MANUAL: 'MANUAL',
} as const;
export type ReplayConflictType = (typeof ReplayConflictType)[keyof typeof ReplayConflictType];

/** Why an attempt did not succeed (seed 003: "error logging with categorization"). */
export const ReplayErrorCategory = {
  NETWORK: 'NETWORK',
  TIMEOUT: 'TIMEOUT',
  SERVER_ERROR: 'SERVER_ERROR',
  CLIENT_ERROR: 'CLIENT_ERROR',
  CONFLICT: 'CONFLICT',
  POLICY: 'POLICY',
} as const;
export type ReplayErrorCategory = (typeof ReplayErrorCategory)[keyof typeof ReplayErrorCategory];

export type ReplayMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How a person settles a replay conflict (seed 003's strategies): client_wins sends the request
 * again as an overwrite, merge sends the version the person combined from both, server_wins lets
 * the API's copy stand. (manual is what waiting for a person is, not a way to settle.)
 */
export const ReplayResolution = {
  CLIENT_WINS: 'client_wins',
  SERVER_WINS: 'server_wins',
  MERGE: 'merge',
} as const;
export type ReplayResolution = (typeof ReplayResolution)[keyof typeof ReplayResolution];

export interface OfflineOperationRecord {
  /** The queue id the device is given (`queueId`): numbered per business, from 1. */
  id: number;
  userId: string;
  deviceId: string;
  operationType: string;
  /** The device's local id for the operation (e.g. `sale_1234567`): with deviceId, the key. */
  operationId: string;
  /** Sent upstream as `Idempotency-Key` on every attempt. */
  idempotencyKey: string;
  endpoint: string;
  method: ReplayMethod;
  requestBody: unknown;
  status: OfflineOperationStatus;
  syncAttempts: number;
  /** The attempt count at which automatic retries stop (raised by a person's retry). */
  attemptLimit: number;
  statusCode: number | null;
  serverResponse: unknown;
  serverId: string | null;
  conflictType: ReplayConflictType | null;
  conflictData: unknown;
  resolutionStrategy: string | null;
  /**
   * Set while the operation is (or was last) sent as an overwrite after a conflict: the
   * idempotency key of that overwrite, its own for each decision to overwrite.
   */
  overwriteKey: string | null;
  /** When and by whom a person settled its conflict (POST /api/offline/resolve/:id). */
  resolvedAt: string | null;
  resolvedBy: string | null;
  errorCategory: ReplayErrorCategory | null;
  errorMessage: string | null;
  networkType: string | null;
  /** When an automatic replay may next try it (null: not scheduled). */
  nextAttemptAt: string | null;
  /** Set while one replayer holds it; a claim older than the lease is taken over. */
  claimedAt: string | null;
  lastAttemptAt: string | null;
  syncedAt: string | null;
  failedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewOfflineOperation = Omit<OfflineOperationRecord, 'id'>;

export interface OfflineSyncHistoryRecord {
  id: number;
  queueId: number;
  userId: string;
  deviceId: string | null;
  attempt: number;
  status: 'success' | 'failed' | 'conflict' | 'retry';
  statusCode: number | null;
  durationMs: number;
  networkType: string | null;
  errorCategory: ReplayErrorCategory | null;
  errorMessage: string | null;
  createdAt: string;
}

export type NewOfflineSyncHistory = Omit<OfflineSyncHistoryRecord, 'id'>;

/** Per-business offline settings; the names are seed 003's. */
export interface OfflineConfig {
  offline_mode_enabled: boolean;
  auto_sync_enabled: boolean;
  sync_interval_minutes: number;
  /** Automatic attempts after the first one before an operation is `failed`. */
  max_retry_attempts: number;
  max_queue_size: number;
  /**
   * What a 409 leads to: client_wins re-sends as an overwrite, server_wins lets the API's copy
   * stand, manual waits for a person. (merge needs a person: see ReplayResolution.)
   */
  default_conflict_strategy: 'client_wins' | 'server_wins' | 'manual';
  allow_sales_offline: boolean;
  allow_expenses_offline: boolean;
  allow_records_offline: boolean;
  allow_payments_offline: boolean;
  allow_stock_adjustment_offline: boolean;
  /** The business's own API that operations replay against (http or https). */
  upstream_base_url: string | null;
}

export interface OfflineConfigRecord extends OfflineConfig {
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface OperationFilter {
  userId?: string;
  statuses?: readonly OfflineOperationStatus[];
  ids?: readonly number[];
  limit?: number;
  offset?: number;
}

/** Resolves a host name to the addresses it would be connected to (the replayer's DNS). */
export type HostResolver = (
  hostname: string,
) => Promise<readonly { address: string; family: 4 | 6 }[]>;

export interface OfflineTenantReads {
  /** The stored config, or undefined when the business never changed the defaults. */
  getConfig(): Promise<OfflineConfigRecord | undefined>;
  getOperation(id: number): Promise<OfflineOperationRecord | undefined>;
  findByOperationId(
    deviceId: string,
    operationId: string,
  ): Promise<OfflineOperationRecord | undefined>;
  /** Oldest first (FIFO), so a device's operations replay in the order it made them. */
  listOperations(filter: OperationFilter): Promise<OfflineOperationRecord[]>;
  countByStatus(filter: { userId?: string }): Promise<Record<OfflineOperationStatus, number>>;
  /** The latest synced_at, or null. */
  lastSyncedAt(filter: { userId?: string }): Promise<string | null>;
  /** Newest first. */
  listHistory(filter: {
    queueId: number;
    userId?: string;
    limit?: number;
  }): Promise<OfflineSyncHistoryRecord[]>;
}

/** Inside one transaction holding the business's write lock (see OfflineOperationStore). */
export interface OfflineTenantTx extends OfflineTenantReads {
  /** Inserts under the business's next queue id (never reused, even after cleanup) and returns it. */
  insertOperation(operation: NewOfflineOperation): Promise<number>;
  updateOperation(
    id: number,
    patch: Partial<Omit<OfflineOperationRecord, 'id' | 'userId'>>,
  ): Promise<void>;
  insertHistory(record: NewOfflineSyncHistory): Promise<void>;
  putConfig(config: OfflineConfigRecord): Promise<void>;
  /** Deletes up to `limit` synced operations whose synced_at is before `isoTime`, oldest first; how many. */
  deleteSyncedBefore(isoTime: string, filter: { userId?: string }, limit: number): Promise<number>;
  insertAudit(record: AuditRecord): Promise<void>;
}

export interface OfflineTenantStore extends OfflineTenantReads {
  transact<T>(fn: (tx: OfflineTenantTx) => Promise<T>): Promise<T>;
}

export interface DueOperation {
  tenant: string;
  id: number;
}

/**
 * Storage for offline operations. Every `transact()` holds the business's write lock to commit,
 * so the queue-size check and the insert, or two replayers claiming one operation, cannot race.
 */
export interface OfflineOperationStore {
  forTenant(tenant: string): OfflineTenantStore;
  /**
   * Operations of every business that an automatic replay should try now: pending and due, or
   * syncing under a claim taken before `staleClaimBefore`. Oldest first.
   */
  findDue(now: string, staleClaimBefore: string, limit: number): Promise<DueOperation[]>;
}

export type { JsonObject };
