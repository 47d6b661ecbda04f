// The jobs' environment: defaults, per-job intervals by name, retention and alert defaults, and
// a clear one-line error for a bad value.
import { describe, expect, it } from 'vitest';
import { everyFromEnv, everyVariable, jobsConfigFromEnv } from './jobs-env.js';
import { maintenanceScheduleDefaults, tenantSettingsDefaults } from './jobs.js';

describe('jobsConfigFromEnv', () => {
  it('defaults: on, in-process, the built-in intervals and settings', () => {
    const config = jobsConfigFromEnv({});
    expect(config.enabled).toBe(true);
    expect(config.redisUrl).toBeUndefined();
    expect(config.everyMs).toEqual(maintenanceScheduleDefaults);
    expect(config.settingsDefaults).toEqual(tenantSettingsDefaults);
  });

  it('reads the switch, Redis, every interval, retention and thresholds', () => {
    const config = jobsConfigFromEnv({
      SYNCLINE_JOBS: 'off',
      SYNCLINE_REDIS_URL: 'redis://cache:6379',
      SYNCLINE_JOBS_PREFIX: 'sl',
      SYNCLINE_JOB_RETRY_FAILED_EVERY: '30s',
      SYNCLINE_JOB_PRUNE_HISTORY_EVERY: '1d',
      SYNCLINE_RETENTION_DAYS: '7',
      SYNCLINE_TOMBSTONE_RETENTION_DAYS: '0',
      SYNCLINE_ALERT_FAILURE_RATE: '20',
      SYNCLINE_ALERT_SYNC_DELAY: '2h',
      SYNCLINE_JOB_RETRY_MAX_ATTEMPTS: '3',
    });
    expect(config).toMatchObject({
      enabled: false,
      redisUrl: 'redis://cache:6379',
      redisPrefix: 'sl',
      retryMaxAttempts: 3,
      everyMs: {
        'retry-failed': 30_000,
        'prune-history': 24 * 60 * 60_000,
        'cleanup-synced': maintenanceScheduleDefaults['cleanup-synced'],
      },
      settingsDefaults: {
        retention: { mutationsDays: 7, historyDays: 7, tombstonesDays: 0 },
        alerts: { failureRatePercent: 20, syncDelayMinutes: 120 },
      },
    });
  });

  it('takes the deployment-wide Redis prefix unless the jobs have their own', () => {
    expect(jobsConfigFromEnv({ SYNCLINE_REDIS_PREFIX: 'acme:' }).redisPrefix).toBe('acme');
    expect(
      jobsConfigFromEnv({ SYNCLINE_REDIS_PREFIX: 'acme:', SYNCLINE_JOBS_PREFIX: 'q' }).redisPrefix,
    ).toBe('q');
    expect(jobsConfigFromEnv({}).redisPrefix).toBeUndefined();
  });

  it.each([
    [{ SYNCLINE_JOBS: 'maybe' }, /SYNCLINE_JOBS/],
    [{ SYNCLINE_JOB_CLEANUP_SYNCED_EVERY: 'often' }, /SYNCLINE_JOB_CLEANUP_SYNCED_EVERY/],
    [{ SYNCLINE_RETENTION_DAYS: '-1' }, /SYNCLINE_RETENTION_DAYS/],
    [{ SYNCLINE_ALERT_FAILURE_RATE: '150' }, /SYNCLINE_ALERT_FAILURE_RATE/],
  ])('refuses %o naming the variable', (env, message) => {
    expect(() => jobsConfigFromEnv(env)).toThrow(message);
  });

  it('gives any registered job an interval variable of its own', () => {
    expect(everyVariable('replay-due')).toBe('SYNCLINE_JOB_REPLAY_DUE_EVERY');
    expect(everyFromEnv({ SYNCLINE_JOB_REPLAY_DUE_EVERY: '10s' }, 'replay-due', 60_000)).toBe(
      10_000,
    );
    expect(everyFromEnv({}, 'replay-due', 60_000)).toBe(60_000);
  });
});
