// The shared scheduler for many server instances: one BullMQ queue in Redis with a job scheduler
// per job (its id is the job's name). Every instance upserts the same schedulers and runs a
// worker; BullMQ makes one job per slot and hands it to one worker, so each slot runs once
// across all instances, whichever instance is up.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../engine/ports.js';
import { nextSlotAfter, slotOf, type JobScheduler } from './job-registry.js';

export interface BullmqSchedulerOptions {
  /** SYNCLINE_REDIS_URL. */
  redisUrl: string;
  /** Key prefix of every BullMQ key (tests use a unique one). */
  prefix?: string;
  queueName?: string;
  logger: Logger;
  /** How long start() waits for Redis before it fails (default 10 s). */
  readyTimeoutMs?: number;
}

export const bullmqSchedulerDefaults = { prefix: 'syncline', queueName: 'maintenance' } as const;

/** The slot a scheduler-made job serves: its id is `repeat:<scheduler id>:<slot millis>`. */
export function slotOfJob(job: Pick<Job, 'id' | 'timestamp' | 'delay'>, everyMs: number): Date {
  const millis = Number(/:(\d+)$/.exec(job.id ?? '')?.[1]);
  return new Date(
    Number.isFinite(millis) ? millis : slotOf(job.timestamp + (job.delay ?? 0), everyMs),
  );
}

export function createBullmqScheduler(options: BullmqSchedulerOptions): JobScheduler {
  const prefix = options.prefix ?? bullmqSchedulerDefaults.prefix;
  const queueName = options.queueName ?? bullmqSchedulerDefaults.queueName;
  // BullMQ's blocking reads need maxRetriesPerRequest: null.
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  // ioredis reconnects on its own; one line a minute is enough to say Redis is away.
  let lastWarned = 0;
  const warn = (err: unknown, what: string) => {
    if (Date.now() - lastWarned < 60_000) return;
    lastWarned = Date.now();
    options.logger.warn({ err }, `jobs: ${what}`);
  };
  connection.on('error', (err) => warn(err, 'redis connection error'));
  let queue: Queue | undefined;
  let worker: Worker | undefined;

  return {
    async start(jobs, run) {
      await readyWithin(connection, options.readyTimeoutMs ?? 10_000);
      const byName = new Map(jobs.map((job) => [job.name, job]));
      queue = new Queue(queueName, {
        connection,
        prefix,
        // Keep a short trail in Redis; the audit rows are the record of runs.
        defaultJobOptions: { removeOnComplete: 100, removeOnFail: 100 },
      });
      for (const job of jobs) {
        // The first slot is aligned to the interval, and the scheduler keeps to it; an upsert by
        // another instance with the same interval keeps the slot already planned.
        await queue.upsertJobScheduler(
          job.name,
          { every: job.everyMs, startDate: nextSlotAfter(Date.now(), job.everyMs) },
          { name: job.name },
        );
      }
      worker = new Worker(
        queueName,
        async (bullJob) => {
          const job = byName.get(bullJob.name);
          if (!job) {
            options.logger.warn({ job: bullJob.name }, 'jobs: no handler on this instance');
            return;
          }
          await run(job, slotOfJob(bullJob, job.everyMs));
        },
        { connection, prefix, concurrency: Math.max(1, jobs.length) },
      );
      queue.on('error', (err) => warn(err, 'queue error'));
      worker.on('error', (err) => warn(err, 'worker error'));
    },

    async stop() {
      // close() waits for the runs in flight; the schedulers stay in Redis for the other instances.
      await worker?.close();
      await queue?.close();
      if (connection.status === 'ready') await connection.quit().catch(() => undefined);
      connection.disconnect();
    },
  };
}

/** Resolves once Redis answers; rejects after `ms` so that a wrong URL fails the start, loudly. */
function readyWithin(connection: Redis, ms: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.off('ready', onReady);
      connection.disconnect();
      reject(new Error(`SYNCLINE_REDIS_URL: Redis did not answer within ${ms / 1000} s`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    connection.once('ready', onReady);
  });
}
