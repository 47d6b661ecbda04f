// Seed 000 (WOTI Attendance, seeds/000_1e7dd788cc7acd62.txt) walked top to bottom against the real
// server process: the sync request and response, duplicates, the three conflict scenarios and the
// three strategies, chunks, the rate limit, and the security rules the seed lists.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeltaResponse } from '@syncline/protocol';
import { openStore } from '../../packages/server/src/store/index.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { call, curl } from './seed-http.js';

let server: ServerProcess;
const tenant = 'woti';
const sync = '/api/attendance/sync';

// No collections config: the attendance preset itself keeps the seed's security rules (facility
// access from the token's `facilities` claim, no clock times in the future).
beforeAll(async () => {
  server = await startServer({ env: { SYNCLINE_PUSH_LIMIT: '20/5m' } });
});
afterAll(async () => {
  await server?.stop();
});

/** A clerk with the facilities they may clock in at; each test uses its own (own rate budget). */
function clerk(facilities: string[] = ['uuid', 'fac-a']) {
  const sub = `clerk-${randomUUID().slice(0, 8)}`;
  return { sub, token: server.token(sub, tenant, 'user', { facilities }) };
}
const admin = () => server.token('woti-admin', tenant, 'admin');

const post = (token: string, records: unknown[]) =>
  call(`POST`, `${server.url}${sync}`, token, { records });

/** The seed's example record ("Sync Request"), with fields to change. */
function seedRecord(fields: Record<string, unknown> = {}) {
  return {
    facilityId: 'uuid',
    clockIn: '2024-01-01T08:00:00Z',
    clockOut: '2024-01-01T17:00:00Z',
    clockInLatitude: -1.9536,
    clockInLongitude: 30.0606,
    deviceId: `device_${randomUUID().slice(0, 8)}`,
    clientTimestamp: '2024-01-01T08:00:00Z',
    syncVersion: 1,
    conflictResolutionStrategy: 'server_wins',
    ...fields,
  };
}

async function pullAttendance(token: string, deviceId: string) {
  const res = await call<DeltaResponse>('POST', `${server.url}/api/sync/delta`, token, {
    deviceId,
    entityTypes: ['attendance'],
  });
  expect(res.status).toBe(200);
  return res.body.changes;
}

async function historyOf(id: string) {
  const res = await call(
    'GET',
    `${server.url}/api/sync/entities/attendance/${id}/history`,
    admin(),
  );
  expect(res.status).toBe(200);
  return res.body.history as Array<{ version: number; payload: Record<string, unknown> }>;
}

