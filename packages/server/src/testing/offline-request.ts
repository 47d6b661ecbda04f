// A request as seed 003's queue stores it (POST /api/offline/queue), for tests that write one
// straight through the OfflineOperationStore port.
import type { NewOfflineOperation } from '../replay/ports.js';

export function offlineRequest(
  at: string,
  over: Partial<NewOfflineOperation> = {},
): NewOfflineOperation {
  return {
    userId: 'cashier',
    deviceId: 'till-1',
    operationType: 'sale',
    operationId: 'sale-1',
    idempotencyKey: 'key-1',
    endpoint: '/api/sales',
    method: 'POST',
    requestBody: { total: 2 },
    status: 'pending',
    syncAttempts: 0,
    attemptLimit: 4,
    statusCode: null,
    serverResponse: null,
    serverId: null,
    conflictType: null,
    conflictData: null,
    resolutionStrategy: null,
    overwriteKey: null,
    resolvedAt: null,
    resolvedBy: null,
    errorCategory: null,
    errorMessage: null,
    networkType: null,
    nextAttemptAt: null,
    claimedAt: null,
    lastAttemptAt: null,
    syncedAt: null,
    failedAt: null,
    createdAt: at,
    updatedAt: at,
    ...over,
  };
}
