// @syncline/client/sqlite: the SQLite storage adapter for Node and Electron, kept out of the main
// entry point so that browser bundles never pull in a native driver.
export {
  sqliteStorage,
  sqliteStorageDefaults,
  type SqliteStorageOptions,
} from './store/sqlite/sqlite-store.js';
