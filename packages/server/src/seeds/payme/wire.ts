// Seed 003 (PayMe): the replay's records in PayMe's own snake_case shapes (offlineQueue,
// offlineSyncHistory and offline config rows, the sync summary).
import type {
  OfflineConfigRecord,
  OfflineOperationRecord,
  OfflineSyncHistoryRecord,
} from '../../replay/ports.js';
import type { ReplaySummary } from '../../replay/replayer.js';

/** PayMe's offlineQueue row. */
export function toPaymeOperation(tenant: string, op: OfflineOperationRecord) {
  return {
    id: op.id,
    user_id: op.userId,
    business_id: tenant,
    device_id: op.deviceId,
    operation_type: op.operationType,
    operation_id: op.operationId,
    idempotency_key: op.idempotencyKey,
    endpoint: op.endpoint,
    method: op.method,
    request_body: op.requestBody,
    status: op.status,
    sync_attempts: op.syncAttempts,
    max_attempts: op.attemptLimit,
    status_code: op.statusCode,
    server_response: op.serverResponse,
    server_id: op.serverId,
    conflict_type: op.conflictType,
    conflict_data: op.conflictData,
    resolution_strategy: op.resolutionStrategy,
    resolved_at: op.resolvedAt,
    resolved_by: op.resolvedBy,
    error_category: op.errorCategory,
    error_message: op.errorMessage,
    network_type: op.networkType,
    next_attempt_at: op.nextAttemptAt,
    last_attempt_at: op.lastAttemptAt,
    synced_at: op.syncedAt,
    failed_at: op.failedAt,
    created_at: op.createdAt,
    updated_at: op.updatedAt,
  };
}

/** PayMe's offlineSyncHistory row. */
export const toPaymeHistory = (row: OfflineSyncHistoryRecord) => ({
  id: row.id,
  queue_id: row.queueId,
  attempt: row.attempt,
  status: row.status,
  status_code: row.statusCode,
  duration_ms: row.durationMs,
  network_type: row.networkType,
  device_id: row.deviceId,
  error_category: row.errorCategory,
  error_message: row.errorMessage,
  created_at: row.createdAt,
});

export const toPaymeConfig = (tenant: string, config: OfflineConfigRecord) => {
  const { updatedAt, updatedBy, ...settings } = config;
  return { business_id: tenant, ...settings, updated_at: updatedAt, updated_by: updatedBy };
};

/** PayMe's sync summary: { success, failed, conflict, total, durationMs }. */
export const toPaymeSummary = (tenant: string, summary: ReplaySummary) => ({
  success: summary.success,
  failed: summary.failed,
  conflict: summary.conflict,
  retrying: summary.retrying,
  deferred: summary.deferred,
  total: summary.total,
  durationMs: summary.durationMs,
  operations: summary.results.map((r) => toPaymeOperation(tenant, r.operation)),
});
