// The storage adapters an app hands to createSyncClient. sqliteStorage has its own entry point
// (@syncline/client/sqlite) so that browser bundles never pull in a native driver.
export { memoryStorage } from './memory/memory-store.js';
export { indexedDbStorage, type IndexedDbStorageOptions } from './indexeddb/indexeddb-store.js';
export {
  encryptLocalStore,
  encryptLocalStoreDefaults,
  LocalStoreEncryptionError,
  type EncryptLocalStoreOptions,
} from './encrypted-store.js';
export { InvalidStorageWriteError, LocalStoreClosedError } from './validate-write.js';
