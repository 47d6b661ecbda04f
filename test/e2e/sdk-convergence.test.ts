// Five SDK clients against the real server process while their networks misbehave: offline
// windows, 503s, and responses dropped AFTER the server applied the batch. Once the network is
// back and every client has synced until quiet, each client's find() equals the server's state
// and every mutation produced at most one version. The seed is printed; replay with SDK_E2E_SEED.
import { join } from 'node:path';
import type { HistoryEntry, PushRequest } from '@syncline/protocol';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSyncClient,
  memoryStorage,
  type SyncClient,
} from '../../packages/client/src/index.js';
import { prng } from '../../packages/server/src/testing/prng.js';
import { getJson, latestVersions, pullAll } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { requestJson } from '../support/sdk-fetch.js';

const TYPE = 'note';
const CLIENTS = 5;
const OPERATIONS = 300;

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

interface Chaos {
  enabled: boolean;
  offlineUntil: number;
  tick: number;
  stats: { offline: number; dropped: number; unavailable: number; delivered: number };
}

/** A fetch that fails the way field networks do, decided by the seeded random source. */
function chaoticFetch(random: () => number, chaos: Chaos, sent: Set<string>): typeof fetch {
  return async (input, init) => {
    chaos.tick++;
    if (String(input).endsWith('/api/sync') && init?.body !== undefined) {
      const request = requestJson(init) as PushRequest;
      for (const change of request.changes) sent.add(change.mutationId ?? '');
    }
    if (chaos.enabled) {
      if (chaos.tick < chaos.offlineUntil) {
        chaos.stats.offline++;
        throw new TypeError('fetch failed (offline)');
      }
      const roll = random();
      if (roll < 0.08) {
        // An offline window of a few requests.
        chaos.offlineUntil = chaos.tick + 1 + Math.floor(random() * 6);
        chaos.stats.offline++;
        throw new TypeError('fetch failed (offline)');
      }
      if (roll < 0.13) {
        chaos.stats.unavailable++;
        return new Response(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'down' } }), {
          status: 503,
          headers: { 'content-type': 'application/json' },
        });
      }
      if (roll < 0.25) {
        // The server applies the request; the answer never arrives.
        const response = await fetch(input, init);
        await response.arrayBuffer();
        chaos.stats.dropped++;
        throw new TypeError('fetch failed (connection reset)');
      }
    }
    chaos.stats.delivered++;
    return fetch(input, init);
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T | undefined =>
  items[Math.floor(random() * items.length)];

async function historyOf(adminToken: string, id: string): Promise<HistoryEntry[]> {
  const body = await getJson<{ history: HistoryEntry[] }>(
    `${server.url}/api/sync/entities/${TYPE}/${encodeURIComponent(id)}/history`,
    adminToken,
  );
  return body.history;
}

