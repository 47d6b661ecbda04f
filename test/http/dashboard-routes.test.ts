// The admin dashboard's read routes: figures, activity buckets, audit, device health, the
// conflict inbox, the queue and entity search — each within the admin's tenant only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

let t: TestApp;
let admin: string;
let otherAdmin: string;
let conflictId: string;
const tenant = 'dash-a';

const get = async (url: string, authorization = admin) => {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization } });
  return { status: res.statusCode, body: res.json() };
};

async function push(user: string, deviceId: string, changes: object[]) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sync',
    headers: { authorization: `Bearer ${await t.token(user, tenant)}` },
    payload: { deviceId, changes },
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const change = (entityId: string, extra: Record<string, unknown> = {}) => ({
  mutationId: `m-${entityId}-${Math.random().toString(36).slice(2)}`,
  entityType: 'asset',
  entityId,
  operation: 'CREATE',
  payload: { name: entityId },
  clientVersion: 1,
  timestamp: new Date().toISOString(),
  ...extra,
});

beforeAll(async () => {
  t = await createTestApp();
  admin = `Bearer ${await t.token('boss', tenant, 'admin')}`;
  otherAdmin = `Bearer ${await t.token('root', 'dash-b', 'admin')}`;
  await push('ann', 'tab-1', [change('pump_7'), change('pump%8'), change('valve-1')]);
  await push('ben', 'tab-2', [
    change('pump_7', { operation: 'UPDATE', payload: { name: 'Pump 7' } }),
    // Nothing to update yet: kept as FAILED for a retry.
    change('ghost', { operation: 'UPDATE', payload: { x: 1 } }),
  ]);
  const stale = await push('ann', 'tab-1', [
    change('pump_7', {
      operation: 'UPDATE',
      payload: { name: 'Pump seven' },
      conflictStrategy: 'MANUAL',
    }),
  ]);
  conflictId = stale.results[0].conflictId;
  const revoke = await t.app.inject({
    method: 'DELETE',
    url: '/api/sync/devices/tab-2',
    headers: { authorization: admin },
  });
  expect(revoke.statusCode).toBe(204);
});
afterAll(() => t.close());

describe('GET /api/sync/admin/overview', () => {
  it('counts the tenant’s conflicts, queue and devices, and nothing of another tenant', async () => {
    const { status, body } = await get('/api/sync/admin/overview');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      tenant,
      userId: 'boss',
      pendingConflicts: 1,
      mutations: { FAILED: 1, CONFLICT: 1 },
      devices: { total: 2, active: 1, revoked: 1, lagging: 0 },
      alerts: [],
    });
    const other = await get('/api/sync/admin/overview', otherAdmin);
    expect(other.body).toMatchObject({
      tenant: 'dash-b',
      pendingConflicts: 0,
      mutations: { FAILED: 0, CONFLICT: 0, SYNCED: 0 },
      devices: { total: 0 },
    });
  });

  it('fires an alert when a threshold is exceeded', async () => {
    const res = await get('/api/sync/admin/alerts');
    expect(res.status).toBe(200);
    // tab-2 failed 1 of its 2 changes, but fewer than 5 changes are too few to judge.
    expect(res.body.alerts).toEqual([]);
  });
});

