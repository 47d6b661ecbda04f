// Exactly-once through the real server: a batch sent three times, and two copies of a batch sent
// at the same instant, apply once; repeats answer DUPLICATE with the first outcome.
import { randomUUID } from 'node:crypto';
import type { ChangeResult, HistoryEntry, PushRequest } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { change, getJson, latestVersions, pullAll, push } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;
let userToken: string;
let adminToken: string;

beforeAll(async () => {
  server = await startServer();
  userToken = server.token('u1', 'idem');
  adminToken = server.token('admin1', 'idem', 'admin');
});

afterAll(async () => {
  await server?.stop();
});

async function historyOf(entityType: string, entityId: string): Promise<HistoryEntry[]> {
  const body = await getJson<HistoryEntry[] | { history: HistoryEntry[] }>(
    `${server.url}/api/sync/entities/${entityType}/${encodeURIComponent(entityId)}/history`,
    adminToken,
  );
  return Array.isArray(body) ? body : body.history;
}

const byMutation = (results: readonly ChangeResult[]) =>
  new Map(results.map((result) => [result.mutationId, result]));

describe('the same batch sent three times', () => {
  it('applies once; the repeats answer DUPLICATE with the first outcome', async () => {
    const deviceId = `dev-${randomUUID()}`;
    const existing = `asset-${randomUUID()}`;
    const seed = await push(server.url, userToken, {
      deviceId,
      changes: [
        change({
          entityType: 'asset',
          entityId: existing,
          operation: 'CREATE',
          payload: { name: 'Pump', status: 'ok' },
          clientVersion: 1,
        }),
      ],
    });
    expect(seed.results[0]).toMatchObject({ status: 'APPLIED', version: 1 });

    const fresh = [randomUUID(), randomUUID(), randomUUID()].map((id) => `asset-${id}`);
    const batch: PushRequest = {
      deviceId,
      changes: [
        ...fresh.map((entityId, i) =>
          change({
            entityType: 'asset',
            entityId,
            operation: 'CREATE',
            payload: { name: `Asset ${i}`, status: 'new' },
            clientVersion: 1,
          }),
        ),
        change({
          entityType: 'asset',
          entityId: existing,
          operation: 'UPDATE',
          payload: { status: 'broken' },
          clientVersion: 1,
        }),
      ],
    };

    const first = await push(server.url, userToken, batch);
    expect(first.results.map((r) => r.status)).toEqual([
      'APPLIED',
      'APPLIED',
      'APPLIED',
      'APPLIED',
    ]);
    expect(first.results.map((r) => r.version)).toEqual([1, 1, 1, 2]);

    for (const attempt of [2, 3]) {
      const repeat = await push(server.url, userToken, batch);
      const firstResults = byMutation(first.results);
      expect(repeat.results, `attempt ${attempt}`).toHaveLength(batch.changes.length);
      for (const result of repeat.results) {
        const original = firstResults.get(result.mutationId);
        expect(result.status, `attempt ${attempt}`).toBe('DUPLICATE');
        expect(result.originalStatus).toBe('APPLIED');
        expect(result.version).toBe(original?.version);
        expect(result.entityId).toBe(original?.entityId);
      }
      expect(repeat.conflicts).toEqual([]);
    }

    // Versions moved by exactly one per mutation, and history holds one row per mutation.
    const feed = latestVersions((await pullAll(server.url, userToken, deviceId)).changes);
    for (const entityId of fresh) {
      expect(feed.get(`asset/${entityId}`)?.version).toBe(1);
      expect(await historyOf('asset', entityId)).toHaveLength(1);
    }
    expect(feed.get(`asset/${existing}`)).toMatchObject({
      version: 2,
      payload: { name: 'Pump', status: 'broken' },
    });
    const history = await historyOf('asset', existing);
    expect(history.map((h) => h.version)).toEqual([1, 2]);
  });
});

describe('two copies of one batch sent at the same instant', () => {
  it('applies each change once', async () => {
    const deviceId = `dev-${randomUUID()}`;
    const ids = Array.from({ length: 20 }, () => `asset-${randomUUID()}`);
    const batch: PushRequest = {
      deviceId,
      changes: ids.map((entityId, i) =>
        change({
          entityType: 'asset',
          entityId,
          operation: 'CREATE',
          payload: { name: `Twin ${i}`, status: 'new' },
          clientVersion: 1,
        }),
      ),
    };

    const [a, b] = await Promise.all([
      push(server.url, userToken, batch),
      push(server.url, userToken, batch),
    ]);

    const fromB = byMutation(b.results);
    for (const resultA of a.results) {
      const resultB = fromB.get(resultA.mutationId);
      const statuses = [resultA.status, resultB?.status].sort();
      expect(statuses, resultA.entityId).toEqual(['APPLIED', 'DUPLICATE']);
      const duplicate = resultA.status === 'DUPLICATE' ? resultA : resultB;
      expect(duplicate?.originalStatus).toBe('APPLIED');
      expect(resultA.version).toBe(1);
      expect(resultB?.version).toBe(1);
    }

    const feed = (await pullAll(server.url, userToken, deviceId)).changes.filter((c) =>
      ids.includes(c.entityId),
    );
    expect(feed).toHaveLength(ids.length);
    for (const entityId of ids) {
      expect(await historyOf('asset', entityId)).toHaveLength(1);
    }
  });
});
