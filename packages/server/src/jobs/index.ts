// Background jobs: the maintenance jobs (and any others registered) on a schedule, in-process for
// the embedded server, on BullMQ when Redis is configured so that many instances share one
// schedule. startJobs() is what the CLI calls after the server is listening.
import { hostname } from 'node:os';
import type { SyncEngine } from '../engine/engine-api.js';
import type { Clock, Logger, SyncStore } from '../engine/ports.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { MaintenanceQueries } from '../store/maintenance-queries.js';
import { createInProcessScheduler } from './in-process-scheduler.js';
import { runJob, type JobDefinition } from './job-registry.js';
import { maintenanceJobs, type MaintenanceJobOptions } from './maintenance-jobs.js';
import { jobsConfigFromEnv, type JobsConfig } from '../config/jobs-env.js';
import { createTenantSettingsService, type TenantSettingsService } from './tenant-settings.js';

export {
  runJob,
  systemTenant,
  type JobDefinition,
  type JobRun,
  type JobScheduler,
} from './job-registry.js';
export { maintenanceJobs, maintenanceScheduleDefaults } from './maintenance-jobs.js';
export {
  createTenantSettingsService,
  tenantSettingsDefaults,
  type TenantSettings,
  type TenantSettingsService,
} from './tenant-settings.js';
export { everyFromEnv, jobsConfigFromEnv, type JobsConfig } from '../config/jobs-env.js';

export interface StartJobsOptions extends MaintenanceJobOptions {
  engine: SyncEngine;
  store: SyncStore;
  queries: MaintenanceQueries;
  settings: TenantSettingsService;
  logger: Logger;
  clock?: Clock;
  /** When set, schedules are shared through BullMQ on this Redis. */
  redisUrl?: string;
  /** BullMQ key prefix (default 'syncline'). */
  redisPrefix?: string;
  /** More jobs beside the maintenance ones: each is one entry (name, everyMs, run). */
  extraJobs?: readonly JobDefinition[];
  /** Told of every run's outcome (the /metrics job counters). */
  onJobRun?: (job: string, outcome: 'ok' | 'error') => void;
}

export interface RunningJobs {
  readonly jobs: readonly JobDefinition[];
  readonly mode: 'in-process' | 'bullmq';
  stop(): Promise<void>;
}

export async function startJobs(options: StartJobsOptions): Promise<RunningJobs> {
  const jobs = [...maintenanceJobs(options, options), ...(options.extraJobs ?? [])];
  const names = new Set<string>();
  for (const job of jobs) {
    if (names.has(job.name)) throw new Error(`two background jobs are named ${job.name}`);
    if (!Number.isSafeInteger(job.everyMs) || job.everyMs < 1) {
      throw new Error(`background job ${job.name}: everyMs must be a positive integer`);
    }
    names.add(job.name);
  }
  // BullMQ (and ioredis) load only when Redis is configured: an embedded server never holds them.
  const scheduler = options.redisUrl
    ? (await import('./bullmq-scheduler.js')).createBullmqScheduler({
        redisUrl: options.redisUrl,
        logger: options.logger,
        ...(options.redisPrefix ? { prefix: options.redisPrefix } : {}),
      })
    : createInProcessScheduler();
  const clock = options.clock;
  await scheduler.start(jobs, (job, slot) =>
    runJob(job, slot, {
      queries: options.queries,
      logger: options.logger,
      instance: `${hostname()}:${process.pid}`,
      ...(clock ? { now: () => clock.now() } : {}),
      ...(options.onJobRun ? { onRun: options.onJobRun } : {}),
    }),
  );
  return {
    jobs,
    mode: options.redisUrl ? 'bullmq' : 'in-process',
    stop: () => scheduler.stop(),
  };
}

export interface BackgroundJobs {
  /** The settings store behind GET/PATCH /api/sync/admin/settings. */
  readonly settings: TenantSettingsService;
  readonly config: JobsConfig;
  /** Starts the schedule unless SYNCLINE_JOBS=off; call once the server is listening. */
  start(): Promise<void>;
  /** Stops the schedule and waits for runs in flight (a no-op when not started). */
  stop(): Promise<void>;
}

/**
 * The composition root's one call: reads the jobs' environment (throws a one-line message when
 * it is wrong), and wires settings, maintenance queries and the scheduler on the store.
 */
export function createBackgroundJobs(options: {
  env: Record<string, string | undefined>;
  store: KyselySyncStore;
  engine: SyncEngine;
  logger: Logger;
  extraJobs?: readonly JobDefinition[];
  onJobRun?: (job: string, outcome: 'ok' | 'error') => void;
}): BackgroundJobs {
  const config = jobsConfigFromEnv(options.env);
  const queries = new MaintenanceQueries(options.store);
  const settings = createTenantSettingsService({ queries, defaults: config.settingsDefaults });
  let running: RunningJobs | undefined;
  // stop() may come while start() still waits for Redis (SIGTERM at startup): the late start
  // is stopped at once instead of running workers on a closed store.
  let stopped = false;
  return {
    settings,
    config,
    async start() {
      if (!config.enabled || running || stopped) return;
      const started = await startJobs({
        engine: options.engine,
        store: options.store,
        queries,
        settings,
        logger: options.logger,
        everyMs: config.everyMs,
        retryMaxAttempts: config.retryMaxAttempts,
        ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
        ...(config.redisPrefix ? { redisPrefix: config.redisPrefix } : {}),
        ...(options.extraJobs ? { extraJobs: options.extraJobs } : {}),
        ...(options.onJobRun ? { onJobRun: options.onJobRun } : {}),
      });
      if (stopped) {
        await started.stop();
        return;
      }
      running = started;
      options.logger.info(
        { mode: running.mode, jobs: running.jobs.map((j) => `${j.name}/${j.everyMs}ms`) },
        'background jobs started',
      );
    },
    async stop() {
      stopped = true;
      await running?.stop();
      running = undefined;
    },
  };
}
