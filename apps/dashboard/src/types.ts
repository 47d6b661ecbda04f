// The shapes the dashboard reads from the admin API (packages/server/src/http/dashboard-routes.ts)
// and from the seed routes it shows (seed 001's queue, seed 003's offline operations).
import type { Conflict, HistoryEntry, MutationStatus } from '@syncline/protocol';

export type { HistoryEntry, MutationStatus };

export interface Alert {
  kind: 'device-failure-rate' | 'pending-conflicts' | 'sync-delay' | string;
  subject: string;
  value: number;
  threshold: number;
  message: string;
  raisedAt: string | null;
}

export interface Overview {
  tenant: string;
  userId: string;
  serverTime: string;
  pendingConflicts: number;
  mutations: Record<MutationStatus, number>;
  devices: { total: number; active: number; lagging: number; revoked: number };
  alerts: Alert[];
  thresholds: { windowHours: number; syncDelayMinutes: number };
}

export interface ActivityBucket {
  start: string;
  syncs: number;
  pushed: number;
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  pulled: number;
  failedSyncs: number;
}

export interface Activity {
  bucket: 'hour' | 'day';
  from: string;
  to: string;
  series: ActivityBucket[];
  totals: Omit<ActivityBucket, 'start'>;
}

export type AdminConflict = Conflict & { userId: string };

export interface DeviceHealth {
  deviceId: string;
  userId: string;
  deviceName: string | null;
  platform: string | null;
  appVersion: string | null;
  /** The app's local schema versions as the device last sent them (`assets=1,visits=3`). */
  schemaVersions: string | null;
  lastSyncAt: string | null;
  isActive: boolean;
  createdAt: string;
  changesBehind: number | null;
  lagging: boolean;
  mutations: number;
  failed: number;
  failureRatePercent: number | null;
}

export interface SyncHistoryRow {
  id: number;
  userId: string;
  deviceId: string | null;
  route: string;
  pushed: number;
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  pulled: number;
  durationMs: number;
  outcome: 'ok' | 'partial' | 'error';
  networkType: string | null;
  createdAt: string;
}

export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
  createdAt: string;
}

export interface EntitySummary {
  entityType: string;
  entityId: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
  deviceId: string | null;
  deletedAt: string | null;
}

export interface QueuedMutation {
  id: string;
  deviceId: string;
  userId: string;
  entityType: string;
  entityId: string;
  operation: string;
  payload: Record<string, unknown> | null;
  clientVersion: number;
  clientTimestamp: string;
  status: MutationStatus;
  attempts: number;
  error: { code: string; message: string } | null;
  conflictId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Seed 003's offlineQueue row, as /api/offline/pending answers it. */
export interface OfflineOperation {
  id: number;
  user_id: string;
  device_id: string;
  operation_type: string;
  operation_id: string;
  endpoint: string;
  method: string;
  status: 'pending' | 'syncing' | 'synced' | 'conflict' | 'failed';
  sync_attempts: number;
  max_attempts: number;
  status_code: number | null;
  conflict_type: string | null;
  error_category: string | null;
  error_message: string | null;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  created_at: string;
}

export interface OfflineAttempt {
  id: number;
  attempt: number;
  status: string;
  status_code: number | null;
  duration_ms: number | null;
  network_type: string | null;
  device_id: string | null;
  error_category: string | null;
  error_message: string | null;
  created_at: string;
}

export interface OfflineConfig {
  business_id: string;
  offline_mode_enabled: boolean;
  auto_sync_enabled: boolean;
  sync_interval_minutes: number;
  max_retry_attempts: number;
  max_queue_size: number;
  default_conflict_strategy: 'client_wins' | 'server_wins' | 'merge' | 'manual';
  allow_sales_offline: boolean;
  allow_expenses_offline: boolean;
  allow_records_offline: boolean;
  allow_payments_offline: boolean;
  allow_stock_adjustment_offline: boolean;
  upstream_base_url: string | null;
  updated_at: string | null;
  updated_by: string | null;
}

export interface TenantSettingsView {
  settings: {
    retention: { mutationsDays: number; historyDays: number; tombstonesDays: number };
    alerts: {
      failureRatePercent: number;
      minMutations: number;
      pendingConflicts: number;
      syncDelayMinutes: number;
      windowHours: number;
    };
  };
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface CollectionInfo {
  name: string;
  conflictStrategy: string;
  ownStrategy: boolean;
  access: string;
  mergePolicy: Record<string, string>;
  timeDetector: { fields: string[]; toleranceMs: number } | null;
  clientWinsAdminOnly: boolean;
  hasSchema: boolean;
}