describe('2. Sync Request → 4. Sync Response', () => {
  it('answers the documented response for the seed’s own request', async () => {
    const { token, sub } = clerk();
    const record = seedRecord();
    const res = await post(token, [record]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, synced: 1, conflicts: 0, errors: 0 });
    expect(Date.parse(res.body.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body.data.synced).toEqual([
      { id: expect.any(String), action: 'created', syncVersion: 1 },
    ]);
    expect(res.body.data.conflicts).toEqual([]);
    expect(res.body.data.errors).toEqual([]);

    // Records are `attendance` entities, visible through the canonical API to their owner only.
    const id = res.body.data.synced[0].id as string;
    const mine = await pullAttendance(token, record.deviceId);
    expect(mine).toEqual([
      expect.objectContaining({
        entityType: 'attendance',
        entityId: id,
        version: 1,
        updatedBy: sub,
        payload: {
          facilityId: 'uuid',
          clockIn: '2024-01-01T08:00:00Z',
          clockOut: '2024-01-01T17:00:00Z',
          clockInLatitude: -1.9536,
          clockInLongitude: 30.0606,
          deviceId: record.deviceId,
          clientTimestamp: '2024-01-01T08:00:00Z',
        },
      }),
    ]);
    const colleague = clerk();
    expect(await pullAttendance(colleague.token, `dev-${colleague.sub}`)).toEqual([]);
  });

  it('runs the seed’s HTTP example with curl as written (no Content-Type)', async () => {
    const { token } = clerk();
    const deviceId = `device_${randomUUID().slice(0, 8)}`;
    const answer = await curl(
      `curl -X POST "$URL/api/attendance/sync" \\
  -H "Authorization: Bearer $TOKEN" \\
  -d '{
  "records": [
    {
      "facilityId": "uuid",
      "clockIn": "2024-01-01T08:00:00Z",
      "clockOut": "2024-01-01T17:00:00Z",
      "clockInLatitude": -1.9536,
      "clockInLongitude": 30.0606,
      "deviceId": "${deviceId}",
      "clientTimestamp": "2024-01-01T08:00:00Z",
      "syncVersion": 1,
      "conflictResolutionStrategy": "server_wins"
    }
  ]
}'`,
      { URL: server.url, TOKEN: token },
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ success: true, synced: 1, conflicts: 0, errors: 0 });
    expect(answer.body.data.synced[0]).toMatchObject({ action: 'created' });
  });

  it('syncs a batch of ten ("synced": 10) and tells created from updated', async () => {
    const { token } = clerk();
    const deviceId = `device_${randomUUID().slice(0, 8)}`;
    const records = Array.from({ length: 10 }, (_, i) =>
      seedRecord({
        deviceId,
        clockOut: null,
        clientTimestamp: `2024-01-0${(i % 9) + 1}T0${i % 10}:00:00Z`,
      }),
    );
    const first = await post(token, records);
    expect(first.body).toMatchObject({ success: true, synced: 10, conflicts: 0, errors: 0 });
    expect(first.body.data.synced.map((s: { action: string }) => s.action)).toEqual(
      Array(10).fill('created'),
    );
    // The clerk clocks out later: the same record, now updated (a clock-out moved by more than
    // a minute would be a TIME_MISMATCH instead).
    const clockedOut = { ...records[0], clockOut: '2024-01-01T18:30:00Z' };
    const second = await post(token, [clockedOut]);
    expect(second.body.data.synced).toEqual([
      { id: first.body.data.synced[0].id, action: 'updated', syncVersion: 2 },
    ]);
  });
});

describe('3. Server processing: duplicates by device_id + client_timestamp', () => {
  it('a resend is never a second record, nor a second version', async () => {
    const { token } = clerk();
    const record = seedRecord();
    const first = await post(token, [record]);
    const id = first.body.data.synced[0].id;
    const again = await post(token, [record]);
    expect(again.body).toMatchObject({ synced: 1, conflicts: 0, errors: 0 });
    expect(again.body.data.synced[0]).toEqual({
      id,
      action: 'created',
      syncVersion: 1,
      duplicate: true,
    });
    expect((await historyOf(id)).map((h) => h.version)).toEqual([1]);
    // The same device and moment, however its times are written, is the same record, and the
    // resend is a duplicate: no second version.
    const respelled = await post(token, [
      {
        ...record,
        clientTimestamp: '2024-01-01T08:00:00.000Z',
        clockIn: '2024-01-01T08:00:00.000Z',
        clockOut: '2024-01-01T17:00:00.000+00:00',
      },
    ]);
    expect(respelled.body.data.synced[0]).toEqual({
      id,
      action: 'created',
      syncVersion: 1,
      duplicate: true,
    });
    expect((await historyOf(id)).map((h) => h.version)).toEqual([1]);
    const changes = await pullAttendance(token, record.deviceId);
    expect(new Set(changes.map((c) => c.entityId))).toEqual(new Set([id]));
  });
});

describe('3. Server processing: the same request twice at the same instant', () => {
  it('applies it once: one answer says created, the other is a duplicate', async () => {
    const { token } = clerk();
    const records = [seedRecord(), seedRecord()];
    const [a, b] = await Promise.all([post(token, records), post(token, records)]);
    const flags = [...a.body.data.synced, ...b.body.data.synced].map((s) => Boolean(s.duplicate));
    expect(flags.sort()).toEqual([false, false, true, true]);
    for (const { id } of a.body.data.synced) {
      expect((await historyOf(id)).map((h) => h.version)).toEqual([1]);
    }
  });
});

