// @syncline/client/sw: Background Sync for the outbox. Pages call registerBackgroundSync; the
// service worker (plain, or built with Workbox) calls handleBackgroundSync.
export { backgroundSyncDefaults } from './background-sync-tag.js';
export { registerBackgroundSync } from './register-background-sync.js';
export type {
  RegisterBackgroundSyncOptions,
  ServiceWorkerContainerLike,
  SyncRegistrationLike,
} from './register-background-sync.js';
export {
  drainOutbox,
  handleBackgroundSync,
  OutboxNotDrainedError,
} from './handle-background-sync.js';
export type {
  HandleBackgroundSyncOptions,
  SyncEventLike,
  SyncEventScopeLike,
} from './handle-background-sync.js';
export {
  NoTokenFromPagesError,
  tokenFromPages,
  tokenFromPagesDefaults,
} from './token-from-pages.js';
export type {
  ClientsScopeLike,
  PageClientLike,
  TokenFromPagesOptions,
} from './token-from-pages.js';
