// GET /metrics: the change counters count exactly what the engine settled, the token guards the
// route (loopback only without one), and no label names a tenant, user or device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../testing/prometheus.js';
import { createTestApp, type TestApp } from '../testing/test-app.js';

const token = 'metrics-token-for-tests';
let t: TestApp;
let auth: string;

beforeAll(async () => {
  t = await createTestApp({ metricsToken: token });
  auth = `Bearer ${await t.token('u1', 'tenant-m')}`;
});
afterAll(() => t.close());

const scrape = async () => {
  const res = await t.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.statusCode).toBe(200);
  return res.body;
};

const change = (id: string, extra: Record<string, unknown> = {}) => ({
  mutationId: `m-${id}`,
  entityType: 'asset',
  entityId: id,
  operation: 'CREATE',
  payload: { name: id },
  clientVersion: 1,
  timestamp: new Date().toISOString(),
  ...extra,
});

const push = (deviceId: string, changes: object[]) =>
  t.app.inject({
    method: 'POST',
    url: '/api/sync',
    headers: { authorization: auth },
    payload: { deviceId, changes },
  });

describe('GET /metrics', () => {
  it('refuses a scrape without the token, or with another one, with 401', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: token }]) {
      const res = await t.app.inject({ method: 'GET', url: '/metrics', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('counts exactly the changes pushed, applied, duplicated, conflicting and rejected', async () => {
    const before = await scrape();
    const applied = (text: string) => sample(text, 'syncline_changes_applied_total{api="sync"}');
    const pushed = (text: string) => sample(text, 'syncline_changes_pushed_total{api="sync"}');

    const batch = ['a1', 'a2', 'a3'].map((id) => change(id));
    expect((await push('dev-m1', batch)).statusCode).toBe(200);
    const afterPush = await scrape();
    expect(applied(afterPush) - applied(before)).toBe(3);
    expect(pushed(afterPush) - pushed(before)).toBe(3);

    // The same batch again: duplicates, nothing applied.
    await push('dev-m1', batch);
    const afterRepeat = await scrape();
    expect(applied(afterRepeat)).toBe(applied(afterPush));
    expect(
      sample(afterRepeat, 'syncline_changes_duplicate_total{api="sync"}') -
        sample(afterPush, 'syncline_changes_duplicate_total{api="sync"}'),
    ).toBe(3);

    // A stale update waiting for review (a1 is at version 2 by then), and an update of nothing.
    const update = { operation: 'UPDATE', clientVersion: 1, payload: { name: 'renamed' } };
    await push('dev-m1', [change('a1', { ...update, mutationId: 'm-fresh' })]);
    await push('dev-m2', [
      change('a1', { ...update, mutationId: 'm-stale', conflictStrategy: 'MANUAL' }),
      change('ghost', { ...update, mutationId: 'm-ghost' }),
    ]);
    const afterConflict = await scrape();
    expect(
      sample(afterConflict, 'syncline_changes_conflict_total{api="sync"}') -
        sample(afterRepeat, 'syncline_changes_conflict_total{api="sync"}'),
    ).toBe(1);
    expect(
      sample(afterConflict, 'syncline_changes_rejected_total{api="sync"}') -
        sample(afterRepeat, 'syncline_changes_rejected_total{api="sync"}'),
    ).toBe(1);
    expect(sample(afterConflict, 'syncline_pending_conflicts')).toBeGreaterThanOrEqual(1);
    expect(sample(afterConflict, 'syncline_active_devices')).toBeGreaterThanOrEqual(2);
    expect(
      sample(afterConflict, 'syncline_push_duration_seconds_count{route="/api/sync"}'),
    ).toBeGreaterThanOrEqual(3);
    expect(afterConflict).toMatch(/^process_cpu_user_seconds_total /m);

    // Bounded labels: no device, user or tenant appears in any series.
    for (const name of ['dev-m1', 'dev-m2', 'u1', 'tenant-m']) {
      expect(afterConflict).not.toContain(name);
    }
  });

  it('counts seed 000 records and seed 001 queue items under their own api label', async () => {
    const before = await scrape();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/sync/queue',
      headers: { authorization: auth },
      payload: {
        deviceId: 'dev-m3',
        operation: 'CREATE',
        resourceType: 'patient',
        resourceId: 'p-1',
        data: { name: 'Asha' },
        createdAtClient: new Date().toISOString(),
      },
    });
    expect(res.statusCode).toBe(201);
    const processed = await t.app.inject({
      method: 'POST',
      url: `/api/v1/sync/process/${res.json().id}`,
      headers: { authorization: auth },
    });
    expect(processed.json().status).toBe('SYNCED');
    const after = await scrape();
    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('syncline_changes_pushed_total{api="queue"}')).toBe(1);
    expect(delta('syncline_changes_applied_total{api="queue"}')).toBe(1);
  });
});

describe('GET /metrics without SYNCLINE_METRICS_TOKEN', () => {
  let open: TestApp;
  beforeAll(async () => {
    open = await createTestApp();
  });
  afterAll(() => open.close());

  it('answers loopback clients only, whatever X-Forwarded-For says', async () => {
    const local = await open.app.inject({ method: 'GET', url: '/metrics' });
    expect(local.statusCode).toBe(200);
    expect(local.headers['content-type']).toMatch(/^text\/plain/);
    for (const remoteAddress of ['10.1.2.3', '192.168.0.7', '2001:db8::1']) {
      const res = await open.app.inject({
        method: 'GET',
        url: '/metrics',
        remoteAddress,
        headers: { 'x-forwarded-for': '127.0.0.1' },
      });
      expect(res.statusCode, remoteAddress).toBe(403);
      expect(res.json().error.code).toBe('FORBIDDEN');
    }
  });
});