describe('Conflict detection and resolution', () => {
  /** A record on the server at version 2 (synced, then clocked out), and the clerk's token. */
  async function recordAtVersion2() {
    const { token } = clerk();
    const record = seedRecord({ clockOut: null });
    const created = await post(token, [record]);
    const id = created.body.data.synced[0].id as string;
    const out = await post(token, [{ ...record, clockOut: '2024-01-01T17:00:00Z' }]);
    expect(out.body.data.synced[0]).toMatchObject({ id, action: 'updated', syncVersion: 2 });
    return { token, record, id };
  }

  it('Version Mismatch, server_wins (the default): the server copy stays', async () => {
    const { token, record, id } = await recordAtVersion2();
    const { conflictResolutionStrategy: _, ...noStrategy } = record;
    const stale = { ...noStrategy, clockOut: '2024-01-01T16:00:00Z', syncVersion: 1 };
    const res = await post(token, [stale]);
    expect(res.body).toMatchObject({ success: true, synced: 0, conflicts: 1, errors: 0 });
    expect(res.body.data.conflicts[0]).toMatchObject({
      id,
      type: 'VERSION_MISMATCH',
      strategy: 'server_wins',
      status: 'resolved',
      syncVersion: 2,
      serverVersion: 2,
      clientVersion: 1,
      serverRecord: { clockOut: '2024-01-01T17:00:00Z' },
      clientRecord: { clockOut: '2024-01-01T16:00:00Z' },
    });
    const history = await historyOf(id);
    expect(history.at(-1)).toMatchObject({
      version: 2,
      payload: { clockOut: '2024-01-01T17:00:00Z' },
    });
  });

  it('Time Mismatch: same version, clock-in moved by more than a minute; within a minute it updates', async () => {
    const { token, record, id } = await recordAtVersion2();
    const moved = await post(token, [
      { ...record, clockIn: '2024-01-01T08:05:00Z', syncVersion: 2 },
    ]);
    expect(moved.body.data.conflicts[0]).toMatchObject({
      id,
      type: 'TIME_MISMATCH',
      syncVersion: 2,
    });
    const movedOut = await post(token, [
      { ...record, clockOut: '2024-01-01T17:03:00Z', syncVersion: 2 },
    ]);
    expect(movedOut.body.data.conflicts[0]).toMatchObject({ type: 'TIME_MISMATCH' });
    const nudged = await post(token, [
      { ...record, clockIn: '2024-01-01T08:00:59Z', syncVersion: 2 },
    ]);
    expect(nudged.body.data.synced[0]).toMatchObject({ id, action: 'updated', syncVersion: 3 });
  });

  it('Dual Modification: an admin corrected the record while the device edited it', async () => {
    const { token } = clerk();
    const record = seedRecord();
    const created = await post(token, [record]);
    const id = created.body.data.synced[0].id;
    const correction = await call('POST', `${server.url}/api/sync`, admin(), {
      deviceId: 'admin-console',
      changes: [
        {
          entityType: 'attendance',
          entityId: id,
          operation: 'UPDATE',
          payload: { clockInLatitude: -1.9541 },
          clientVersion: 1,
          timestamp: new Date().toISOString(),
        },
      ],
    });
    expect(correction.body.results[0]).toMatchObject({ status: 'APPLIED', version: 2 });
    const res = await post(token, [{ ...record, clockOut: '2024-01-01T17:30:00Z' }]);
    expect(res.body.data.conflicts[0]).toMatchObject({
      type: 'VERSION_MISMATCH',
      serverRecord: { clockInLatitude: -1.9541, clockOut: '2024-01-01T17:00:00Z' },
      clientRecord: { clockInLatitude: -1.9536, clockOut: '2024-01-01T17:30:00Z' },
    });
  });

  it('client_wins: the mobile copy is stored with syncVersion = server + 1', async () => {
    const { token, record, id } = await recordAtVersion2();
    const fix = {
      ...record,
      clockIn: '2024-01-01T07:45:00Z',
      syncVersion: 1,
      conflictResolutionStrategy: 'client_wins',
    };
    const res = await post(token, [fix]);
    expect(res.body).toMatchObject({ synced: 0, conflicts: 1, errors: 0 });
    expect(res.body.data.conflicts[0]).toMatchObject({
      id,
      strategy: 'client_wins',
      status: 'resolved',
      serverVersion: 2,
      syncVersion: 3,
    });
    const history = await historyOf(id);
    expect(history.at(-1)).toMatchObject({
      version: 3,
      payload: { clockIn: '2024-01-01T07:45:00Z' },
    });
  });

  it('manual: both versions are stored for an administrator, who settles it', async () => {
    const { token, record, id } = await recordAtVersion2();
    const disputed = {
      ...record,
      clockIn: '2024-01-01T06:00:00Z',
      syncVersion: 1,
      conflictResolutionStrategy: 'manual',
    };
    const res = await post(token, [disputed]);
    expect(res.body.data.conflicts[0]).toMatchObject({
      id,
      strategy: 'manual',
      status: 'pending_review',
      syncVersion: 2,
    });
    const listed = await call('GET', `${server.url}/api/sync/conflicts`, admin());
    const review = listed.body.conflicts.find(
      (c: { id: string }) => c.id === res.body.data.conflicts[0].conflictId,
    );
    expect(review).toMatchObject({
      status: 'PENDING_REVIEW',
      entityType: 'attendance',
      entityId: id,
      clientData: { clockIn: '2024-01-01T06:00:00Z' },
      serverData: { clockIn: '2024-01-01T08:00:00Z' },
    });
    const settled = await call('POST', `${server.url}/api/sync/conflicts/resolve`, admin(), {
      conflictId: review.id,
      resolution: 'SERVER_WINS',
    });
    expect(settled.body.conflict).toMatchObject({ status: 'RESOLVED', resolution: 'SERVER_WINS' });
    // The device resends the same copy: it answers the conflict again, never writes it.
    const resend = await post(token, [disputed]);
    expect(resend.body.data.conflicts[0]).toMatchObject({
      conflictId: review.id,
      status: 'resolved',
    });
    expect((await historyOf(id)).map((h) => h.version)).toEqual([1, 2]);
  });
});

