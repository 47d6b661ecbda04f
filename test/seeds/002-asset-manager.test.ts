// Seed 002 (Asset Manager PWA), top to bottom, through HTTP against the real server process:
// the models' fields as the API shows them, every endpoint the seed lists, the conflict
// strategies and the three kinds of suggested resolution, the security rules, the debug curls,
// and the seed's own OfflineSyncClient (ported to Node) syncing two devices.
import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '@syncline/protocol';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { callJson } from '../support/http.js';
import { Connectivity, MemoryKeyValueStore } from './clients/node-shims.js';
import { OfflineSyncClient } from './clients/offline-sync-client.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const api = (
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  token: string | null,
  body?: unknown,
) => callJson(server.url, method, path, token, body);

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();
const sha256 = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex');

interface ChangeInput {
  entityType?: string;
  entityId: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  payload?: Record<string, unknown> | null;
  clientVersion: number;
  timestamp?: string;
  conflictStrategy?: string;
  checksum?: string;
}

/** One organisation (tenant) with two field users and an admin. */
function organisation(name: string) {
  const alice = server.token(`${name}-alice`, name);
  const bob = server.token(`${name}-bob`, name);
  const admin = server.token(`${name}-admin`, name, 'admin');
  const sync = async (token: string, deviceId: string, changes: ChangeInput[], extra = {}) => {
    const res = await api('POST', '/api/sync', token, {
      deviceId,
      ...extra,
      changes: changes.map((c) => ({ entityType: 'asset', timestamp: minutesAgo(1), ...c })),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  return { name, alice, bob, admin, sync };
}

/** asset created by alice's tablet, then moved to version 2 by bob's phone. */
async function staleAsset(
  org: ReturnType<typeof organisation>,
  id: string,
  base: Record<string, unknown>,
  serverPatch: Record<string, unknown>,
  serverEditMinutesAgo = 5,
) {
  await org.sync(org.alice, `${org.name}-tablet`, [
    {
      entityId: id,
      operation: 'CREATE',
      payload: base,
      clientVersion: 1,
      timestamp: minutesAgo(30),
    },
  ]);
  const second = await org.sync(org.bob, `${org.name}-phone`, [
    {
      entityId: id,
      operation: 'UPDATE',
      payload: serverPatch,
      clientVersion: 1,
      timestamp: minutesAgo(serverEditMinutesAgo),
    },
  ]);
  expect(second.results[0]).toMatchObject({ status: 'APPLIED', version: 2 });
}

describe('POST /api/sync', () => {
  it('takes the documented request and answers the documented response', async () => {
    const org = organisation('am-sync');
    const res = await api('POST', '/api/sync', org.alice, {
      deviceId: 'unique-device-id',
      deviceName: "User's iPhone",
      changes: [
        {
          entityType: 'asset',
          entityId: 'asset-uuid',
          operation: 'CREATE',
          payload: { name: 'Generator', status: 'ok' },
          clientVersion: 1,
          timestamp: '2023-10-01T12:00:00Z',
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      syncToken: expect.any(String),
      changes: [
        {
          entityType: 'asset',
          entityId: 'asset-uuid',
          operation: 'CREATE',
          payload: { name: 'Generator', status: 'ok' },
          clientVersion: 1,
          timestamp: '2023-10-01T12:00:00.000Z',
        },
      ],
      conflicts: [],
      results: [{ entityType: 'asset', entityId: 'asset-uuid', status: 'APPLIED', version: 1 }],
    });
    expect(Date.parse(res.body.serverTime)).not.toBeNaN();

    // The next sync with the previous token sends only what changed since: tasks and schedules
    // travel the same way as assets.
    const next = await api('POST', '/api/sync', org.alice, {
      deviceId: 'unique-device-id',
      syncToken: res.body.syncToken,
      changes: [
        {
          entityType: 'task',
          entityId: 'task-1',
          operation: 'CREATE',
          payload: { title: 'Service generator', status: 'open', assetId: 'asset-uuid' },
          clientVersion: 1,
          timestamp: minutesAgo(1),
        },
        {
          entityType: 'schedule',
          entityId: 'sched-1',
          operation: 'CREATE',
          payload: { taskId: 'task-1', dueAt: '2023-10-08T09:00:00Z' },
          clientVersion: 1,
          timestamp: minutesAgo(1),
        },
      ],
    });
    expect(next.body.changes.map((c: { entityId: string }) => c.entityId)).toEqual([
      'task-1',
      'sched-1',
    ]);
  });

  it('takes the seed’s placeholder "previous-sync-token" (or any token it did not issue): applies the changes and answers reset', async () => {
    const org = organisation('am-token');
    const first = await org.sync(org.alice, 'unique-device-id', [
      { entityId: 'gen-1', operation: 'CREATE', payload: { name: 'Generator' }, clientVersion: 1 },
    ]);
    // Another organisation's token for a user of the same id, and one past this feed's end.
    const namesake = server.token(`${org.name}-alice`, 'am-token-elsewhere');
    const foreign = (await api('POST', '/api/sync', namesake, { deviceId: 'd', changes: [] })).body
      .syncToken as string;
    const [, , epoch, scope] = (first.syncToken as string).split('.');
    const beyond = `v1.zz.${epoch}.${scope}`;
    for (const syncToken of ['previous-sync-token', 'not-a-token', foreign, beyond]) {
      const entityId = `gen-${randomUUID().slice(0, 8)}`;
      const res = await org.sync(
        org.alice,
        'unique-device-id',
        [{ entityId, operation: 'CREATE', payload: { name: 'Pump' }, clientVersion: 1 }],
        { syncToken },
      );
      expect(res.results, syncToken).toEqual([
        expect.objectContaining({ entityId, status: 'APPLIED', version: 1 }),
      ]);
      expect(res.reset, syncToken).toBe(true);
      // The pull starts at the beginning: the first asset comes back too.
      expect(res.changes.map((c: { entityId: string }) => c.entityId)).toContain('gen-1');
      const delta = await api('POST', '/api/sync/delta', org.alice, {
        deviceId: 'unique-device-id',
        syncToken,
      });
      expect(delta.status, syncToken).toBe(200);
      expect(delta.body.reset, syncToken).toBe(true);
      expect(delta.body.changes[0]).toMatchObject({ entityId: 'gen-1' });
    }
  });

  it('keeps SyncMetadata: version per change, last modifier, checksum, soft delete', async () => {
    const org = organisation('am-meta');
    const payload = { name: 'Pump', status: 'ok' };
    await org.sync(org.alice, 'meta-tablet', [
      { entityId: 'pump', operation: 'CREATE', payload, clientVersion: 1 },
    ]);
    await org.sync(org.bob, 'meta-phone', [
      { entityId: 'pump', operation: 'UPDATE', payload: { status: 'repair' }, clientVersion: 1 },
    ]);
    const removed = await org.sync(org.alice, 'meta-tablet', [
      { entityId: 'pump', operation: 'DELETE', clientVersion: 2 },
    ]);
    expect(removed.results[0]).toMatchObject({ status: 'APPLIED', version: 3 });
    const feed = await api('POST', '/api/sync/delta', org.admin, { deviceId: 'meta-admin' });
    const [created, updated, deleted] = feed.body.changes;
    expect(created).toMatchObject({
      version: 1,
      updatedBy: 'am-meta-alice',
      checksum: sha256(payload),
    });
    expect(updated).toMatchObject({
      version: 2,
      updatedBy: 'am-meta-bob',
      payload: { name: 'Pump', status: 'repair' },
      checksum: sha256({ name: 'Pump', status: 'repair' }),
    });
    // Soft delete: a tombstone that devices learn of, and the history that keeps every version.
    expect(deleted).toMatchObject({ version: 3, operation: 'DELETE', payload: null });
    expect(Date.parse(deleted.deletedAt)).not.toBeNaN();
    const history = await api('GET', '/api/sync/entities/asset/pump/history', org.admin);
    expect(history.body.history.map((h: { version: number }) => h.version)).toEqual([1, 2, 3]);
  });

  it('refuses damaged payloads (checksum mismatch) and bad input, without blocking the batch', async () => {
    const org = organisation('am-integrity');
    const res = await org.sync(org.alice, 'int-tablet', [
      {
        entityId: 'good',
        operation: 'CREATE',
        payload: { name: 'ok', status: 'ok' },
        clientVersion: 1,
        checksum: sha256({ name: 'ok', status: 'ok' }),
      },
      {
        entityId: 'damaged',
        operation: 'CREATE',
        payload: { name: 'flipped bit', status: 'ok' },
        clientVersion: 1,
        checksum: sha256({ name: 'original', status: 'ok' }),
      },
      { entityId: 'wrong-type', operation: 'CREATE', payload: { name: 42 }, clientVersion: 1 },
      {
        entityId: 'future',
        operation: 'CREATE',
        payload: { name: 'x' },
        clientVersion: 1,
        timestamp: new Date(Date.now() + 3_600_000).toISOString(),
      },
    ]);
    expect(res.results.map((r: { status: string }) => r.status)).toEqual([
      'APPLIED',
      'REJECTED',
      'REJECTED',
      'REJECTED',
    ]);
    expect(res.results.slice(1).map((r: { error: { code: string } }) => r.error.code)).toEqual([
      'CHECKSUM_MISMATCH',
      'SCHEMA_VIOLATION',
      'FUTURE_TIMESTAMP',
    ]);
    // Sanitization: prototype-polluting keys are refused before anything is stored.
    const poisoned = await fetch(`${server.url}/api/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.alice}`, 'content-type': 'application/json' },
      body: `{"deviceId":"int-tablet","changes":[{"entityType":"asset","entityId":"p","operation":"CREATE","payload":{"__proto__":{"admin":true}},"clientVersion":1,"timestamp":"${minutesAgo(1)}"}]}`,
    });
    expect(poisoned.status).toBe(400);
    expect(((await poisoned.json()) as { error: { code: string } }).error.code).toBe(
      'FORBIDDEN_KEY',
    );
  });

  it('processes a large batch in one request, gzip-compressed', async () => {
    const org = organisation('am-batch');
    const changes = Array.from({ length: 300 }, (_, i) => ({
      entityType: 'asset',
      entityId: `bulk-${i}`,
      operation: 'CREATE',
      payload: { name: `Asset ${i}`, status: 'ok', notes: 'x'.repeat(200) },
      clientVersion: 1,
      timestamp: minutesAgo(1),
    }));
    const res = await fetch(`${server.url}/api/sync`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${org.alice}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(JSON.stringify({ deviceId: 'bulk-tablet', changes })),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { status: string }[]; hasMore: boolean };
    expect(body.results.filter((r) => r.status === 'APPLIED')).toHaveLength(300);
    expect(body.hasMore).toBe(true);
  });
});

describe('POST /api/sync/delta', () => {
  it('pages changes since lastSyncTimestamp, for the given entity types', async () => {
    const org = organisation('am-delta');
    await org.sync(org.alice, 'delta-tablet', [
      { entityId: 'old', operation: 'CREATE', payload: { name: 'old' }, clientVersion: 1 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = Array.from({ length: 5 }, (_, i) => ({
      entityId: `a-${i}`,
      operation: 'CREATE' as const,
      payload: { name: `a${i}` },
      clientVersion: 1,
    }));
    await org.sync(org.alice, 'delta-tablet', [
      ...fresh,
      {
        entityType: 'task',
        entityId: 't-1',
        operation: 'CREATE',
        payload: { title: 't' },
        clientVersion: 1,
      },
      {
        entityType: 'schedule',
        entityId: 's-1',
        operation: 'CREATE',
        payload: { taskId: 't-1' },
        clientVersion: 1,
      },
    ]);

    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    for (;;) {
      const res = await api('POST', '/api/sync/delta', org.bob, {
        deviceId: 'unique-device-id',
        entityTypes: ['asset', 'task'],
        lastSyncTimestamp: since,
        pageSize: 2,
        ...(pageToken ? { pageToken } : {}),
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        expect.objectContaining({
          changes: expect.any(Array),
          hasMore: expect.any(Boolean),
          nextPageToken: res.body.hasMore ? expect.any(String) : null,
        }),
      );
      pages++;
      seen.push(...res.body.changes.map((c: { entityId: string }) => c.entityId));
      if (!res.body.hasMore) break;
      pageToken = res.body.nextPageToken;
    }
    expect(seen).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 't-1']);
    expect(pages).toBe(3);
    const bad = await api('POST', '/api/sync/delta', org.bob, { deviceId: 'd', pageSize: 5000 });
    expect(bad.status).toBe(400);
  });
});

describe('Conflict resolution strategies', () => {
  it('suggests SERVER_WINS when the server was modified more recently (timestamp-based)', async () => {
    const org = organisation('am-suggest-ts');
    await staleAsset(org, 'gen', { name: 'Gen', status: 'ok' }, { status: 'broken' }, 1);
    const res = await org.sync(org.alice, `${org.name}-tablet`, [
      {
        entityId: 'gen',
        operation: 'UPDATE',
        payload: { status: 'retired' },
        clientVersion: 1,
        timestamp: minutesAgo(10),
      },
    ]);
    expect(res.conflicts[0]).toMatchObject({
      entityType: 'asset',
      entityId: 'gen',
      clientVersion: 1,
      serverVersion: 2,
      clientData: { name: 'Gen', status: 'retired' },
      serverData: { name: 'Gen', status: 'broken' },
      suggestedResolution: 'SERVER_WINS',
    });
  });

  it('suggests MERGE when different fields were modified (field-based)', async () => {
    const org = organisation('am-suggest-field');
    await staleAsset(
      org,
      'gen',
      { name: 'Gen', status: 'ok', site: 'A' },
      { status: 'broken' },
      10,
    );
    const res = await org.sync(org.alice, `${org.name}-tablet`, [
      {
        entityId: 'gen',
        operation: 'UPDATE',
        payload: { site: 'B' },
        clientVersion: 1,
        timestamp: minutesAgo(1),
        conflictStrategy: 'MANUAL',
      },
    ]);
    expect(res.conflicts[0]).toMatchObject({
      suggestedResolution: 'MERGE',
      status: 'PENDING_REVIEW',
    });
  });

  it('suggests CLIENT_WINS for the user’s own later change (user preference)', async () => {
    const org = organisation('am-suggest-user');
    await staleAsset(org, 'gen', { name: 'Gen', status: 'ok' }, { status: 'broken' }, 10);
    const res = await org.sync(org.alice, `${org.name}-tablet`, [
      {
        entityId: 'gen',
        operation: 'UPDATE',
        payload: { status: 'fixed' },
        clientVersion: 1,
        timestamp: minutesAgo(1),
        conflictStrategy: 'MANUAL',
      },
    ]);
    expect(res.conflicts[0]).toMatchObject({
      suggestedResolution: 'CLIENT_WINS',
      status: 'PENDING_REVIEW',
      resolution: null,
    });
  });

  it('GET /api/sync/conflicts lists unresolved ones; resolve takes each strategy', async () => {
    const org = organisation('am-resolve');
    const tablet = `${org.name}-tablet`;
    const park = async (
      id: string,
      base: Record<string, unknown>,
      server: Record<string, unknown>,
      mine: Record<string, unknown>,
    ) => {
      await staleAsset(org, id, base, server, 10);
      const res = await org.sync(org.alice, tablet, [
        {
          entityId: id,
          operation: 'UPDATE',
          payload: mine,
          clientVersion: 1,
          conflictStrategy: 'MANUAL',
        },
      ]);
      expect(res.results[0].status).toBe('CONFLICT');
      return res.conflicts[0].id as string;
    };
    const clientWins = await park(
      'cw',
      { name: 'a', status: 'ok' },
      { status: 'x' },
      { status: 'mine' },
    );
    const serverWins = await park(
      'sw',
      { name: 'a', status: 'ok' },
      { status: 'x' },
      { status: 'mine' },
    );
    const merge = await park('mg', { name: 'a', status: 'ok' }, { status: 'x' }, { name: 'b' });
    const manual = await park(
      'mn',
      { name: 'a', status: 'ok' },
      { status: 'x' },
      { status: 'mine' },
    );

    const open = await api('GET', '/api/sync/conflicts', org.alice);
    expect(open.body.conflicts.map((c: { entityId: string }) => c.entityId).sort()).toEqual([
      'cw',
      'mg',
      'mn',
      'sw',
    ]);
    expect(
      open.body.conflicts.every((c: { status: string }) => c.status === 'PENDING_REVIEW'),
    ).toBe(true);

    const resolve = (conflictId: string, resolution: string, extra = {}) =>
      api('POST', '/api/sync/conflicts/resolve', org.alice, { conflictId, resolution, ...extra });
    expect((await resolve(clientWins, 'CLIENT_WINS')).body).toMatchObject({
      conflict: { resolution: 'CLIENT_WINS', status: 'RESOLVED', resolvedBy: 'am-resolve-alice' },
      change: { version: 3, payload: { name: 'a', status: 'mine' } },
    });
    const kept = await resolve(serverWins, 'SERVER_WINS');
    expect(kept.body.conflict).toMatchObject({ resolution: 'SERVER_WINS', status: 'RESOLVED' });
    expect(kept.body.change).toBeUndefined();
    expect((await resolve(merge, 'MERGE')).body.change).toMatchObject({
      payload: { name: 'b', status: 'x' },
    });
    const noData = await resolve(manual, 'MANUAL');
    expect(noData.status).toBe(400);
    const decided = await resolve(manual, 'MANUAL', {
      resolvedData: { name: 'a', status: 'agreed' },
    });
    expect(decided.body.change).toMatchObject({ payload: { name: 'a', status: 'agreed' } });
    expect((await resolve(manual, 'SERVER_WINS')).status).toBe(409);

    expect((await api('GET', '/api/sync/conflicts', org.alice)).body.conflicts).toEqual([]);
    // History of conflicts and their resolutions (SyncConflict): who and when.
    const history = await api('GET', '/api/sync/conflicts?status=RESOLVED', org.alice);
    expect(history.body.conflicts).toHaveLength(4);
    for (const conflict of history.body.conflicts) {
      expect(conflict.resolvedBy).toBe('am-resolve-alice');
      expect(Date.parse(conflict.resolvedAt)).not.toBeNaN();
    }
  });
});

describe('Devices: GET /api/sync/devices, DELETE /api/sync/devices/{deviceId}', () => {
  it('lists the SyncClient fields and refuses an unregistered device until it registers again', async () => {
    const org = organisation('am-devices');
    const first = await org.sync(org.alice, 'tablet-7', [], { deviceName: 'Field tablet' });
    const list = await api('GET', '/api/sync/devices', org.alice);
    expect(list.body.devices).toEqual([
      expect.objectContaining({
        deviceId: 'tablet-7',
        userId: 'am-devices-alice',
        deviceName: 'Field tablet',
        syncToken: first.syncToken,
        isActive: true,
      }),
    ]);
    expect(Date.parse(list.body.devices[0].lastSyncAt)).not.toBeNaN();
    expect((await api('GET', '/api/sync/devices', org.bob)).body.devices).toEqual([]);

    expect((await api('DELETE', '/api/sync/devices/tablet-7', org.bob)).status).toBe(404);
    expect((await api('DELETE', '/api/sync/devices/tablet-7', org.alice)).status).toBe(204);
    const refused = await api('POST', '/api/sync', org.alice, {
      deviceId: 'tablet-7',
      changes: [],
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('DEVICE_REVOKED');
    expect((await api('GET', '/api/sync/devices', org.alice)).body.devices[0].isActive).toBe(false);

    const again = await api('POST', '/api/sync/devices', org.alice, {
      deviceId: 'tablet-7',
      deviceName: 'Field tablet',
    });
    expect(again.body.isActive).toBe(true);
    expect(
      (await api('POST', '/api/sync', org.alice, { deviceId: 'tablet-7', changes: [] })).status,
    ).toBe(200);
    // Another user cannot sync through someone else's registered device.
    const borrowed = await api('POST', '/api/sync', org.bob, { deviceId: 'tablet-7', changes: [] });
    expect(borrowed.status).toBe(403);
  });
});

describe('Status, queue and cache: status, queue/retry, queue/stats, cache/invalidate', () => {
  it('reports sync status for the current user', async () => {
    const org = organisation('am-status');
    await org.sync(org.alice, 'st-tablet', [
      { entityId: 's1', operation: 'CREATE', payload: { name: 's' }, clientVersion: 1 },
    ]);
    const res = await api('GET', '/api/sync/status', org.alice);
    expect(res.body).toMatchObject({
      userId: 'am-status-alice',
      syncToken: expect.any(String),
      devices: [expect.objectContaining({ deviceId: 'st-tablet' })],
      pendingConflicts: 0,
      queue: { SYNCED: 1, FAILED: 0, CONFLICT: 0, PENDING: 0, SYNCING: 0 },
    });
    expect(Date.parse(res.body.lastSyncAt)).not.toBeNaN();
  });

  it('retries failed operations once they can apply, and counts the queue', async () => {
    const org = organisation('am-queue');
    // An update that arrives before its create (another device's) fails and waits in the queue.
    const early = await org.sync(org.alice, 'q-tablet', [
      { entityId: 'late', operation: 'UPDATE', payload: { status: 'checked' }, clientVersion: 1 },
    ]);
    expect(early.results[0]).toMatchObject({ status: 'REJECTED', error: { code: 'NOT_FOUND' } });
    let stats = await api('GET', '/api/sync/queue/stats', org.alice);
    expect(stats.body).toMatchObject({ total: 1, byStatus: { FAILED: 1 }, syncRate: '0.00%' });

    await org.sync(org.bob, 'q-phone', [
      {
        entityId: 'late',
        operation: 'CREATE',
        payload: { name: 'late', status: 'new' },
        clientVersion: 1,
      },
    ]);
    const retried = await api('POST', '/api/sync/queue/retry', org.alice, { deviceId: 'q-tablet' });
    expect(retried.body).toMatchObject({
      retried: 1,
      results: [{ entityId: 'late', status: 'APPLIED', version: 2 }],
    });
    stats = await api('GET', '/api/sync/queue/stats', org.alice);
    expect(stats.body).toMatchObject({
      total: 1,
      byStatus: { SYNCED: 1, FAILED: 0 },
      syncRate: '100.00%',
    });
    const tenantWide = await api('GET', '/api/sync/queue/stats', org.admin);
    expect(tenantWide.body.total).toBe(2);
    expect(
      (await api('GET', `/api/sync/queue/stats?userId=${org.name}-bob`, org.alice)).status,
    ).toBe(403);
  });

  it('invalidates the sync cache (admins): older tokens answer reset and pull afresh', async () => {
    const org = organisation('am-cache');
    const first = await org.sync(org.alice, 'c-tablet', [
      { entityId: 'c1', operation: 'CREATE', payload: { name: 'c' }, clientVersion: 1 },
    ]);
    expect((await api('POST', '/api/sync/cache/invalidate', org.alice, {})).status).toBe(403);
    const inv = await api('POST', '/api/sync/cache/invalidate', org.admin, {});
    expect(inv.status).toBe(200);
    const after = await org.sync(org.alice, 'c-tablet', [], { syncToken: first.syncToken });
    expect(after.reset).toBe(true);
    expect(after.changes.map((c: { entityId: string }) => c.entityId)).toEqual(['c1']);
  });
});

describe('Security considerations', () => {
  it('requires a JWT on every endpoint the seed lists', async () => {
    for (const [method, path] of [
      ['POST', '/api/sync'],
      ['POST', '/api/sync/delta'],
      ['GET', '/api/sync/status'],
      ['GET', '/api/sync/devices'],
      ['DELETE', '/api/sync/devices/x'],
      ['GET', '/api/sync/conflicts'],
      ['POST', '/api/sync/conflicts/resolve'],
      ['POST', '/api/sync/queue/retry'],
      ['POST', '/api/sync/cache/invalidate'],
      ['GET', '/api/sync/queue/stats'],
    ] as const) {
      const res = await api(method, path, null, method === 'POST' ? {} : undefined);
      expect(res.status, `${method} ${path}`).toBe(401);
      const forged = await api(
        method,
        path,
        `${server.token('u', 't')}x`,
        method === 'POST' ? {} : undefined,
      );
      expect(forged.status, `${method} ${path}`).toBe(401);
    }
  });

  it('lets users resolve only conflicts of their own organisation (and their own changes)', async () => {
    const org = organisation('am-wall');
    await staleAsset(org, 'w', { name: 'w', status: 'ok' }, { status: 'x' });
    const res = await org.sync(org.alice, `${org.name}-tablet`, [
      {
        entityId: 'w',
        operation: 'UPDATE',
        payload: { status: 'y' },
        clientVersion: 1,
        conflictStrategy: 'MANUAL',
      },
    ]);
    const conflictId = res.conflicts[0].id;
    const outsider = server.token('eve', 'other-org', 'admin');
    const foreign = await api('POST', '/api/sync/conflicts/resolve', outsider, {
      conflictId,
      resolution: 'CLIENT_WINS',
    });
    expect(foreign.status).toBe(404);
    expect((await api('GET', '/api/sync/conflicts?status=ALL', outsider)).body.conflicts).toEqual(
      [],
    );
    const colleague = await api('POST', '/api/sync/conflicts/resolve', org.bob, {
      conflictId,
      resolution: 'SERVER_WINS',
    });
    expect(colleague.status).toBe(404);
    // An admin of the organisation may; the audit trail records who did.
    const byAdmin = await api('POST', '/api/sync/conflicts/resolve', org.admin, {
      conflictId,
      resolution: 'SERVER_WINS',
    });
    expect(byAdmin.body.conflict.resolvedBy).toBe('am-wall-admin');
    // Another organisation never sees the entity either.
    const pulled = await api('POST', '/api/sync/delta', outsider, { deviceId: 'eve-device' });
    expect(pulled.body.changes).toEqual([]);
  });

  it('rate-limits sync endpoints (429 with Retry-After)', async () => {
    const limited = await startServer({ env: { SYNCLINE_PUSH_LIMIT: '2/1m' } });
    try {
      const token = limited.token('busy', 'am-rate');
      const send = () =>
        fetch(`${limited.url}/api/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            deviceId: 'rate-tablet',
            changes: [
              {
                entityType: 'asset',
                entityId: randomUUID(),
                operation: 'CREATE',
                payload: { name: 'r' },
                clientVersion: 1,
                timestamp: minutesAgo(1),
              },
            ],
          }),
        });
      expect((await send()).status).toBe(200);
      expect((await send()).status).toBe(200);
      const third = await send();
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    } finally {
      await limited.stop();
    }
  });
});

describe('Debug tools: the curl commands of the seed', () => {
  it('GET /api/sync/status and /api/sync/queue/stats answer with a bearer token', async () => {
    const token = server.token('debug', 'am-debug');
    for (const path of ['/api/sync/status', '/api/sync/queue/stats']) {
      const res = await fetch(`${server.url}${path}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
    }
  });
});

describe("The seed's OfflineSyncClient, ported to Node", () => {
  it('queues offline, syncs on reconnect, and converges two devices through a conflict', async () => {
    const tenant = 'am-client';
    const tabletNet = new Connectivity(false);
    const tablet = await new OfflineSyncClient({
      baseUrl: server.url,
      token: server.token('inspector', tenant),
      deviceId: 'pwa-tablet',
      deviceName: 'Inspector tablet',
      storage: new MemoryKeyValueStore(),
      connectivity: tabletNet,
    }).open();
    const phoneNet = new Connectivity(true);
    const phone = await new OfflineSyncClient({
      baseUrl: server.url,
      token: server.token('supervisor', tenant),
      deviceId: 'pwa-phone',
      storage: new MemoryKeyValueStore(),
      connectivity: phoneNet,
    }).open();

    // Offline mode: changes go to the local cache and queue, marked pending sync.
    await tablet.create('asset', 'pump-1', { name: 'Pump 1', status: 'ok', site: 'North' });
    await tablet.create('task', 'inspect-1', {
      title: 'Inspect pump 1',
      status: 'open',
      assetId: 'pump-1',
    });
    expect(await tablet.getQueuedChanges()).toHaveLength(2);
    expect(await tablet.get('asset', 'pump-1')).toMatchObject({ pendingSync: true, version: 1 });

    // Connectivity returns: background sync sends the queue.
    tabletNet.goOnline();
    await tablet.idle();
    expect(await tablet.getQueuedChanges()).toEqual([]);
    expect(await tablet.get('asset', 'pump-1')).toMatchObject({ pendingSync: false, version: 1 });

    // Online mode on the phone: it pulls, and its write goes straight to the server.
    await phone.sync();
    expect(await phone.get('task', 'inspect-1')).toMatchObject({
      payload: { title: 'Inspect pump 1', status: 'open', assetId: 'pump-1' },
      version: 1,
    });
    await phone.update('asset', 'pump-1', { status: 'repair' });
    expect(await phone.get('asset', 'pump-1')).toMatchObject({ version: 2, pendingSync: false });

    // The tablet, offline again, edits the same field on its stale copy.
    tabletNet.goOffline();
    await tablet.update('asset', 'pump-1', { status: 'retired' });
    tabletNet.goOnline();
    await tablet.idle();

    // Server wins by default: the tablet shows the server's copy and keeps the conflict.
    const [conflict] = await tablet.getConflicts();
    expect(conflict).toMatchObject({
      entityType: 'asset',
      entityId: 'pump-1',
      clientVersion: 1,
      serverVersion: 2,
      clientData: { name: 'Pump 1', status: 'retired', site: 'North' },
      serverData: { name: 'Pump 1', status: 'repair', site: 'North' },
    });
    expect(await tablet.get('asset', 'pump-1')).toMatchObject({
      payload: { status: 'repair' },
      version: 2,
    });

    // The inspector reviews the conflict and applies the edit again, on the current version.
    await tablet.update('asset', 'pump-1', { status: 'retired' });
    await phone.sync();
    for (const device of [tablet, phone]) {
      expect(await device.get('asset', 'pump-1')).toMatchObject({
        payload: { name: 'Pump 1', status: 'retired', site: 'North' },
        version: 3,
      });
    }

    // A delete travels as a tombstone; both caches converge.
    await phone.delete('task', 'inspect-1');
    await tablet.sync();
    expect(await tablet.get('task', 'inspect-1')).toMatchObject({ payload: null });
    expect(Date.parse((await tablet.get('task', 'inspect-1'))!.deletedAt!)).not.toBeNaN();
    expect(tablet.lastSyncToken).toEqual(expect.any(String));
  });
});
