// Migration 0008 on PostgreSQL (a schema of its own, dropped afterwards), on a database that
// already holds entities and mutations.
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../testing/env.js';
import { runLeanWriteSetMigrationSuite } from '../../testing/lean-write-set-migration-suite.js';
import { openUnmigratedPostgres } from '../../testing/unmigrated-store.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    const url = testPgUrl ?? '';
    runLeanWriteSetMigrationSuite('0008_lean_write_set on PostgreSQL', () =>
      openUnmigratedPostgres(url, '0008'),
    );
  },
);
