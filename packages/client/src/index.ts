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
export { SchemaMigrationError } from './core/schema-migrations.js';
export type { Migration, SchemaOptions } from './core/schema-migrations.js';
export type {
  CollectionOptions,
  ConflictView,
  Entity,
  FailedMutation,
  FirstSyncProgress,
  Filter,
  SyncProgress,
  SyncSummary,
} from './core/sync-client.js';
export { QueryError } from './core/query.js';
export { IndexDeclarationError } from './core/index-declaration.js';
export type { IndexDeclaration } from './core/index-declaration.js';
export type { FieldCondition, OrderBy, Query } from './core/query.js';
export type { NetworkEvent, NetworkSignal } from './core/sync-ports.js';
export type {
  CompoundIndex,
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
export { pushDelayDefaults, SyncState } from './scheduler/sync-loop.js';
export type { PushDelayOptions } from './scheduler/sync-loop.js';
export { gzipWithCompressionStream, timeoutDefaults } from './transport/http-transport.js';
export type { CompressBody, TimeoutOptions } from './transport/http-transport.js';
export * from './store/index.js';
