// The change feed is gap-free under concurrency: 8 devices push through HTTP while a reader follows
// the cursor in pages of 5; the reader must see every committed change exactly once, in seq order.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Change, ServerChange } from '@syncline/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../packages/server/src/testing/env.js';
import { change, delta, push } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const WRITERS = 8;
const BATCHES_PER_WRITER = 12;
const CHANGES_PER_BATCH = 5;
const PAGE_SIZE = 5;
const TENANT = 'feed';

const keyOf = (c: { entityType: string; entityId: string; version?: number }) =>
  `${c.entityType}/${c.entityId}@${c.version}`;

/** One device: creates entities, then keeps updating them, tracking versions from the answers. */
async function writer(server: ServerProcess, index: number, runId: string): Promise<string[]> {
  const token = server.token(`writer-${index}`, TENANT);
  const deviceId = `feed-${runId}-writer-${index}`;
  const versions = new Map<string, number>();
  const applied: string[] = [];
  for (let b = 0; b < BATCHES_PER_WRITER; b++) {
    const changes: Change[] = [];
    for (let k = 0; k < CHANGES_PER_BATCH; k++) {
      const entityId = `${deviceId}-task-${k}`;
      const version = versions.get(entityId);
      changes.push(
        version === undefined
          ? change({
              entityType: 'task',
              entityId,
              operation: 'CREATE',
              payload: { title: `Task ${k}`, status: 'open' },
              clientVersion: 1,
            })
          : change({
              entityType: 'task',
              entityId,
              operation: 'UPDATE',
              payload: { status: `step-${b}` },
              clientVersion: version,
            }),
      );
    }
    const response = await push(server.url, token, { deviceId, changes });
    for (const result of response.results) {
      expect(result.status, JSON.stringify(result)).toBe('APPLIED');
      versions.set(result.entityId, result.version as number);
      applied.push(
        keyOf({
          entityType: result.entityType,
          entityId: result.entityId,
          version: result.version as number,
        }),
      );
    }
  }
  return applied;
}

/** Follows the feed in small pages until the writers are done and a poll finds nothing new. */
async function reader(
  server: ServerProcess,
  runId: string,
  writersDone: () => boolean,
): Promise<{ seen: ServerChange[]; seenWhileWriting: number }> {
  const token = server.token('reader', TENANT);
  const seen: ServerChange[] = [];
  let seenWhileWriting = 0;
  let syncToken: string | undefined;
  for (;;) {
    const done = writersDone();
    const page = await delta(server.url, token, {
      deviceId: `feed-${runId}-reader`,
      entityTypes: ['task'],
      pageSize: PAGE_SIZE,
      ...(syncToken ? { syncToken } : {}),
    });
    expect(page.changes.length).toBeLessThanOrEqual(PAGE_SIZE);
    seen.push(...page.changes);
    if (!done) seenWhileWriting += page.changes.length;
    syncToken = page.syncToken;
    // Quiet: the writers had finished before this poll began, and it found nothing more.
    if (done && !page.hasMore && page.changes.length === 0) return { seen, seenWhileWriting };
    if (!page.hasMore) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function runFeedTest(startWith: () => Promise<ServerProcess>) {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startWith();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('shows a reader every change exactly once while 8 writers push', async () => {
    const runId = randomUUID().slice(0, 8);
    let finished = false;
    const readerDone = reader(server, runId, () => finished);
    const written = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) => writer(server, i, runId)),
    ).finally(() => {
      finished = true;
    });
    const { seen, seenWhileWriting } = await readerDone;
    // The reader must really have raced the writers, or the test proves nothing about concurrency.
    expect(seenWhileWriting).toBeGreaterThan(0);

    const expected = written.flat();
    expect(expected).toHaveLength(WRITERS * BATCHES_PER_WRITER * CHANGES_PER_BATCH);

    const seenKeys = seen.map(keyOf);
    const counts = new Map<string, number>();
    for (const key of seenKeys) counts.set(key, (counts.get(key) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([key]) => key);
    expect(twice, 'changes the reader saw more than once').toEqual([]);
    const missed = expected.filter((key) => !counts.has(key));
    expect(missed, 'changes the reader never saw').toEqual([]);
    expect(seenKeys.filter((key) => !expected.includes(key))).toEqual([]);

    const seqs = seen.map((c) => c.seq);
    for (let i = 1; i < seqs.length; i++) {
      expect(seqs[i], `seq after ${seqs[i - 1]}`).toBeGreaterThan(seqs[i - 1] as number);
    }
  }, 120_000);
}

describe('concurrent writers and a paging reader: SQLite', () => {
  runFeedTest(() => startServer());
});

describe.skipIf(!testPgUrl)(
  `concurrent writers and a paging reader: PostgreSQL${testPgUrl ? '' : ` (skipped: ${pgSkipReason})`}`,
  () => {
    // A database of its own, so the server's migrations run on an empty schema and nothing leaks
    // between runs; dropped afterwards.
    const database = `syncline_e2e_${randomBytes(6).toString('hex')}`;
    const admin = () => new pg.Client({ connectionString: testPgUrl });

    afterAll(async () => {
      const client = admin();
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    });

    runFeedTest(async () => {
      const client = admin();
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${database}"`);
      } finally {
        await client.end();
      }
      const url = new URL(testPgUrl as string);
      url.pathname = `/${database}`;
      return startServer({ env: { SYNCLINE_DB_URL: url.toString() } });
    });
  },
);
