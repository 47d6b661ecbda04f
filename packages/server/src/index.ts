// @syncline/server's public surface: build the server, verify and mint tokens, open a store and
// make the engine — what an embedding application or the CLI composes.
export {
  composeServices,
  createCollections,
  type ComposeOptions,
  type SynclineServices,
} from './app/compose.js';
export { presetCollections } from './seeds/presets.js';
export { buildServer, type BuildServerOptions, type ServerLimits } from './http/build-server.js';
export {
  createTokenVerifier,
  mintToken,
  type MintTokenOptions,
  type TokenVerifier,
  type TokenVerifierConfig,
} from './http/auth.js';
export { loadAuthKeys, type AuthKeySources, type LoadedAuthKeys } from './http/auth-keys.js';
export { createSchemaCompiler } from './http/ajv-schema-compiler.js';
export { nodeCrypto } from './http/node-crypto.js';
export {
  parseRateLimit,
  rateLimitDefaults,
  type RateLimit,
  type RateLimitRedis,
} from './http/rate-limits.js';
export {
  createCollectionRegistry,
  type CollectionConfig,
  type CollectionRegistry,
  type CollectionsConfig,
} from './engine/collections.js';
export type { Actor } from './engine/actor.js';
export type { SyncEngine, SyncEngineOptions } from './engine/engine-api.js';
export { SyncError } from './engine/errors.js';
export type { SyncStore } from './engine/ports.js';
export { createSyncEngine } from './engine/sync-engine.js';
export { migrate, openStore, type OpenStoreOptions } from './store/index.js';
export { createOfflineReplay, parseUpstreamAllow } from './app/offline-replay.js';
export { replayDueOperations, type OfflineReplay, type ReplaySummary } from './replay/replayer.js';
