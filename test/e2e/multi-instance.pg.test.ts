// Two server processes on one PostgreSQL schema and one Redis, as behind a load balancer:
// devices push and pull through either at random and end with the database's view, every
// mutation applied once; the push budget holds across both; a push through one pokes a stream on
// the other; SIGTERM during a stream of pushes loses nothing acknowledged and half-applies nothing.
import { randomBytes } from 'node:crypto';
import type { Change, ChangeResult, PushResponse, ServerChange } from '@syncline/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSyncClient, memoryStorage } from '../../packages/client/src/index.js';
import { pgSkipReason, testPgUrl, testRedisUrl } from '../../packages/server/src/testing/env.js';
import { prng } from '../../packages/server/src/testing/prng.js';
import { openSse, openWebSocket } from '../../packages/server/src/testing/stream-client.js';
import { dropPostgresSchema, openStore } from '../../packages/server/src/store/index.js';
import { change, delta, HttpError, push } from '../support/http.js';
import { mintHs256, startServer, type ServerProcess } from '../support/server-process.js';

const runs = Boolean(testPgUrl && testRedisUrl);
const skipReason = !testPgUrl
  ? pgSkipReason
  : 'SYNCLINE_TEST_REDIS_URL is not set (Redis suites run in CI)';

const DEVICES = 20;
const STEPS_PER_DEVICE = 14;
const SHARED_ENTITIES = 8;
const TENANT = 'fleet';

const runId = randomBytes(5).toString('hex');
const schema = `syncline_multi_${runId}`;
const secret = randomBytes(32).toString('hex');

function tokenFor(sub: string, role: 'user' | 'admin' = 'user'): string {
  const now = Math.floor(Date.now() / 1000);
  return mintHs256(secret, { sub, tenant: TENANT, role, iat: now, exp: now + 3600 });
}

/** A device's local copy, built only from what it pulled. */
class Replica {
  readonly entities = new Map<string, { version: number; checksum: string | null }>();
  syncToken: string | undefined;
  apply(changes: readonly ServerChange[]) {
    for (const c of changes) {
      const key = `${c.entityType}/${c.entityId}`;
      const known = this.entities.get(key);
      if (known && known.version >= c.version) continue;
      if (c.operation === 'DELETE') this.entities.delete(key);
      else this.entities.set(key, { version: c.version, checksum: c.checksum });
    }
  }
  version(entityId: string): number | undefined {
    return this.entities.get(`task/${entityId}`)?.version;
  }
}

async function pullInto(baseUrl: string, token: string, deviceId: string, replica: Replica) {
  for (;;) {
    const page = await delta(baseUrl, token, {
      deviceId,
      pageSize: 200,
      ...(replica.syncToken ? { syncToken: replica.syncToken } : {}),
    });
    replica.apply(page.changes);
    replica.syncToken = page.syncToken;
    if (!page.hasMore) return;
  }
}

async function databaseView(client: pg.Client, tenant: string) {
  const { rows } = await client.query<{
    entity_type: string;
    entity_id: string;
    version: number;
    checksum: string | null;
  }>(
    `select entity_type, entity_id, version, checksum from "${schema}".entities
       where tenant = $1 and deleted_at is null`,
    [tenant],
  );
  return new Map(
    rows.map((r) => [
      `${r.entity_type}/${r.entity_id}`,
      { version: Number(r.version), checksum: r.checksum },
    ]),
  );
}

async function historyMutationIds(client: pg.Client, tenant: string, ids: readonly string[]) {
  const { rows } = await client.query<{ mutation_id: string; n: string }>(
    `select mutation_id, count(*) as n from "${schema}".entity_history
       where tenant = $1 and mutation_id = any($2) group by mutation_id`,
    [tenant, ids],
  );
  return new Map(rows.map((r) => [r.mutation_id, Number(r.n)]));
}

