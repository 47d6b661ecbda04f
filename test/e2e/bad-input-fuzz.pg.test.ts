// Bad input, generated: every route of the real server on PostgreSQL (see test/support/fuzz/).
import { describe } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../packages/server/src/testing/env.js';
import { fuzzSuite } from '../support/fuzz/fuzz-suite.js';

describe.skipIf(!testPgUrl)(
  `bad-input fuzz on PostgreSQL${testPgUrl ? '' : ` (skipped: ${pgSkipReason})`}`,
  () => fuzzSuite({ pgUrl: testPgUrl! }),
);
