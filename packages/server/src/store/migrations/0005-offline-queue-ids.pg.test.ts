// Migration 0005 on PostgreSQL (a schema of its own, dropped afterwards), on a database that
// already holds seed 003's operations.
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../testing/env.js';
import { runOfflineIdsMigrationSuite } from '../../testing/offline-ids-migration-suite.js';
import { openUnmigratedPostgres } from '../../testing/unmigrated-store.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    const url = testPgUrl ?? '';
    runOfflineIdsMigrationSuite('0005_offline_queue_ids on PostgreSQL', () =>
      openUnmigratedPostgres(url, '0005'),
    );
  },
);