describe.skipIf(!runs)(
  `many instances on PostgreSQL and Redis${runs ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    let a: ServerProcess;
    let b: ServerProcess;
    let db: pg.Client;

    beforeAll(async () => {
      const url = new URL(testPgUrl as string);
      url.searchParams.set('schema', schema);
      // Migrate once up front (through ?schema=, as the servers will read it), so the two
      // processes start on a ready schema instead of racing to create it.
      const store = await openStore({ url: url.toString(), dataDir: '.' });
      await store.close();
      const env = {
        SYNCLINE_DB_URL: url.toString(),
        SYNCLINE_REDIS_URL: testRedisUrl as string,
        SYNCLINE_REDIS_PREFIX: `syncline-test-${runId}:`,
        SYNCLINE_JWT_SECRET: secret,
        SYNCLINE_PUSH_LIMIT: '20/5m',
        SYNCLINE_PULL_LIMIT: '600/5m',
        // Long enough to see /readyz answer 503 while requests are still served.
        SYNCLINE_DRAIN_DELAY: '1s',
      };
      [a, b] = await Promise.all([startServer({ env }), startServer({ env })]);
      db = new pg.Client({ connectionString: testPgUrl });
      await db.connect();
    }, 120_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await db?.end();
      await dropPostgresSchema(testPgUrl as string, schema);
    });

    it('20 devices through both instances at random end with the database view, each mutation applied once', async () => {
      const seed = Number(process.env.SYNCLINE_TEST_SEED ?? Date.now() % 2 ** 31);
      console.info(`multi-instance seed=${seed} (replay with SYNCLINE_TEST_SEED=${seed})`);
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const instances = [a, b];

      // Entities every device will edit.
      const setupToken = tokenFor('planner');
      const shared = Array.from({ length: SHARED_ENTITIES }, (_, i) => `shared-${runId}-${i}`);
      await push(a.url, setupToken, {
        deviceId: `planner-${runId}`,
        changes: shared.map((entityId) =>
          change({
            entityType: 'task',
            entityId,
            operation: 'CREATE',
            payload: { title: entityId, status: 'open' },
            clientVersion: 1,
          }),
        ),
      });

      // Each device's plan is drawn up front (one PRNG, one seed); the devices then run at once.
      type Step = {
        via: number;
        kind: 'push' | 'pull' | 'retry';
        creates: number;
        updates: number;
      };
      const plans: Step[][] = Array.from({ length: DEVICES }, () =>
        Array.from({ length: STEPS_PER_DEVICE }, () => {
          const roll = random();
          return {
            via: random() < 0.5 ? 0 : 1,
            kind: roll < 0.55 ? 'push' : roll < 0.85 ? 'pull' : 'retry',
            creates: Math.floor(random() * 3),
            updates: 1 + Math.floor(random() * 3),
          } as Step;
        }),
      );
      const sharedPicks = plans.map(() => Array.from({ length: 64 }, () => pick(shared)));

      const results: ChangeResult[] = [];
      const replicas: Replica[] = [];
      const runDevice = async (d: number) => {
        const user = `clerk-${d}`;
        const token = tokenFor(user);
        const deviceId = `dev-${runId}-${d}`;
        const replica = new Replica();
        replicas[d] = replica;
        let lastBatch: Change[] | undefined;
        let created = 0;
        let picks = 0;
        await pullInto(pick(instances).url, token, deviceId, replica);
        for (const step of plans[d] as Step[]) {
          const server = instances[step.via] as ServerProcess;
          if (step.kind === 'pull') {
            await pullInto(server.url, token, deviceId, replica);
            continue;
          }
          if (step.kind === 'retry' && lastBatch) {
            // A retry of a batch already acknowledged: every change answers DUPLICATE.
            const again = await push(server.url, token, { deviceId, changes: lastBatch });
            for (const r of again.results) expect(r.status, r.mutationId).toBe('DUPLICATE');
            continue;
          }
          const changes: Change[] = [];
          for (let u = 0; u < step.updates; u++) {
            const entityId = sharedPicks[d]?.[picks++ % 64] as string;
            const version = replica.version(entityId);
            if (version === undefined || changes.some((c) => c.entityId === entityId)) continue;
            changes.push(
              change({
                entityType: 'task',
                entityId,
                operation: 'UPDATE',
                payload: { status: `by-${d}-${picks}`, [`seen_${d}`]: picks },
                clientVersion: version,
              }),
            );
          }
          for (let c = 0; c < step.creates; c++) {
            changes.push(
              change({
                entityType: 'task',
                entityId: `own-${runId}-${d}-${created++}`,
                operation: 'CREATE',
                payload: { title: `device ${d}`, status: 'new' },
                clientVersion: 1,
              }),
            );
          }
          if (changes.length === 0) continue;
          const response: PushResponse = await push(server.url, token, {
            deviceId,
            changes,
            ...(replica.syncToken ? { syncToken: replica.syncToken } : {}),
          });
          results.push(...response.results);
          lastBatch = changes;
          replica.apply(response.changes);
          replica.syncToken = response.syncToken;
          if (response.hasMore) await pullInto(server.url, token, deviceId, replica);
        }
      };
      await Promise.all(Array.from({ length: DEVICES }, (_, d) => runDevice(d)));

      // Outcomes: applied or lost to a newer version (SERVER_WINS), never refused.
      expect(results.filter((r) => r.status === 'REJECTED')).toEqual([]);
      const applied = results.filter((r) => r.status === 'APPLIED');
      expect(applied.length).toBeGreaterThan(DEVICES);
      expect(
        results.some((r) => r.status === 'CONFLICT'),
        'devices raced on shared entities',
      ).toBe(true);

      // Each applied mutation wrote exactly one version; nothing else wrote one.
      const appliedIds = applied.map((r) => r.mutationId);
      expect(new Set(appliedIds).size).toBe(appliedIds.length);
      const written = await historyMutationIds(db, TENANT, appliedIds);
      expect([...written.values()].filter((n) => n !== 1)).toEqual([]);
      expect(written.size).toBe(appliedIds.length);
      const { rows } = await db.query<{ n: string }>(
        `select count(*) as n from "${schema}".entity_history where tenant = $1 and mutation_id like $2`,
        [TENANT, '%'],
      );
      expect(Number(rows[0]?.n)).toBe(appliedIds.length + SHARED_ENTITIES);

      // Every device catches up (through either instance) and holds exactly the database's view.
      const expected = await databaseView(db, TENANT);
      await Promise.all(
        replicas.map((replica, d) =>
          pullInto(pick(instances).url, tokenFor(`clerk-${d}`), `dev-${runId}-${d}`, replica),
        ),
      );
      for (const [d, replica] of replicas.entries()) {
        expect(Object.fromEntries(replica.entities), `device ${d}`).toEqual(
          Object.fromEntries(expected),
        );
      }
    }, 240_000);

    it('the push budget holds across instances: 20 pushes over both pass, the 21st answers 429 on either', async () => {
      const token = tokenFor(`budget-${runId}`);
      const deviceId = `budget-${runId}`;
      const one = (server: ServerProcess, i: number) =>
        push(server.url, token, {
          deviceId,
          changes: [
            change({
              entityType: 'task',
              entityId: `budget-${runId}-${i}`,
              operation: 'CREATE',
              payload: { title: `${i}` },
              clientVersion: 1,
            }),
          ],
        });
      for (let i = 0; i < 20; i++) {
        const response = await one(i % 2 === 0 ? a : b, i);
        expect(response.results[0]?.status, `push ${i + 1}`).toBe('APPLIED');
      }
      for (const server of [a, b]) {
        const refused = await one(server, 21).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(HttpError);
        expect((refused as HttpError).status).toBe(429);
        expect((refused as HttpError).body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      }
    });

    it('a device streaming from instance B is poked for a push through instance A (SSE and WebSocket)', async () => {
      const watcher = tokenFor(`watcher-${runId}`);
      const sse = await openSse(b.url, { deviceId: `watch-sse-${runId}`, token: watcher });
      const socket = await openWebSocket(b.url, { deviceId: `watch-ws-${runId}`, token: watcher });
      try {
        const [sseFirst, wsFirst] = await Promise.all([sse.next(), socket.next()]);
        await push(a.url, tokenFor(`writer-${runId}`), {
          deviceId: `writer-${runId}`,
          changes: [
            change({
              entityType: 'task',
              entityId: `poke-${runId}`,
              operation: 'CREATE',
              payload: { title: 'ping' },
              clientVersion: 1,
            }),
          ],
        });
        const [ssePoke, wsPoke] = await Promise.all([
          sse.next((m) => m.syncToken !== sseFirst.syncToken),
          socket.next((m) => m.syncToken !== wsFirst.syncToken),
        ]);
        expect(ssePoke.type).toBe('poke');
        expect(wsPoke).toEqual({ type: 'poke', syncToken: expect.any(String) });
        // The pull the poke asks for (through A) finds the change.
        const pulled = await delta(a.url, watcher, {
          deviceId: `watch-sse-${runId}`,
          syncToken: sseFirst.syncToken as string,
        });
        expect(pulled.changes.map((c) => c.entityId)).toContain(`poke-${runId}`);
      } finally {
        sse.close();
        socket.close();
      }
    });

    it('an SDK client streaming from instance B holds a change pushed through instance A, without its timer', async () => {
      const watcher = tokenFor(`sdk-watcher-${runId}`);
      const client = createSyncClient({
        url: b.url,
        getToken: () => watcher,
        storage: memoryStorage(),
        // An hour: only the poke can bring the change in within this test.
        syncIntervalMs: 60 * 60_000,
      });
      try {
        client.start();
        await vi.waitFor(() => expect(client.status.lastSyncAt).not.toBeNull(), {
          timeout: 15_000,
        });
        const syncedOnce = client.status.lastSyncAt;
        // The stream greets a new connection with a poke; wait for that sync to pass.
        await vi.waitFor(() => expect(client.status.state).toBe('idle'), { timeout: 15_000 });
        const entityId = `sdk-poke-${runId}`;
        await push(a.url, tokenFor(`writer-${runId}`), {
          deviceId: `sdk-writer-${runId}`,
          changes: [
            change({
              entityType: 'task',
              entityId,
              operation: 'CREATE',
              payload: { title: 'from A' },
              clientVersion: 1,
            }),
          ],
        });
        await vi.waitFor(
          async () =>
            expect(await client.collection('task').get(entityId)).toEqual({
              id: entityId,
              title: 'from A',
            }),
          { timeout: 15_000, interval: 100 },
        );
        expect(client.status.lastSyncAt).not.toBe(syncedOnce);
      } finally {
        client.stop();
        await client.close();
      }
    });

    it('SIGTERM during a stream of pushes: /readyz 503 first, streams told to reconnect, nothing acknowledged lost, nothing half-applied', async () => {
      // Within the push budget (20 per user): every batch is sent to A once, and again to B only
      // if A did not acknowledge it.
      const WRITERS = 8;
      const BATCHES = 16;
      const PER_BATCH = 5;
      const sse = await openSse(a.url, {
        deviceId: `drain-sse-${runId}`,
        token: tokenFor('drain-watch'),
      });
      const socket = await openWebSocket(a.url, {
        deviceId: `drain-ws-${runId}`,
        token: tokenFor('drain-watch'),
      });
      await Promise.all([sse.next(), socket.next()]);

      const batchesOf = (w: number) =>
        Array.from({ length: BATCHES }, (_, n) =>
          Array.from({ length: PER_BATCH }, (_, k) =>
            change({
              mutationId: `drain-${runId}-${w}-${n}-${k}`,
              entityType: 'task',
              entityId: `drain-${runId}-${w}-${n}-${k}`,
              operation: 'CREATE',
              payload: { title: `batch ${n}` },
              clientVersion: 1,
            }),
          ),
        );
      const plans = Array.from({ length: WRITERS }, (_, w) => batchesOf(w));
      const acknowledged: ChangeResult[] = [];
      const unknown: Change[][] = [];
      const refused: Change[][] = [];
      let acknowledgedBatches = 0;
      let signalled = false;
      let exited: Promise<void> | undefined;
      const readyz: number[] = [];
      let polling: Promise<void> | undefined;

      const writer = async (w: number) => {
        const token = tokenFor(`drainer-${w}`);
        const deviceId = `drain-${runId}-dev-${w}`;
        let onA = true;
        for (const batch of plans[w] as Change[][]) {
          if (!onA) break;
          // Paced, so that pushes are still arriving when the drain delay ends and A closes.
          await new Promise((resolve) => setTimeout(resolve, 40));
          try {
            const response = await push(a.url, token, { deviceId, changes: batch });
            acknowledged.push(...response.results);
            acknowledgedBatches += 1;
          } catch (error) {
            onA = false;
            // 503 while closing: refused, not applied. A dropped connection: outcome unknown.
            if (error instanceof HttpError && error.status === 503) refused.push(batch);
            else unknown.push(batch);
          }
          if (acknowledgedBatches >= 8 && !signalled) {
            signalled = true;
            exited = a.kill('SIGTERM');
            // While draining, the load balancer's health check sees 503.
            polling = (async () => {
              // Until A stops answering (bounded): 503 during the drain delay, then refused.
              for (let i = 0; i < 60; i++) {
                try {
                  readyz.push((await fetch(`${a.url}/readyz`)).status);
                } catch {
                  readyz.push(0);
                  break;
                }
                await new Promise((resolve) => setTimeout(resolve, 50));
              }
            })();
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      expect(signalled).toBe(true);
      await exited;
      await polling;
      // A clean exit, not the shutdown timeout's.
      expect(a.output()).not.toContain('shutdown took too long');
      expect(a.output()).not.toContain('shutdown step failed');
      expect(readyz).toContain(503);
      expect(acknowledgedBatches).toBeGreaterThanOrEqual(8);
      console.info(
        `drain: ${acknowledgedBatches} batches acknowledged, ${refused.length} refused (503), ${unknown.length} cut off`,
      );

      // Streams on A were told to come back, the WebSocket with close 1012.
      expect(sse.messages.some((m) => m.type === 'reconnect')).toBe(true);
      expect(socket.messages.some((m) => m.type === 'reconnect')).toBe(true);
      expect((await socket.ended).code).toBe(1012);

      // Everything acknowledged is there; every batch is all there or not there at all.
      expect(acknowledged.every((r) => r.status === 'APPLIED')).toBe(true);
      const allIds = plans.flat(2).map((c) => c.mutationId as string);
      const written = await historyMutationIds(db, TENANT, allIds);
      for (const r of acknowledged) expect(written.get(r.mutationId), r.mutationId).toBe(1);
      for (const batch of plans.flat()) {
        const present = batch.filter((c) => written.has(c.mutationId as string)).length;
        expect([0, PER_BATCH], `batch of ${batch[0]?.mutationId}`).toContain(present);
      }
      for (const batch of refused) {
        for (const c of batch) expect(written.has(c.mutationId as string)).toBe(false);
      }

      // The devices carry on through B: the rest applies, and the cut-off batches exactly once.
      const acknowledgedIds = new Set(acknowledged.map((r) => r.mutationId));
      await Promise.all(
        plans.map(async (batches, w) => {
          const token = tokenFor(`drainer-${w}`);
          const deviceId = `drain-${runId}-dev-${w}`;
          for (const batch of batches) {
            if (acknowledgedIds.has(batch[0]?.mutationId as string)) continue;
            const response = await push(b.url, token, { deviceId, changes: batch });
            for (const r of response.results) expect(['APPLIED', 'DUPLICATE']).toContain(r.status);
          }
        }),
      );
      const final = await historyMutationIds(db, TENANT, allIds);
      expect(final.size).toBe(allIds.length);
      expect([...final.values()].every((n) => n === 1)).toBe(true);
      sse.close();
    }, 120_000);
  },
);
