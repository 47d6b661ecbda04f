// Two real server processes on one PostgreSQL database and one Redis (a BullMQ prefix of their
// own), with schedules shortened to seconds: every background job runs exactly once per schedule
// slot across both instances, as its audit rows show, and the retry job settles a FAILED mutation.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { PushResponse } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSkipReason, testPgUrl, testRedisUrl } from '../../packages/server/src/testing/env.js';
import { getJson, postJson } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const missing = !testPgUrl
  ? pgSkipReason
  : !testRedisUrl
    ? 'SYNCLINE_TEST_REDIS_URL is not set (Redis suites run in CI)'
    : undefined;

if (process.env.CI === 'true' && !testRedisUrl) {
  throw new Error(
    'CI=true but SYNCLINE_TEST_REDIS_URL is not set: the Redis suites must run in CI',
  );
}

const every: Record<string, number> = {
  'retry-failed': 1000,
  'cleanup-synced': 2000,
  'prune-history': 2000,
  'evaluate-alerts': 1000,
  'replay-offline': 2000,
};
const SLOTS_WANTED = 4;

interface RunRow {
  action: string;
  details: { slot: string; outcome: string; instance?: string };
}

describe.skipIf(missing !== undefined)(
  `background jobs with two instances${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const suffix = randomBytes(6).toString('hex');
    const database = `syncline_jobs_${suffix}`;
    const prefix = `syncline-test-${suffix}`;
    const admin = () => new pg.Client({ connectionString: testPgUrl });
    const dbUrl = () => {
      const url = new URL(testPgUrl as string);
      url.pathname = `/${database}`;
      return url.toString();
    };
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      const client = admin();
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${database}"`);
      } finally {
        await client.end();
      }
      const env = {
        SYNCLINE_DB_URL: dbUrl(),
        SYNCLINE_REDIS_URL: testRedisUrl as string,
        SYNCLINE_JOBS_PREFIX: prefix,
        // Every other Redis key of the server (rate limits, realtime) under the test's prefix too.
        SYNCLINE_REDIS_PREFIX: `${prefix}:`,
        SYNCLINE_JOB_RETRY_FAILED_EVERY: '1s',
        SYNCLINE_JOB_CLEANUP_SYNCED_EVERY: '2s',
        SYNCLINE_JOB_PRUNE_HISTORY_EVERY: '2s',
        SYNCLINE_JOB_EVALUATE_ALERTS_EVERY: '1s',
        SYNCLINE_JOB_REPLAY_OFFLINE_EVERY: '2s',
      };
      // One after the other, so that the second finds the schema migrated and the schedulers set.
      servers.push(await startServer({ env }));
      servers.push(await startServer({ env }));
    }, 120_000);

    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      const redis = new Redis(testRedisUrl as string);
      try {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
      const client = admin();
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    }, 60_000);

    async function runRows(): Promise<RunRow[]> {
      const client = new pg.Client({ connectionString: dbUrl() });
      await client.connect();
      try {
        const { rows } = await client.query<{ action: string; details: string }>(
          `select action, details from audit_log where tenant = '_system' and action like 'job:%' order by id`,
        );
        return rows.map((r) => ({ action: r.action, details: JSON.parse(r.details) }));
      } finally {
        await client.end();
      }
    }

    it('runs each job once per slot across both instances, and the retry job settles a FAILED mutation', async () => {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      const early = await postJson<PushResponse>(`${a.url}/api/sync`, a.token('u1', 't1'), {
        deviceId: 'tablet',
        changes: [
          {
            mutationId: 'upd',
            entityType: 'note',
            entityId: 'n1',
            operation: 'UPDATE',
            payload: { text: 'later' },
            clientVersion: 1,
            timestamp: new Date().toISOString(),
          },
        ],
      });
      expect(early.results[0]?.status).toBe('REJECTED');
      await postJson<PushResponse>(`${b.url}/api/sync`, b.token('u1', 't1'), {
        deviceId: 'phone',
        changes: [
          {
            mutationId: 'create',
            entityType: 'note',
            entityId: 'n1',
            operation: 'CREATE',
            payload: { text: 'first' },
            clientVersion: 1,
            timestamp: new Date().toISOString(),
          },
        ],
      });

      // Both instances are up and the data is in: from here on, several slots of every job.
      const since = Date.now();
      const queueStats = () =>
        getJson<{ byStatus: Record<string, number> }>(
          `${a.url}/api/sync/queue/stats`,
          a.token('boss', 't1', 'admin'),
        );
      const deadline = Date.now() + 60_000;
      let rows: RunRow[] = [];
      for (;;) {
        rows = await runRows();
        const enough = Object.keys(every).every(
          (name) =>
            rows.filter((r) => r.action === `job:${name}` && Date.parse(r.details.slot) > since)
              .length >= SLOTS_WANTED,
        );
        if (enough && (await queueStats()).byStatus.FAILED === 0) break;
        if (Date.now() > deadline) {
          throw new Error(
            `too few job runs: ${JSON.stringify(rows)}\n${a.output()}\n${b.output()}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      // Both instances stop (SIGTERM) before the rows are judged, so no run is half-written.
      await Promise.all(servers.map((s) => s.kill('SIGTERM')));
      rows = await runRows();

      const instances = new Set<string>();
      for (const [name, ms] of Object.entries(every)) {
        const runs = rows.filter((r) => r.action === `job:${name}`);
        const slots = runs.map((r) => Date.parse(r.details.slot));
        for (const r of runs) {
          expect(r.details.outcome, `${name} ${r.details.slot}`).toBe('ok');
          if (r.details.instance) instances.add(r.details.instance);
        }
        // Slots fall on multiples of the interval, none twice, none skipped.
        for (const slot of slots) expect(slot % ms, `${name} slot ${slot}`).toBe(0);
        expect(new Set(slots).size, `${name}: a slot ran twice`).toBe(slots.length);
        const sorted = [...slots].sort((x, y) => x - y);
        const span = ((sorted.at(-1) as number) - (sorted[0] as number)) / ms + 1;
        expect(sorted.length, `${name}: slots ${sorted.join(', ')}`).toBe(span);
        expect(sorted.length).toBeGreaterThanOrEqual(SLOTS_WANTED);
      }
      console.log(`job runs shared by instances: ${[...instances].join(', ')}`);

      // The retry job, run by whichever instance, applied the waiting update exactly once.
      await a.restart();
      const stats = await queueStats();
      expect(stats.byStatus).toMatchObject({ FAILED: 0, SYNCED: 2 });
      const retried = rows.filter(
        (r) => r.action === 'job:retry-failed' && (r.details as { applied?: number }).applied === 1,
      );
      expect(retried).toHaveLength(1);
    }, 120_000);
  },
);
