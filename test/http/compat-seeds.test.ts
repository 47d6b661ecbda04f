// The seed 000 and 001 adapters through app.inject(), on whichever store the HTTP suites run
// against (SQLite, and PostgreSQL when SYNCLINE_TEST_PG_URL is set): the engine paths they add —
// record sync in chunks, the queue's enqueue / process / resolve / retry and stats — commit the
// same on both. test/seeds/ walks the seed documents in full against the real server process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  // No config: the presets' own rules (seed 000's facility rule and future check included).
  t = await createTestApp();
});
afterAll(() => t.close());

async function send(
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  token: string,
  payload?: object,
) {
  const res = await t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload ? { payload } : {}),
  });
  return { status: res.statusCode, body: res.json() };
}

describe('seed 000: POST /api/attendance/sync', () => {
  it('creates, updates, replays a resend and settles a conflict per record, across chunks', async () => {
    const token = await t.token('clerk', 'woti', 'user', { facilities: ['f1'] });
    const record = (i: number, fields: object = {}) => ({
      facilityId: 'f1',
      clockIn: '2024-03-01T08:00:00Z',
      clockOut: null,
      deviceId: 'phone-1',
      clientTimestamp: new Date(Date.parse('2024-03-01T08:00:00Z') + i * 1000).toISOString(),
      syncVersion: 1,
      ...fields,
    });
    const batch = Array.from({ length: 60 }, (_, i) => record(i));
    const first = await send('POST', '/api/attendance/sync', token, { records: batch });
    expect(first.body).toMatchObject({ success: true, synced: 60, conflicts: 0, errors: 0 });

    const second = await send('POST', '/api/attendance/sync', token, {
      records: [
        batch[0],
        record(1, { clockOut: '2024-03-01T17:00:00Z' }),
        record(2, { clockIn: '2024-03-01T09:00:00Z', conflictResolutionStrategy: 'client_wins' }),
        record(3, { facilityId: 'f9' }),
      ],
    });
    expect(second.body).toMatchObject({ synced: 2, conflicts: 1, errors: 1 });
    expect(second.body.data.synced).toEqual([
      { id: first.body.data.synced[0].id, action: 'created', syncVersion: 1, duplicate: true },
      { id: first.body.data.synced[1].id, action: 'updated', syncVersion: 2 },
    ]);
    expect(second.body.data.conflicts[0]).toMatchObject({
      type: 'TIME_MISMATCH',
      strategy: 'client_wins',
      status: 'resolved',
      syncVersion: 2,
    });
    expect(second.body.data.errors[0]).toMatchObject({ index: 3, code: 'ACCESS_DENIED' });
  });
});

describe('seed 000: an operator opts out of the facility and future-time rules', () => {
  it('with access: "owner" and notInFuture: [] a token without `facilities` and a future clock-out sync', async () => {
    const relaxed = await createTestApp({
      config: { collections: { attendance: { access: 'owner', notInFuture: [] } } },
    });
    try {
      const token = await relaxed.token('clerk-any', 'woti');
      const res = await relaxed.app.inject({
        method: 'POST',
        url: '/api/attendance/sync',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          records: [
            {
              facilityId: 'anywhere',
              clockIn: new Date().toISOString(),
              clockOut: new Date(Date.now() + 86_400_000).toISOString(),
              deviceId: 'phone-any',
              clientTimestamp: new Date().toISOString(),
            },
          ],
        },
      });
      expect(res.json()).toMatchObject({ success: true, synced: 1, errors: 0 });
    } finally {
      await relaxed.close();
    }
  });
});

describe('seed 000: a record whose time Date cannot hold', () => {
  it('a leap-second clientTimestamp is a per-record error, not a failed request', async () => {
    const token = await t.token('clerk-leap', 'woti', 'user', { facilities: ['f1'] });
    const record = (clientTimestamp: string) => ({
      facilityId: 'f1',
      clockIn: '2024-06-30T08:00:00Z',
      deviceId: 'phone-leap',
      clientTimestamp,
    });
    const res = await send('POST', '/api/attendance/sync', token, {
      records: [record('2016-12-31T23:59:60Z'), record('2024-06-30T08:00:00Z')],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ synced: 1, errors: 1 });
    expect(res.body.data.errors[0]).toMatchObject({ index: 0, code: 'VALIDATION_FAILED' });
  });
});

describe('seed 001: /api/v1/sync', () => {
  it('queues, processes once, resolves a conflict, retries a failure and counts', async () => {
    const user = await t.token('nurse', 'clinic');
    const admin = await t.token('boss', 'clinic', 'admin');
    const op = (fields: object) => ({
      userId: 'nurse',
      deviceId: 'tablet-1',
      operation: 'CREATE',
      resourceType: 'patient',
      resourceId: 'pat-1',
      data: { name: 'Wanjiru' },
      createdAtClient: '2025-11-30T10:00:00.000Z',
      ...fields,
    });
    const created = await send('POST', '/api/v1/sync/queue', user, op({}));
    expect(created).toMatchObject({ status: 201, body: { status: 'PENDING' } });
    const processed = await send('POST', `/api/v1/sync/process/${created.body.id}`, user);
    expect(processed.body).toMatchObject({ status: 'SYNCED', result: { id: 'pat-1', version: 1 } });
    expect(
      (await send('POST', `/api/v1/sync/process/${created.body.id}`, user)).body,
    ).toMatchObject({
      status: 'SYNCED',
      result: { version: 1 },
    });

    const clash = await send(
      'POST',
      '/api/v1/sync/queue',
      user,
      op({ deviceId: 'tablet-2', data: { name: 'W.' } }),
    );
    const conflict = await send('POST', `/api/v1/sync/process/${clash.body.id}`, user);
    expect(conflict.body).toMatchObject({
      status: 'CONFLICT',
      error: 'Resource already exists on server',
    });
    // CLIENT_WINS needs an admin's approval (the healthcare preset's clientWinsAdminOnly).
    const asked = `/api/v1/sync/resolve/${clash.body.id}?resolution=CLIENT_WINS`;
    expect(await send('PATCH', asked, user)).toMatchObject({
      status: 403,
      body: { error: { code: 'ADMIN_REQUIRED' } },
    });
    const won = await send('PATCH', asked, admin);
    expect(won.body).toMatchObject({ status: 'SYNCED', result: { name: 'W.', version: 2 } });

    const early = await send(
      'POST',
      '/api/v1/sync/queue',
      user,
      op({ operation: 'UPDATE', resourceId: 'pat-2', data: { name: 'Otieno' } }),
    );
    expect((await send('POST', `/api/v1/sync/process/${early.body.id}`, user)).body.status).toBe(
      'FAILED',
    );
    const create2 = await send('POST', '/api/v1/sync/queue', user, op({ resourceId: 'pat-2' }));
    await send('POST', `/api/v1/sync/process/${create2.body.id}`, user);
    const retry = await send('POST', '/api/v1/sync/retry?deviceId=tablet-1', user);
    expect(retry.body).toMatchObject({
      retried: 1,
      results: [{ id: early.body.id, status: 'SYNCED' }],
    });

    const stats = await send('GET', '/api/v1/sync/stats?userId=nurse', admin);
    expect(stats.body).toEqual({
      total: 4,
      pending: 0,
      synced: 4,
      failed: 0,
      conflicts: 0,
      syncRate: '100.00%',
    });
  });
});
