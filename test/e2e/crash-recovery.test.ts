// Durability and exactly-once across a crash: SIGKILL the server while several devices push, restart
// it on the same data, and check that nothing acknowledged was lost and no retry applies twice.
import type { Change, ChangeResult, PushResponse } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { change, getJson, pullAll, push } from '../support/http.js';
import { prng } from '../../packages/server/src/testing/prng.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const CLIENTS = 4;
const BATCHES_PER_CLIENT = 30;
const CREATES_PER_BATCH = 4;
const UPDATES_PER_BATCH = 4;
const KILL_AFTER_ACKNOWLEDGED_BATCHES = 25;
const TENANT = 'crash';

interface PlannedChange {
  change: Change;
  /** The version this mutation produces when every earlier mutation of the plan has applied. */
  version: number;
}

interface ClientPlan {
  user: string;
  deviceId: string;
  batches: PlannedChange[][];
}

/** Every client's batches, fixed up front so that any prefix of them has a known outcome. */
function plan(
  seed: number,
  runId: string,
): { clients: ClientPlan[]; finalVersions: Map<string, number> } {
  const next = prng(seed);
  const finalVersions = new Map<string, number>();
  const clients = Array.from({ length: CLIENTS }, (_, c) => {
    const deviceId = `crash-${runId}-dev-${c}`;
    const owned: string[] = [];
    const batches: PlannedChange[][] = [];
    for (let b = 0; b < BATCHES_PER_CLIENT; b++) {
      const batch: PlannedChange[] = [];
      // Updates first, on entities of earlier batches, so a batch never depends on itself.
      const updates = b === 0 ? 0 : UPDATES_PER_BATCH;
      for (let u = 0; u < updates; u++) {
        const entityId = owned[Math.floor(next() * owned.length)] as string;
        const current = finalVersions.get(entityId) as number;
        batch.push({
          change: change({
            mutationId: `${deviceId}-b${b}-u${u}`,
            entityType: 'asset',
            entityId,
            operation: 'UPDATE',
            payload: { status: `status-${b}-${u}`, [`field${u}`]: b },
            clientVersion: current,
          }),
          version: current + 1,
        });
        finalVersions.set(entityId, current + 1);
      }
      for (let k = 0; k < CREATES_PER_BATCH; k++) {
        const entityId = `${deviceId}-asset-${b}-${k}`;
        owned.push(entityId);
        finalVersions.set(entityId, 1);
        batch.push({
          change: change({
            mutationId: `${deviceId}-b${b}-c${k}`,
            entityType: 'asset',
            entityId,
            operation: 'CREATE',
            payload: { name: `Asset ${b}.${k}`, status: 'new' },
            clientVersion: 1,
          }),
          version: 1,
        });
      }
      batches.push(batch);
    }
    return { user: `user-${c}`, deviceId, batches };
  });
  return { clients, finalVersions };
}

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('crash recovery', () => {
  it('keeps every acknowledged mutation through SIGKILL and applies none twice on retry', async () => {
    const seed = Number(process.env.SYNCLINE_TEST_SEED ?? Date.now() % 2 ** 31);
    console.info(`crash-recovery seed=${seed} (replay with SYNCLINE_TEST_SEED=${seed})`);
    const runId = seed.toString(36);
    const { clients, finalVersions } = plan(seed, runId);
    const tokens = clients.map((client) => server.token(client.user, TENANT));
    const plannedVersion = new Map<string, number>();
    for (const client of clients) {
      for (const batch of client.batches) {
        for (const { change: c, version } of batch)
          plannedVersion.set(c.mutationId as string, version);
      }
    }

    // Phase 1: concurrent streams of pushes; SIGKILL once enough batches are acknowledged.
    const acknowledged: ChangeResult[] = [];
    let acknowledgedBatches = 0;
    let interrupted = 0;
    let inFlight = 0;
    let killed: Promise<void> | undefined;
    // Each device keeps pushing until the server is gone, as devices would: under group commit
    // the requests in flight beside the one that triggers the kill may all be answered by the
    // same COMMIT, and the pushes sent after it are the ones that die in flight.
    const streams = clients.map(async (client, c) => {
      for (const batch of client.batches) {
        let response: PushResponse;
        inFlight += 1;
        try {
          response = await push(server.url, tokens[c] as string, {
            deviceId: client.deviceId,
            changes: batch.map((p) => p.change),
          });
        } catch {
          interrupted += 1; // The server died under this request: its outcome is unknown.
          return;
        } finally {
          inFlight -= 1;
        }
        acknowledged.push(...response.results);
        acknowledgedBatches += 1;
        // Kill while every other stream waits on an answer, so that some requests die in flight
        // (on a loaded machine, a kill at a fixed count can land between requests).
        if (
          !killed &&
          acknowledgedBatches >= KILL_AFTER_ACKNOWLEDGED_BATCHES &&
          inFlight >= CLIENTS - 1
        )
          killed = server.kill('SIGKILL');
      }
    });
    await Promise.all(streams);
    expect(killed, 'the server was killed mid-stream').toBeDefined();
    await killed;
    const totalBatches = CLIENTS * BATCHES_PER_CLIENT;
    expect(acknowledgedBatches).toBeGreaterThanOrEqual(KILL_AFTER_ACKNOWLEDGED_BATCHES);
    expect(acknowledgedBatches).toBeLessThan(totalBatches);
    expect(interrupted, 'requests in flight when the server died').toBeGreaterThan(0);
    console.info(
      `acknowledged ${acknowledgedBatches} batches; ${interrupted} interrupted in flight`,
    );
    for (const result of acknowledged) {
      expect(result.status, result.mutationId).toBe('APPLIED');
      expect(result.version, result.mutationId).toBe(plannedVersion.get(result.mutationId));
    }

    // Phase 2: same data directory, new process. Everything acknowledged must be there.
    await server.restart();
    const adminToken = server.token('admin', TENANT, 'admin');
    const afterCrash = await pullAll(server.url, adminToken, `crash-${runId}-auditor`);
    const present = new Set(afterCrash.changes.map((c) => `${c.entityId}@${c.version}`));
    const lost = acknowledged.filter((r) => !present.has(`${r.entityId}@${r.version}`));
    expect(lost, 'acknowledged mutations missing after the crash').toEqual([]);

    // Phase 3: every device re-sends all of its batches, acknowledged or not.
    const firstOutcome = new Map(acknowledged.map((r) => [r.mutationId, r]));
    const retried = await Promise.all(
      clients.map(async (client, c) => {
        const results: ChangeResult[] = [];
        for (const batch of client.batches) {
          const response = await push(server.url, tokens[c] as string, {
            deviceId: client.deviceId,
            changes: batch.map((p) => p.change),
          });
          results.push(...response.results);
        }
        return results;
      }),
    );
    for (const result of retried.flat()) {
      const first = firstOutcome.get(result.mutationId);
      if (first) {
        expect(result.status, result.mutationId).toBe('DUPLICATE');
        expect(result.originalStatus, result.mutationId).toBe('APPLIED');
      } else {
        // Unacknowledged: either it committed just before the kill, or it applies now.
        expect(['APPLIED', 'DUPLICATE'], result.mutationId).toContain(result.status);
        if (result.status === 'DUPLICATE') expect(result.originalStatus).toBe('APPLIED');
      }
      expect(result.version, result.mutationId).toBe(plannedVersion.get(result.mutationId));
    }

    // Versions moved by exactly one per mutation: each version appears once in the feed, the last
    // one is the planned final version, and history holds one row per distinct mutation.
    const feed = (await pullAll(server.url, adminToken, `crash-${runId}-auditor-2`)).changes.filter(
      (c) => finalVersions.has(c.entityId),
    );
    const versionsByEntity = new Map<string, number[]>();
    for (const c of feed) {
      versionsByEntity.set(c.entityId, [...(versionsByEntity.get(c.entityId) ?? []), c.version]);
    }
    expect(versionsByEntity.size).toBe(finalVersions.size);
    for (const [entityId, final] of finalVersions) {
      const versions = versionsByEntity.get(entityId) ?? [];
      expect(versions, entityId).toEqual(Array.from({ length: final }, (_, i) => i + 1));
    }
    const sample = [...finalVersions.entries()].filter((_, i) => i % 5 === 0);
    for (const [entityId, final] of sample) {
      const body = await getJson<unknown[] | { history: unknown[] }>(
        `${server.url}/api/sync/entities/asset/${encodeURIComponent(entityId)}/history`,
        adminToken,
      );
      const history = Array.isArray(body) ? body : body.history;
      expect(history, entityId).toHaveLength(final);
    }
  }, 180_000);
});
