// Migration 0009 on PostgreSQL (a schema of its own, dropped afterwards), on a database that
// already holds seed 003's operations and changes.
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../testing/env.js';
import { runRequestMutationsMigrationSuite } from '../../testing/request-mutations-migration-suite.js';
import { openUnmigratedPostgres } from '../../testing/unmigrated-store.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    const url = testPgUrl ?? '';
    runRequestMutationsMigrationSuite('0009_request_mutations on PostgreSQL', () =>
      openUnmigratedPostgres(url, '0009'),
    );
  },
);
