// What a background job is (a name, a schedule, a handler) and how one run is carried out and
// recorded. Adding a job is one entry in the list given to startJobs(); the schedulers (in-process
// or BullMQ) know nothing of what the jobs do.
import type { JsonObject, Logger } from '../engine/ports.js';
import type { MaintenanceQueries } from '../store/maintenance-queries.js';

export interface JobRun {
  /** The schedule slot this run serves: a multiple of the job's interval. */
  slot: Date;
  /** When the run started. */
  now: Date;
}

export interface JobDefinition {
  /** Unique, kebab-case: the audit action is `job:<name>`. */
  name: string;
  /** How often it runs, in milliseconds; runs fall on multiples of it (UTC epoch). */
  everyMs: number;
  /** Does the work and resolves to counts for the run's audit row. */
  run(run: JobRun): Promise<JsonObject>;
}

/**
 * The tenant that holds job-run audit rows (one per run, whatever the tenants): maintenance is
 * the server's act, not any tenant's. Tenants' own audit rows record what a job changed in them.
 */
export const systemTenant = '_system';
/** The actor of every job-made audit row and of retried mutations' admin act. */
export const systemActor = 'system';

/** The slot a time falls in, and the next slot boundary strictly after a time. */
export const slotOf = (time: number, everyMs: number): number =>
  Math.floor(time / everyMs) * everyMs;
export const nextSlotAfter = (time: number, everyMs: number): number =>
  slotOf(time, everyMs) + everyMs;

export interface RunJobOptions {
  queries: MaintenanceQueries;
  logger: Logger;
  now?: () => Date;
  /** Which server instance ran it (host:pid), kept in the audit row. */
  instance?: string;
  /** Told of every run's outcome (the /metrics job counters). Must not throw. */
  onRun?: (job: string, outcome: 'ok' | 'error') => void;
}

/**
 * Runs a job for one slot and writes its audit row (`job:<name>` in the system tenant, with the
 * slot, the counts and the outcome). A failing job is recorded and logged, never thrown: the
 * schedule goes on.
 */
export async function runJob(
  job: JobDefinition,
  slot: Date,
  options: RunJobOptions,
): Promise<JsonObject> {
  const now = options.now?.() ?? new Date();
  const started = Date.now();
  let details: JsonObject;
  try {
    const counts = await job.run({ slot, now });
    details = { slot: slot.toISOString(), outcome: 'ok', ...counts };
  } catch (error) {
    options.logger.error({ err: error, job: job.name, slot: slot.toISOString() }, 'job failed');
    details = { slot: slot.toISOString(), outcome: 'error', error: (error as Error).message };
  }
  details.durationMs = Date.now() - started;
  options.onRun?.(job.name, details.outcome === 'ok' ? 'ok' : 'error');
  if (options.instance) details.instance = options.instance;
  await options.queries.insertAudit(systemTenant, {
    actor: systemActor,
    action: `job:${job.name}`,
    target: null,
    details,
    createdAt: now.toISOString(),
  });
  options.logger.info({ job: job.name, ...details }, 'job ran');
  return details;
}

/** Runs one job's slots; implemented in-process (embedded) and on BullMQ (many instances). */
export interface JobScheduler {
  start(
    jobs: readonly JobDefinition[],
    run: (job: JobDefinition, slot: Date) => Promise<unknown>,
  ): Promise<void>;
  /** Stops scheduling and waits for runs in flight. */
  stop(): Promise<void>;
}
