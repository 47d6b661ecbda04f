import { defineConfig } from 'vitest/config';

// One run covers every kind of test. Suffixes say what a test needs: *.pg.test.ts runs against
// SYNCLINE_TEST_PG_URL (and must run in CI), *.redis.test.ts against SYNCLINE_TEST_REDIS_URL.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
