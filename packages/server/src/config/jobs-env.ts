// Reads the background jobs' configuration from an environment the CLI hands over (only config/
// reads the environment). Every job's interval is SYNCLINE_JOB_<NAME>_EVERY, so a job
// registered later is configured the same way without touching this module.
import { parseDuration } from './durations.js';
import { EnvError, present, type Env } from './env.js';
import {
  maintenanceScheduleDefaults,
  retryAttemptsDefault,
  tenantSettingsDefaults,
  type TenantSettings,
} from './jobs.js';

export interface JobsConfig {
  /** SYNCLINE_JOBS=off disables the scheduler on this instance. */
  enabled: boolean;
  redisUrl?: string;
  /** BullMQ's Redis key prefix: SYNCLINE_JOBS_PREFIX, else SYNCLINE_REDIS_PREFIX without its colon. */
  redisPrefix?: string;
  everyMs: Record<string, number>;
  retryMaxAttempts: number;
  /** Server-wide defaults of every tenant's settings. */
  settingsDefaults: TenantSettings;
}

/** `retry-failed` → `SYNCLINE_JOB_RETRY_FAILED_EVERY`. */
export const everyVariable = (jobName: string): string =>
  `SYNCLINE_JOB_${jobName.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_EVERY`;

/** A job's interval from the environment, else its default. Throws an EnvError when bad. */
export function everyFromEnv(env: Env, jobName: string, fallbackMs: number): number {
  const name = everyVariable(jobName);
  const text = present(env[name]);
  if (text === undefined) return fallbackMs;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new EnvError(name, text, `${name}: ${(error as Error).message}`);
  }
}

function integerFromEnv(env: Env, name: string, fallback: number, min: number, max: number) {
  const text = present(env[name]);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new EnvError(name, text, `${name}: "${text}" is not an integer from ${min} to ${max}`);
  }
  return n;
}

export function jobsConfigFromEnv(env: Env): JobsConfig {
  const switchText = (present(env.SYNCLINE_JOBS) ?? 'on').toLowerCase();
  if (!['on', 'off', 'true', 'false', '1', '0'].includes(switchText)) {
    throw new EnvError(
      'SYNCLINE_JOBS',
      switchText,
      `SYNCLINE_JOBS: "${switchText}" is not on or off`,
    );
  }
  const everyMs: Record<string, number> = {};
  for (const [name, fallback] of Object.entries(maintenanceScheduleDefaults)) {
    everyMs[name] = everyFromEnv(env, name, fallback);
  }
  const days = (name: string, fallback: number) => integerFromEnv(env, name, fallback, 0, 3650);
  const allDays = present(env.SYNCLINE_RETENTION_DAYS);
  const base = tenantSettingsDefaults;
  const retentionBase = allDays ? days('SYNCLINE_RETENTION_DAYS', 0) : undefined;
  const delay = present(env.SYNCLINE_ALERT_SYNC_DELAY);
  let syncDelayMinutes = base.alerts.syncDelayMinutes;
  if (delay !== undefined) {
    try {
      syncDelayMinutes = Math.max(1, Math.round(parseDuration(delay) / 60_000));
    } catch (error) {
      throw new EnvError(
        'SYNCLINE_ALERT_SYNC_DELAY',
        delay,
        `SYNCLINE_ALERT_SYNC_DELAY: ${(error as Error).message}`,
      );
    }
  }
  const redisUrl = present(env.SYNCLINE_REDIS_URL);
  // One prefix can isolate a whole deployment in a shared Redis: SYNCLINE_REDIS_PREFIX
  // ('syncline:' style) serves the job queues too unless they get one of their own.
  const redisPrefix =
    present(env.SYNCLINE_JOBS_PREFIX) ?? present(env.SYNCLINE_REDIS_PREFIX)?.replace(/:+$/, '');
  return {
    enabled: !['off', 'false', '0'].includes(switchText),
    ...(redisUrl ? { redisUrl } : {}),
    ...(redisPrefix ? { redisPrefix } : {}),
    everyMs,
    retryMaxAttempts: integerFromEnv(
      env,
      'SYNCLINE_JOB_RETRY_MAX_ATTEMPTS',
      retryAttemptsDefault,
      1,
      1000,
    ),
    settingsDefaults: {
      retention: {
        mutationsDays: days(
          'SYNCLINE_MUTATION_RETENTION_DAYS',
          retentionBase ?? base.retention.mutationsDays,
        ),
        historyDays: days(
          'SYNCLINE_HISTORY_RETENTION_DAYS',
          retentionBase ?? base.retention.historyDays,
        ),
        tombstonesDays: days(
          'SYNCLINE_TOMBSTONE_RETENTION_DAYS',
          retentionBase ?? base.retention.tombstonesDays,
        ),
      },
      alerts: {
        failureRatePercent: integerFromEnv(
          env,
          'SYNCLINE_ALERT_FAILURE_RATE',
          base.alerts.failureRatePercent,
          0,
          100,
        ),
        minMutations: base.alerts.minMutations,
        pendingConflicts: integerFromEnv(
          env,
          'SYNCLINE_ALERT_PENDING_CONFLICTS',
          base.alerts.pendingConflicts,
          0,
          1_000_000,
        ),
        syncDelayMinutes,
        windowHours: base.alerts.windowHours,
      },
    },
  };
}
