// The SQLite adapter against the store conformance suite, on a fresh in-memory database per test.
import { runStoreConformance } from '../../testing/store-conformance.js';
import { createSqliteSyncStore } from './sqlite-sync-store.js';

runStoreConformance('sqlite', () => createSqliteSyncStore({ file: ':memory:' }));
