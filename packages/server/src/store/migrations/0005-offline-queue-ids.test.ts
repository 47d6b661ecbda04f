// Migration 0005 on SQLite, on a database that already holds seed 003's operations.
import { runOfflineIdsMigrationSuite } from '../../testing/offline-ids-migration-suite.js';
import { openUnmigratedSqlite } from '../../testing/unmigrated-store.js';

runOfflineIdsMigrationSuite('0005_offline_queue_ids on SQLite', () => openUnmigratedSqlite('0005'));
