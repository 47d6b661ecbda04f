// @syncline/client: local-first collections, a durable outbox and a sync loop.
export { createSyncClient } from './create-sync-client.js';
export type {
  Collection,
  SyncClient,
  SyncClientEvents,
  SyncClientOptions,
  SyncStatus,
} from './create-sync-client.js';
export { SyncError } from './core/sync-client.js';
export type {
  CollectionOptions,
  ConflictView,
  Entity,
  FailedMutation,
  Filter,
  SyncProgress,
  SyncSummary,
} from './core/sync-client.js';
export { QueryError } from './core/query.js';
export type { FieldCondition, OrderBy, Query } from './core/query.js';
export type { NetworkEvent, NetworkSignal } from './core/sync-ports.js';
export type {
  ConflictRow,
  EntityRow,
  IndexValue,
  LocalStore,
  StorageCondition,
  StorageQuery,
  OutboxRow,
  StorageWrite,
  WriteOptions,
  WriteResult,
} from './core/ports.js';
export { LocalStoreChangedError } from './core/ports.js';
export { retryDefaults } from './scheduler/backoff.js';
export type { RetryOptions } from './scheduler/backoff.js';
export { SyncState } from './scheduler/sync-loop.js';
export * from './store/index.js';
