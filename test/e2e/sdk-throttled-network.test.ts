// A scaled field day (50 attendance records, 20 asset edits, made offline) through a throttling
// proxy on 127.0.0.1: 50 kbit/s each way, 1 s added round trip, connections dropped at random
// mid-request. Every mutation must reach the real server exactly once. The full day (500 + 200)
// and its wire bytes per change are in `npm run bench`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_DAY_FACILITIES, runFieldDay } from '../support/field-day.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('a field day over a 2G link', () => {
  it('every offline mutation is applied exactly once through drops and latency', async () => {
    const seed = process.env.SYNCLINE_PROXY_SEED;
    const result = await runFieldDay({
      serverUrl: server.url,
      token: server.token('field-worker', 'field-day', 'user', {
        facilities: FIELD_DAY_FACILITIES,
      }),
      runId: 'scaled',
      attendance: 50,
      assetEdits: 20,
      assets: 5,
      // Small batches: more requests, so that drops hit pushes and their answers.
      batchSize: 10,
      proxy: { dropRate: 0.25, ...(seed ? { seed: Number(seed) } : {}) },
      // About 20 s alone; the bound leaves room for a machine busy with the rest of the suite.
      timeoutMs: 120_000,
    });
    console.log(
      `field day (seed ${result.seed}): ${result.changes} changes, ${result.drops} drops, ` +
        `${result.wireBytes.up + result.wireBytes.down} wire bytes, ${Math.round(result.durationMs)} ms`,
    );
    expect(result.problems).toEqual([]);
    expect(result.offlineBytes).toBe(0);
  }, 150_000);
});
