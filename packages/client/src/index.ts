// @syncline/client: local-first collections, a durable outbox and a sync loop.
export type { ConflictRow, EntityRow, LocalStore, OutboxRow, StorageWrite } from './core/ports.js';
export * from './store/index.js';
