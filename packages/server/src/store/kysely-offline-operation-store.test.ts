// Seed 003's requests beside the engine's changes in SQLite's mutations table.
import { runRequestMutationsSuite } from '../testing/request-mutations-suite.js';
import { createSqliteSyncStore } from './sqlite/sqlite-sync-store.js';

runRequestMutationsSuite('SQLite', () => createSqliteSyncStore({ file: ':memory:' }));
