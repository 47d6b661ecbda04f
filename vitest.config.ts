import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One run covers every kind of test. Suffixes say what a test needs: *.pg.test.ts runs against
// SYNCLINE_TEST_PG_URL (and must run in CI), *.redis.test.ts against SYNCLINE_TEST_REDIS_URL,
// *.browser.test.ts drives Debian's Chromium at /usr/bin/chromium (an error in CI when missing)
// against the built web apps, which the browser project's global setup builds when stale. With a
// PostgreSQL URL, the HTTP suites run a second time with PostgreSQL behind the engine.
const withPostgres = Boolean(process.env.SYNCLINE_TEST_PG_URL);
// Most suites wait on sockets, databases and Chromium rather than the CPU, so two forks even on a
// 2-core machine (Vitest's default there is one) halve the run: about 7 minutes instead of 14.
const maxWorkers = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    maxWorkers,
    minWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'all',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.browser.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['**/*.browser.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/support/build-web-apps.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      ...(withPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'http-on-postgres',
                include: ['test/http/**/*.test.ts'],
                env: { SYNCLINE_TEST_STORE: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
