// Prometheus scrapes the real server process: the applied-changes counter grows by exactly the
// changes pushed, and a scrape without SYNCLINE_METRICS_TOKEN is refused with 401.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sample } from '../../packages/server/src/testing/prometheus.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const metricsToken = 'scrape-token-0123456789';
let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({
    env: { SYNCLINE_METRICS_TOKEN: metricsToken, SYNCLINE_JOBS: 'off' },
  });
});
afterAll(() => server?.stop());

async function scrape(authorization?: string) {
  return fetch(`${server.url}/metrics`, { headers: authorization ? { authorization } : {} });
}

it('counts every applied change once and refuses a scrape without the token', async () => {
  const unauthorized = await scrape();
  expect(unauthorized.status).toBe(401);
  expect((await unauthorized.json()).error.code).toBe('UNAUTHENTICATED');

  const applied = async () => {
    const res = await scrape(`Bearer ${metricsToken}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return sample(await res.text(), 'syncline_changes_applied_total{api="sync"}');
  };
  const before = await applied();
  const changes = Array.from({ length: 7 }, (_, i) => ({
    mutationId: `m-${i}`,
    entityType: 'asset',
    entityId: `a-${i}`,
    operation: 'CREATE',
    payload: { n: i },
    clientVersion: 1,
    timestamp: new Date().toISOString(),
  }));
  const push = () =>
    fetch(`${server.url}/api/sync`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${server.token('u1', 't1')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ deviceId: 'scraped-device', changes }),
    });
  expect((await push()).status).toBe(200);
  expect(await applied()).toBe(before + 7);
  // A retry of the same batch applies nothing again.
  expect((await push()).status).toBe(200);
  expect(await applied()).toBe(before + 7);
});

it('counts SQLite COMMITs and the writes they made durable, several writes to a COMMIT at once', async () => {
  const stores = async () => {
    const text = await (await scrape(`Bearer ${metricsToken}`)).text();
    return {
      commits: sample(text, 'syncline_sqlite_commits_total'),
      writes: sample(text, 'syncline_sqlite_commit_writes_total'),
    };
  };
  const before = await stores();
  const devices = Array.from({ length: 20 }, (_, i) => `group-device-${i}`);
  const answers = await Promise.all(
    devices.map((deviceId) =>
      fetch(`${server.url}/api/sync`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${server.token('u1', 't1')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          deviceId,
          changes: [
            {
              mutationId: `${deviceId}-m`,
              entityType: 'asset',
              entityId: `${deviceId}-a`,
              operation: 'CREATE',
              payload: { n: 1 },
              clientVersion: 1,
              timestamp: new Date().toISOString(),
            },
          ],
        }),
      }),
    ),
  );
  expect(answers.map((a) => a.status)).toEqual(devices.map(() => 200));
  const after = await stores();
  const writes = after.writes - before.writes;
  const commits = after.commits - before.commits;
  // Every push is one write; each COMMIT made at least one durable.
  expect(writes).toBeGreaterThanOrEqual(devices.length);
  expect(commits).toBeGreaterThan(0);
  expect(commits).toBeLessThanOrEqual(writes);
});
