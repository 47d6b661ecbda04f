// The pull side and the bookkeeping routes: delta pages, type filters, timestamp pulls, cache
// invalidation, sync status, devices and queue statistics.
import { decodeSyncToken, encodeSyncToken } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

let t: TestApp;
let user: string;
let admin: string;
let n = 0;

beforeAll(async () => {
  t = await createTestApp();
  user = await t.token('ann', 'shop');
  admin = await t.token('boss', 'shop', 'admin');
});
afterAll(() => t.close());

async function call(token: string, method: 'GET' | 'POST', url: string, body?: object) {
  const res = await t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body ? { payload: body } : {}),
  });
  return { status: res.statusCode, body: res.json() };
}

async function create(entityType: string, count: number, deviceId = 'till-1') {
  const changes = Array.from({ length: count }, () => ({
    mutationId: `f${++n}`,
    entityType,
    entityId: `${entityType}-${n}`,
    operation: 'CREATE',
    payload: { n },
    clientVersion: 1,
    timestamp: new Date().toISOString(),
  }));
  const res = await call(user, 'POST', '/api/sync', { deviceId, changes });
  expect(res.status).toBe(200);
  return res.body;
}

async function pullPages(body: Record<string, unknown>) {
  const pages: Array<{
    changes: Array<{ entityType: string; seq: number }>;
    hasMore: boolean;
    nextPageToken: string | null;
    syncToken: string;
    reset?: boolean;
  }> = [];
  let pageToken: string | null = null;
  do {
    const res = await call(user, 'POST', '/api/sync/delta', {
      deviceId: 'reader',
      ...body,
      ...(pageToken ? { pageToken } : {}),
    });
    expect(res.status).toBe(200);
    pages.push(res.body);
    pageToken = res.body.nextPageToken;
  } while (pageToken);
  return pages;
}

describe('delta', () => {
  it('pages the feed in order, filters by type, and resumes from a sync token', async () => {
    await create('asset', 25);
    await create('task', 5);
    const pages = await pullPages({ pageSize: 10 });
    expect(pages.map((p) => p.changes.length)).toEqual([10, 10, 10]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, false]);
    const seqs = pages.flatMap((p) => p.changes.map((c) => c.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(30);

    const tasks = await pullPages({ pageSize: 100, entityTypes: ['task'] });
    expect(tasks.flatMap((p) => p.changes).map((c) => c.entityType)).toEqual(Array(5).fill('task'));

    const last = pages.at(-1)?.syncToken;
    await create('asset', 3);
    const resumed = await pullPages({ pageSize: 100, syncToken: last });
    expect(resumed.flatMap((p) => p.changes)).toHaveLength(3);
  });

  it('pulls by lastSyncTimestamp (seed 002)', async () => {
    await create('schedule', 2);
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await create('schedule', 4);
    const pages = await pullPages({
      pageSize: 100,
      entityTypes: ['schedule'],
      lastSyncTimestamp: since,
    });
    expect(pages.flatMap((p) => p.changes)).toHaveLength(4);
  });

  it('an unknown sync token (garbage, a placeholder, another tenant’s, past the feed) answers reset and pulls from the start', async () => {
    await create('asset', 2);
    const everything = (await pullPages({ pageSize: 1000 })).flatMap((p) => p.changes);
    const mine = decodeSyncToken((await pullPages({ pageSize: 1000 })).at(-1)!.syncToken)!;
    // The same user id in another tenant, whose feed position is within this tenant's feed.
    const namesake = await t.token('ann', 'other-shop');
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/sync',
      headers: { authorization: `Bearer ${namesake}` },
      payload: { deviceId: 'other-till', changes: [] },
    });
    const foreign = elsewhere.json().syncToken as string;
    const past = encodeSyncToken({ ...mine, seq: mine.seq + 1000 });
    for (const syncToken of ['forged', 'previous-sync-token', 'v0.1.2', foreign, past]) {
      const res = await call(user, 'POST', '/api/sync/delta', {
        deviceId: 'reader',
        syncToken,
        pageSize: 1000,
      });
      expect(res.status, syncToken).toBe(200);
      expect(res.body.reset, syncToken).toBe(true);
      expect(res.body.changes, syncToken).toHaveLength(everything.length);
    }
  });

  it('a push with an unknown sync token applies its changes and answers reset', async () => {
    const res = await call(user, 'POST', '/api/sync', {
      deviceId: 'till-1',
      syncToken: 'previous-sync-token',
      changes: [
        {
          mutationId: `f${++n}`,
          entityType: 'asset',
          entityId: `pushed-${n}`,
          operation: 'CREATE',
          payload: { n },
          clientVersion: 1,
          timestamp: new Date().toISOString(),
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([expect.objectContaining({ status: 'APPLIED', version: 1 })]);
    expect(res.body.reset).toBe(true);
    // The pull started from the beginning of the feed.
    expect(res.body.changes[0].seq).toBe(1);
  });

  it('answers reset after cache invalidation, so the device pulls afresh', async () => {
    const before = await pullPages({ pageSize: 1000 });
    const token = before.at(-1)?.syncToken;
    const total = before.flatMap((p) => p.changes).length;
    const invalidated = await call(admin, 'POST', '/api/sync/cache/invalidate', {});
    expect(invalidated.status).toBe(200);
    const after = await pullPages({ pageSize: 1000, syncToken: token });
    expect(after[0]?.reset).toBe(true);
    expect(after.flatMap((p) => p.changes)).toHaveLength(total);
    const again = await pullPages({ pageSize: 1000, syncToken: after.at(-1)?.syncToken });
    expect(again[0]?.reset).toBeUndefined();
    expect(again.flatMap((p) => p.changes)).toHaveLength(0);
  });
});

describe('status, devices and queue stats', () => {
  it('report what the user’s devices did', async () => {
    await call(user, 'POST', '/api/sync/devices', {
      deviceId: 'till-9',
      deviceName: 'Front till',
      platform: 'android',
      appVersion: '2.1.0',
    });
    await create('sale', 3, 'till-9');
    await call(user, 'POST', '/api/sync', {
      deviceId: 'till-9',
      changes: [
        {
          mutationId: 'ghost',
          entityType: 'sale',
          entityId: 'nope',
          operation: 'UPDATE',
          payload: { a: 1 },
          clientVersion: 1,
          timestamp: new Date().toISOString(),
        },
      ],
    });

    const devices = await call(user, 'GET', '/api/sync/devices');
    expect(devices.status).toBe(200);
    expect(devices.body.devices).toContainEqual(
      expect.objectContaining({
        deviceId: 'till-9',
        deviceName: 'Front till',
        platform: 'android',
        appVersion: '2.1.0',
        isActive: true,
        lastSyncAt: expect.any(String),
      }),
    );

    const status = await call(user, 'GET', '/api/sync/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      userId: 'ann',
      syncToken: expect.any(String),
      lastSyncAt: expect.any(String),
    });
    expect(status.body.queue.FAILED).toBe(1);

    const stats = await call(user, 'GET', '/api/sync/queue/stats?deviceId=till-9');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ total: 4, syncRate: '75.00%' });
    expect(stats.body.byStatus).toMatchObject({
      SYNCED: 3,
      FAILED: 1,
      PENDING: 0,
      SYNCING: 0,
      CONFLICT: 0,
    });
  });
});
