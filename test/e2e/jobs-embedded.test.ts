// The embedded server (one process on SQLite, no Redis) runs the background jobs in-process once
// it is listening, and SYNCLINE_JOBS=off keeps them off on an instance.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server-process.js';

const fast = {
  // In-process: no Redis even if the shell running the tests has one configured.
  SYNCLINE_REDIS_URL: '',
  SYNCLINE_JOB_RETRY_FAILED_EVERY: '1s',
  SYNCLINE_JOB_CLEANUP_SYNCED_EVERY: '1s',
  SYNCLINE_JOB_PRUNE_HISTORY_EVERY: '1s',
  SYNCLINE_JOB_EVALUATE_ALERTS_EVERY: '1s',
  SYNCLINE_JOB_REPLAY_OFFLINE_EVERY: '1s',
};

function jobRuns(server: ServerProcess): { action: string; slot: string }[] {
  const db = new BetterSqlite3(join(server.dataDir, 'syncline.db'), { readonly: true });
  try {
    const rows = db
      .prepare(
        `select action, details from audit_log where tenant = '_system' and action like 'job:%'`,
      )
      .all() as { action: string; details: string }[];
    return rows.map((r) => ({
      action: r.action,
      slot: (JSON.parse(r.details) as { slot: string }).slot,
    }));
  } finally {
    db.close();
  }
}

describe('background jobs in the embedded server', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('runs every job on its schedule, once per slot', async () => {
    server = await startServer({ env: fast });
    const deadline = Date.now() + 30_000;
    let runs = jobRuns(server);
    while (new Set(runs.map((r) => r.action)).size < 5 || runs.length < 15) {
      if (Date.now() > deadline) throw new Error(`too few runs: ${JSON.stringify(runs)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      runs = jobRuns(server);
    }
    expect(new Set(runs.map((r) => r.action))).toEqual(
      new Set([
        'job:retry-failed',
        'job:cleanup-synced',
        'job:prune-history',
        'job:evaluate-alerts',
        'job:replay-offline',
      ]),
    );
    const keys = runs.map((r) => `${r.action}@${r.slot}`);
    expect(new Set(keys).size).toBe(keys.length);
  }, 60_000);

  it('SYNCLINE_JOBS=off runs none', async () => {
    server = await startServer({ env: { ...fast, SYNCLINE_JOBS: 'off' } });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(jobRuns(server)).toEqual([]);
  }, 60_000);
});