describe('GET /api/sync/admin/activity', () => {
  it('sums the sync history per hour, every bucket present, ending with the current one', async () => {
    const { status, body } = await get('/api/sync/admin/activity?bucket=hour&buckets=6');
    expect(status).toBe(200);
    expect(body.series).toHaveLength(6);
    const starts = body.series.map((b: { start: string }) => Date.parse(b.start));
    expect(starts.every((s: number, i: number) => i === 0 || s - starts[i - 1] === 3_600_000)).toBe(
      true,
    );
    expect(body.totals).toMatchObject({
      syncs: 3,
      pushed: 6,
      applied: 4,
      conflicts: 1,
      rejected: 1,
    });
    expect(body.series.at(-1)).toMatchObject({ syncs: 3, applied: 4 });
    const days = await get('/api/sync/admin/activity?bucket=day');
    expect(days.body.series).toHaveLength(30);
    expect(days.body.totals.applied).toBe(4);
    const other = await get('/api/sync/admin/activity', otherAdmin);
    expect(other.body.totals.syncs).toBe(0);
  });

  it('refuses a bucket it does not know with 400', async () => {
    const res = await get('/api/sync/admin/activity?bucket=week');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /api/sync/admin/audit', () => {
  it('lists the tenant’s acts newest first, filters them and pages on', async () => {
    const all = await get('/api/sync/admin/audit');
    expect(all.status).toBe(200);
    expect(all.body.actions).toContain('device.revoke');
    const revokes = await get('/api/sync/admin/audit?action=device.revoke');
    expect(revokes.body.entries).toEqual([
      expect.objectContaining({ actor: 'boss', action: 'device.revoke', target: 'tab-2' }),
    ]);
    const first = await get('/api/sync/admin/audit?limit=1');
    expect(first.body.entries).toHaveLength(1);
    if (all.body.entries.length > 1) {
      expect(first.body.nextBefore).toBe(first.body.entries[0].id);
      const next = await get(`/api/sync/admin/audit?limit=1&before=${first.body.nextBefore}`);
      expect(next.body.entries[0].id).toBeLessThan(first.body.entries[0].id);
    }
    const other = await get('/api/sync/admin/audit', otherAdmin);
    expect(other.body).toEqual({ entries: [], actions: [], nextBefore: null });
  });
});

describe('devices', () => {
  it('shows each device’s lag and failure rate, and one device’s sync history', async () => {
    const { body } = await get('/api/sync/admin/devices');
    const byId = Object.fromEntries(body.devices.map((d: { deviceId: string }) => [d.deviceId, d]));
    expect(byId['tab-2']).toMatchObject({
      userId: 'ben',
      isActive: false,
      mutations: 2,
      failed: 1,
      failureRatePercent: 50,
    });
    expect(byId['tab-1']).toMatchObject({ isActive: true, lagging: false, changesBehind: 0 });
    expect(byId['tab-2'].changesBehind).toBe(0);

    const history = await get('/api/sync/admin/devices/tab-1/history');
    expect(history.status).toBe(200);
    expect(history.body.history).toHaveLength(2);
    expect(history.body.history[0]).toMatchObject({ userId: 'ann', pushed: 1, conflicts: 1 });

    // A change the revoked tab-2 cannot pull leaves it one change behind.
    await push('ann', 'tab-1', [
      change('valve-1', { operation: 'UPDATE', payload: { name: 'Valve 1' } }),
    ]);
    const after = await get('/api/sync/admin/devices');
    const lag = Object.fromEntries(
      after.body.devices.map((d: { deviceId: string; changesBehind: number }) => [
        d.deviceId,
        d.changesBehind,
      ]),
    );
    expect(lag).toEqual({ 'tab-1': 0, 'tab-2': 1 });
  });

  it('answers 404 for another tenant’s device', async () => {
    const res = await get('/api/sync/admin/devices/tab-1/history', otherAdmin);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});

describe('the conflict inbox', () => {
  it('lists conflicts with their user, filters by device, and opens one by id', async () => {
    const list = await get('/api/sync/admin/conflicts');
    expect(list.body.conflicts).toEqual([
      expect.objectContaining({ id: conflictId, userId: 'ann', deviceId: 'tab-1' }),
    ]);
    expect((await get('/api/sync/admin/conflicts?deviceId=tab-2')).body.conflicts).toEqual([]);
    expect((await get('/api/sync/admin/conflicts?status=RESOLVED')).body.conflicts).toEqual([]);
    const one = await get(`/api/sync/admin/conflicts/${conflictId}`);
    expect(one.body.conflict).toMatchObject({
      serverData: { name: 'Pump 7' },
      clientData: { name: 'Pump seven' },
      baseData: { name: 'pump_7' },
    });
    const hidden = await get(`/api/sync/admin/conflicts/${conflictId}`, otherAdmin);
    expect(hidden.status).toBe(404);
    expect((await get('/api/sync/admin/conflicts', otherAdmin)).body.conflicts).toEqual([]);
  });
});

describe('queue, entities and collections', () => {
  it('lists FAILED mutations for a retry', async () => {
    const failed = await get('/api/sync/admin/mutations?status=FAILED');
    expect(failed.body.mutations).toEqual([
      expect.objectContaining({
        entityId: 'ghost',
        deviceId: 'tab-2',
        error: expect.objectContaining({ code: 'NOT_FOUND' }),
      }),
    ]);
    expect((await get('/api/sync/admin/mutations', otherAdmin)).body.mutations).toEqual([]);
  });

  it('finds entities by part of their id, taking % and _ literally', async () => {
    const ids = async (q: string) =>
      (
        await get(`/api/sync/admin/entities?entityType=asset&q=${encodeURIComponent(q)}`)
      ).body.entities
        .map((e: { entityId: string }) => e.entityId)
        .sort();
    expect(await ids('pump')).toEqual(['pump%8', 'pump_7']);
    expect(await ids('%')).toEqual(['pump%8']);
    expect(await ids('_')).toEqual(['pump_7']);
    const all = await get('/api/sync/admin/entities');
    expect(all.body.types).toEqual([{ entityType: 'asset', count: 3 }]);
    expect((await get('/api/sync/admin/entities', otherAdmin)).body).toEqual({
      entities: [],
      types: [],
    });
  });

  it('are in the OpenAPI document, as admin routes', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const path of ['overview', 'activity', 'alerts', 'audit', 'devices/{deviceId}/history']) {
      expect(doc.paths[`/api/sync/admin/${path}`]?.get?.tags).toEqual(['admin']);
    }
    expect(doc.paths['/metrics']).toBeUndefined();
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/admin'))).toBe(false);
  });

  it('describes each collection’s conflict defaults', async () => {
    const { body } = await get('/api/sync/admin/collections');
    expect(body.defaultStrategy).toBe('SERVER_WINS');
    const attendance = body.collections.find((c: { name: string }) => c.name === 'attendance');
    expect(attendance.timeDetector).toMatchObject({ toleranceMs: 60_000 });
  });
});