describe('SDK clients on bad networks', () => {
  it('converge on the server state, and the server applied each mutation once', async () => {
    const seed = Number(process.env.SDK_E2E_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`sdk-convergence seed: ${seed} (replay with SDK_E2E_SEED=${seed})`);
    const random = prng(seed);
    const tenant = `sdk-e2e-${seed}`;

    const chaos: Chaos[] = [];
    const sent = new Set<string>();
    let conflicts = 0;
    const clients: SyncClient[] = [];
    for (let n = 0; n < CLIENTS; n++) {
      const state: Chaos = {
        enabled: true,
        offlineUntil: 0,
        tick: 0,
        stats: { offline: 0, dropped: 0, unavailable: 0, delivered: 0 },
      };
      chaos.push(state);
      const token = server.token(`user-${n}`, tenant);
      const client = createSyncClient({
        url: server.url,
        getToken: () => token,
        storage: memoryStorage(),
        fetch: chaoticFetch(prng(seed + n + 1), state, sent),
        batchSize: 1 + Math.floor(random() * 20),
        pullPageSize: 7,
        random,
      });
      client.on('conflict', () => conflicts++);
      clients.push(client);
    }

    let writes = 0;
    const trySync = (client: SyncClient) => client.syncNow().catch(() => undefined);
    for (let op = 0; op < OPERATIONS; op++) {
      const client = clients[Math.floor(random() * CLIENTS)] as SyncClient;
      const notes = client.collection<{ text: string; n?: number; tag?: string | null }>(TYPE);
      const visible = await notes.find();
      const roll = random();
      const target = pick(random, visible);
      if (roll < 0.35 || !target) {
        await notes.create({ text: `op ${op}`, n: op });
      } else if (roll < 0.85) {
        const patch =
          random() < 0.2
            ? { tag: null }
            : { text: `edit ${op}`, tag: `t${Math.floor(random() * 3)}` };
        await notes.update(target.id, patch);
      } else {
        await notes.delete(target.id);
      }
      writes++;
      // Now and then some clients sync, sometimes several at once, sometimes twice at once.
      if (random() < 0.3) {
        const syncing = clients.filter(() => random() < 0.4);
        const twice = random() < 0.2 ? syncing.map(trySync) : [];
        await Promise.all([...syncing.map(trySync), ...twice]);
      }
    }
    expect(writes).toBe(OPERATIONS);

    // Everyone back online: retry what was set aside and sync until a full round changes nothing.
    for (const state of chaos) state.enabled = false;
    let quiet = false;
    for (let round = 0; round < 20 && !quiet; round++) {
      quiet = true;
      for (const client of clients) {
        if ((await client.retryFailed()) > 0) quiet = false;
        const summary = await client.syncNow();
        if (summary.pushed > 0 || summary.pulled > 0 || summary.failed > 0) quiet = false;
      }
    }
    expect(quiet).toBe(true);
    console.log(
      `sdk-convergence: ${conflicts} conflicts; network per client:`,
      JSON.stringify(chaos.map((state) => state.stats)),
    );

    const adminToken = server.token('admin', tenant, 'admin');
    const feed = await pullAll(server.url, adminToken, `admin-${seed}`);
    const latest = latestVersions(feed.changes);
    const serverState = [...latest.values()]
      .filter((change) => change.payload !== null)
      .map((change) => ({ ...change.payload, id: change.entityId }))
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(serverState.length).toBeGreaterThan(0);

    for (const client of clients) {
      expect(client.status.pending).toBe(0);
      expect(client.status.failed).toBe(0);
      expect(await client.collection(TYPE).find()).toEqual(serverState);
    }

    // Exactly once: no mutation id made two versions of any entity.
    const versionsByMutation = new Map<string, number>();
    for (const id of latest.keys()) {
      for (const entry of await historyOf(adminToken, id.slice(TYPE.length + 1))) {
        if (entry.mutationId === null) continue;
        versionsByMutation.set(
          entry.mutationId,
          (versionsByMutation.get(entry.mutationId) ?? 0) + 1,
        );
      }
    }
    // At least once too: every local write was pushed, and the server holds exactly one settled
    // record of each (SYNCED or CONFLICT; none failed or left pending).
    expect(sent.size).toBe(OPERATIONS);
    const db = new Database(join(server.dataDir, 'syncline.db'), { readonly: true });
    try {
      const rows = db
        .prepare('SELECT mutation_id AS id, status FROM mutations WHERE tenant = ?')
        .all(tenant) as Array<{ id: string; status: string }>;
      expect(rows.length).toBe(OPERATIONS);
      expect(new Set(rows.map((row) => row.id))).toEqual(sent);
      expect(rows.filter((row) => row.status !== 'SYNCED' && row.status !== 'CONFLICT')).toEqual(
        [],
      );
    } finally {
      db.close();
    }
    for (const id of versionsByMutation.keys()) expect(sent.has(id)).toBe(true);
    const repeated = [...versionsByMutation].filter(([, count]) => count > 1);
    expect(repeated).toEqual([]);
    expect(versionsByMutation.size).toBeGreaterThan(0);
    const dropped = chaos.reduce((sum, state) => sum + state.stats.dropped, 0);
    expect(dropped).toBeGreaterThan(0);

    await Promise.all(clients.map((client) => client.close()));
  }, 180_000);
});
