// Which external services the tests may use. In CI (CI=true) a missing service is an error,
// not a skip: the PostgreSQL and Redis suites must run there.
export const testPgUrl = process.env.SYNCLINE_TEST_PG_URL;
export const testRedisUrl = process.env.SYNCLINE_TEST_REDIS_URL;

if (process.env.CI === 'true' && !testPgUrl) {
  throw new Error(
    'CI=true but SYNCLINE_TEST_PG_URL is not set: the PostgreSQL suites must run in CI',
  );
}

/** Reason a PostgreSQL suite is skipped, printed beside the skip. */
export const pgSkipReason = 'SYNCLINE_TEST_PG_URL is not set (PostgreSQL suites run in CI)';

/** Which store createTestApp() opens: the HTTP suites run once on each (see vitest.config.ts). */
export const testStoreKind: 'sqlite' | 'postgres' =
  process.env.SYNCLINE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
