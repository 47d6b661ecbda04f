// Each background job's effect on SQLite (the embedded default).
import { createSqliteSyncStore } from '../store/sqlite/sqlite-sync-store.js';
import { runMaintenanceSuite } from '../testing/maintenance-suite.js';

runMaintenanceSuite('SQLite', () => createSqliteSyncStore({ file: ':memory:' }));
