// The engine's public entry: pure sync logic over the storage port.
export * from './actor.js';
export * from './collections.js';
export * from './engine-api.js';
export * from './errors.js';
export * from './ports.js';
export { createSyncEngine } from './sync-engine.js';
export { queueStatsOf, toWireConflict } from './wire.js';
export { threeWayMerge } from './merge.js';
export { resolveConflict, suggestResolution } from './resolve-conflict.js';
export { applyMergePatch } from './json.js';
export type {
  UpsertChange,
  UpsertOutcome,
  UpsertRequest,
  UpsertResult,
} from './commands/upsert.js';
export type {
  DeferredPushRequest,
  EntityState,
  MutationFilter,
  ProcessedMutation,
} from './commands/deferred.js';
export * from './commit-events.js';