describe('Batch Sync Optimization', () => {
  it('processes a batch of 120 in chunks of 50, every record accounted for in order', async () => {
    const { token } = clerk();
    const deviceId = `device_${randomUUID().slice(0, 8)}`;
    const base = Date.parse('2024-02-01T06:00:00Z');
    const records = Array.from({ length: 120 }, (_, i) =>
      seedRecord({ deviceId, clientTimestamp: new Date(base + i * 60_000).toISOString() }),
    );
    const res = await post(token, records);
    expect(res.body).toMatchObject({ synced: 120, conflicts: 0, errors: 0 });
    expect(new Set(res.body.data.synced.map((s: { id: string }) => s.id)).size).toBe(120);
  });

  it('Rate Limiting: 20 sync requests per 5 minutes per user, then 429 with Retry-After', async () => {
    const busy = clerk();
    const calm = clerk();
    const record = seedRecord();
    for (let i = 0; i < 20; i++) {
      expect((await post(busy.token, [record])).status).toBe(200);
    }
    const refused = await post(busy.token, [record]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.any(String), details: expect.any(Object) },
    });
    // The budget is per user.
    expect((await post(calm.token, [seedRecord()])).status).toBe(200);
  });
});

describe('Security Considerations', () => {
  it('1. Authentication: a JWT is required', async () => {
    const res = await call('POST', `${server.url}${sync}`, undefined, { records: [] });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('2. User isolation: another user can neither sync from my device nor see my records', async () => {
    const me = clerk();
    const other = clerk();
    const record = seedRecord();
    const mine = await post(me.token, [record]);
    const id = mine.body.data.synced[0].id;
    const theirs = await post(other.token, [{ ...record, clockIn: '2024-01-01T05:00:00Z' }]);
    expect(theirs.body).toMatchObject({ synced: 0, conflicts: 0, errors: 1 });
    expect(theirs.body.data.errors[0]).toMatchObject({
      id,
      code: 'FORBIDDEN',
      deviceId: record.deviceId,
    });
    expect((await historyOf(id)).map((h) => h.version)).toEqual([1]);
    // The same moment on their own device is their own record.
    const own = await post(other.token, [{ ...record, deviceId: `device_${other.sub}` }]);
    expect(own.body.data.synced[0].id).not.toBe(id);
    // Another tenant's admin finds nothing.
    const outsider = server.token('boss', 'another-tenant', 'admin');
    const res = await call(
      'GET',
      `${server.url}/api/sync/entities/attendance/${id}/history`,
      outsider,
    );
    expect(res.status).toBe(404);
  });

  it('3. Facility validation: only facilities in the token’s `facilities` claim', async () => {
    const { token } = clerk(['fac-a']);
    const res = await post(token, [
      seedRecord({ facilityId: 'fac-a' }),
      seedRecord({ facilityId: 'fac-b' }),
    ]);
    expect(res.body).toMatchObject({ synced: 1, conflicts: 0, errors: 1 });
    expect(res.body.data.errors[0]).toMatchObject({
      index: 1,
      code: 'ACCESS_DENIED',
      error: expect.stringContaining("facilityId is not in the token's `facilities` claim"),
    });
    // A token minted without the claim gets a per-record error that names it.
    const noClaim = server.token(`clerk-${randomUUID().slice(0, 8)}`, tenant);
    const refused = await post(noClaim, [seedRecord({ facilityId: 'fac-a' })]);
    expect(refused.body).toMatchObject({ success: true, synced: 0, errors: 1 });
    expect(refused.body.data.errors[0]).toMatchObject({
      code: 'ACCESS_DENIED',
      error: expect.stringContaining('the token has no `facilities` claim'),
      details: { claim: 'facilities', field: 'facilityId' },
    });
    // Admins pass the facility rule.
    const fixed = await post(admin(), [seedRecord({ facilityId: 'fac-z' })]);
    expect(fixed.body).toMatchObject({ synced: 1, errors: 0 });
  });

  it('4. Timestamp validation: a record from the future is refused, the rest sync', async () => {
    const { token } = clerk();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const res = await post(token, [seedRecord(), seedRecord({ clientTimestamp: future })]);
    expect(res.body).toMatchObject({ synced: 1, errors: 1 });
    expect(res.body.data.errors[0]).toMatchObject({
      index: 1,
      code: 'FUTURE_TIMESTAMP',
      clientTimestamp: future,
    });
  });

  it('4. Timestamp validation: a clock-in or clock-out in the future is refused, per record', async () => {
    const { token } = clerk();
    const now = new Date().toISOString();
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const soon = new Date(Date.now() + 60_000).toISOString(); // within the allowed skew
    const open = seedRecord({ clientTimestamp: now, clockIn: soon, clockOut: null });
    const res = await post(token, [
      seedRecord({ clientTimestamp: now, clockIn: tomorrow, clockOut: null }),
      seedRecord({ clientTimestamp: now, clockIn: now, clockOut: tomorrow }),
      open,
    ]);
    expect(res.body).toMatchObject({ success: true, synced: 1, errors: 2 });
    expect(res.body.data.errors).toEqual([
      expect.objectContaining({
        index: 0,
        code: 'FUTURE_TIMESTAMP',
        details: expect.objectContaining({ field: 'clockIn', value: tomorrow }),
      }),
      expect.objectContaining({
        index: 1,
        code: 'FUTURE_TIMESTAMP',
        details: expect.objectContaining({ field: 'clockOut', value: tomorrow }),
      }),
    ]);
    // A clock-out sent later for the open record is checked too; the record stays as it was.
    const id = res.body.data.synced[0].id;
    const later = await post(token, [{ ...open, clockOut: tomorrow }]);
    expect(later.body.data.errors[0]).toMatchObject({ id, code: 'FUTURE_TIMESTAMP' });
    expect((await historyOf(id)).map((h) => h.version)).toEqual([1]);
  });

  it('Validate metadata: a record missing a required field is a per-record error; a bad body is 400', async () => {
    const { token } = clerk();
    const { deviceId: _, ...noDevice } = seedRecord();
    const res = await post(token, [
      noDevice,
      seedRecord({ conflictResolutionStrategy: 'loudest_wins' }),
    ]);
    expect(res.body).toMatchObject({ synced: 0, errors: 2 });
    expect(res.body.data.errors.map((e: { code: string }) => e.code)).toEqual([
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
    ]);
    const bad = await call('POST', `${server.url}${sync}`, token, { rows: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('6. Audit trail: one activities row per sync request', async () => {
    const { token, sub } = clerk();
    await post(token, [seedRecord(), seedRecord(), seedRecord({ facilityId: 'elsewhere' })]);
    const store = await openStore({ dataDir: server.dataDir, migrate: false });
    try {
      const rows = await store
        .forTenant(tenant)
        .listAudit({ action: 'attendance.sync', limit: 1000 });
      const mine = rows.filter((row) => row.actor === sub);
      expect(mine).toHaveLength(1);
      expect(mine[0]?.details).toMatchObject({ records: 3, applied: 2, rejected: 1 });
    } finally {
      await store.close();
    }
  });
});
