// The bad-input fuzz suite, run once per store: ≥ 10,000 generated requests over every documented
// route against the real server process. SYNCLINE_FUZZ_SEED replays a run; the seed is printed.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../../packages/server/src/store/index.js';
import { startServer, type ServerProcess } from '../server-process.js';
import { dumpPostgres, dumpSqlite } from './data-dump.js';
import { runFuzz, type FuzzReport } from './fuzz-run.js';

const refusedRequests = 6_000;
const mixedRequests = 4_000;

export function fuzzSuite(store: 'sqlite' | { pgUrl: string }): void {
  const seed = Number(process.env.SYNCLINE_FUZZ_SEED ?? randomBytes(4).readUInt32BE(0));
  const schema = `syncline_fuzz_${randomBytes(5).toString('hex')}`;
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      env: {
        // Scheduled jobs would change the data under the dump; replays may only reach a closed port.
        SYNCLINE_JOBS: 'off',
        SYNCLINE_UPSTREAM_ALLOW: '127.0.0.1:9',
        ...(store === 'sqlite' ? {} : { SYNCLINE_DB_URL: `${store.pgUrl}?schema=${schema}` }),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (store !== 'sqlite') await dropPostgresSchema(store.pgUrl, schema);
  });

  it('answers every generated request below 500, refuses each defective one with a structured 4xx, and refused requests change nothing', async () => {
    const where = store === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    console.log(`bad-input fuzz on ${where}: seed ${seed} (replay: SYNCLINE_FUZZ_SEED=${seed})`);
    const report: FuzzReport = await runFuzz({
      server,
      seed,
      refused: refusedRequests,
      mixed: mixedRequests,
      dump: () =>
        store === 'sqlite'
          ? Promise.resolve(dumpSqlite(server.dataDir))
          : dumpPostgres(store.pgUrl, schema),
    });
    console.log(
      `bad-input fuzz on ${where}: ${report.sent} requests over ${Object.keys(report.byRoute).length} routes; ` +
        `answers ${JSON.stringify(report.byStatus)}`,
    );
    // One line per kind of failure (phase, defect, route, answer), with a count and an example.
    const kinds = new Map<string, { count: number; example: string }>();
    for (const f of report.failures) {
      const key = `[${f.phase} ${f.defect}] ${f.route} → ${f.outcome.slice(0, 40)}`;
      const kind = kinds.get(key) ?? { count: 0, example: `${f.request}\n      → ${f.outcome}` };
      kind.count++;
      kinds.set(key, kind);
    }
    const shown = [...kinds]
      .slice(0, 100)
      .map(([key, { count, example }]) => `${count}× ${key}\n    e.g. ${example}`);
    if (shown.length > 0) console.log(`${report.failures.length} failures:\n${shown.join('\n')}`);
    if (report.dataChanged.length > 0)
      console.log(`refused requests changed data:\n${report.dataChanged.join('\n')}`);
    if (report.failures.some((f) => f.outcome.includes('fetch failed')))
      console.log(`server output:\n${server.output()}`);
    expect(report.failures.length, `failures (seed ${seed}), listed above`).toBe(0);
    expect(report.dataChanged, `refused requests changed data (seed ${seed})`).toEqual([]);
    expect(report.sent).toBeGreaterThanOrEqual(refusedRequests + mixedRequests);
    expect(report.healthyAfter, server.output()).toBe(true);
  }, 600_000);
}
