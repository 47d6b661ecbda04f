// Bad input, generated: every route of the real server on SQLite (see test/support/fuzz/).
import { describe } from 'vitest';
import { fuzzSuite } from '../support/fuzz/fuzz-suite.js';

describe('bad-input fuzz on SQLite', () => fuzzSuite('sqlite'));
