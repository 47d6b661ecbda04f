// Migration 0009 on SQLite, on a database that already holds seed 003's operations and changes.
import { runRequestMutationsMigrationSuite } from '../../testing/request-mutations-migration-suite.js';
import { openUnmigratedSqlite } from '../../testing/unmigrated-store.js';

runRequestMutationsMigrationSuite('0009_request_mutations on SQLite', () =>
  openUnmigratedSqlite('0009'),
);
