// The embedded scheduler: one process, plain timers. Each job runs at every multiple of its
// interval; a run never overlaps the job's previous run, and slots that passed while a run was
// still going are skipped rather than run in a burst.
import { nextSlotAfter, type JobDefinition, type JobScheduler } from './job-registry.js';

export interface InProcessSchedulerOptions {
  /** The time source (tests use fake timers, which fake Date.now too). */
  now?: () => number;
}

export function createInProcessScheduler(options: InProcessSchedulerOptions = {}): JobScheduler {
  const now = options.now ?? Date.now;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let stopped = false;

  return {
    async start(jobs, run) {
      const arm = (job: JobDefinition) => {
        if (stopped) return;
        const slot = nextSlotAfter(now(), job.everyMs);
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            if (stopped) return;
            const done = run(job, new Date(slot))
              .catch(() => undefined)
              .finally(() => {
                running.delete(done);
                arm(job);
              });
            running.add(done);
          },
          Math.max(0, slot - now()),
        );
        // Timers alone must not keep the process alive.
        timer.unref();
        timers.add(timer);
      };
      for (const job of jobs) arm(job);
    },

    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...running]);
    },
  };
}
