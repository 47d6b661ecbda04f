// Regressions from review: what one user could do with another's device, mutation keys or
// conflicts, and where a retry or a resolution escaped the rules a push is held to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

let t: TestApp;
let n = 0;
const now = () => new Date().toISOString();

beforeAll(async () => {
  t = await createTestApp({
    config: {
      collections: {
        note: { conflictStrategy: 'CLIENT_WINS', clientWinsAdminOnly: true },
        visit: { access: { field: 'facilityId', claim: 'facilities' }, conflictStrategy: 'MANUAL' },
      },
    },
  });
});
afterAll(() => t.close());

type Method = 'GET' | 'POST' | 'DELETE';
async function call(token: string, method: Method, url: string, body?: object) {
  const res = await t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body ? { payload: body } : {}),
  });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

const change = (over: Record<string, unknown>) => ({
  mutationId: `r${++n}`,
  entityType: 'asset',
  operation: 'CREATE',
  clientVersion: 1,
  timestamp: now(),
  payload: { v: n },
  ...over,
});

async function push(token: string, deviceId: string, changes: object[]) {
  const res = await call(token, 'POST', '/api/sync', { deviceId, changes });
  return res;
}

describe('a device belongs to one user', () => {
  it('refuses another user’s pushes, revocation and registration on it', async () => {
    const alice = await t.token('alice', 'dev-wall');
    const bob = await t.token('bob', 'dev-wall');
    expect((await push(alice, 'alice-phone', [change({ entityId: 'a1' })])).status).toBe(200);

    const hijack = await push(bob, 'alice-phone', [change({ entityId: 'b1' })]);
    expect(hijack.status).toBe(403);
    expect(hijack.body.error.code).toBe('FORBIDDEN');
    expect((await call(bob, 'DELETE', '/api/sync/devices/alice-phone')).status).toBe(404);
    expect((await call(bob, 'POST', '/api/sync/devices', { deviceId: 'alice-phone' })).status).toBe(
      403,
    );

    expect((await push(alice, 'alice-phone', [change({ entityId: 'a2' })])).status).toBe(200);
    const devices = await call(alice, 'GET', '/api/sync/devices');
    expect(devices.body.devices).toEqual([
      expect.objectContaining({ deviceId: 'alice-phone', userId: 'alice', isActive: true }),
    ]);
  });

  it('never replays one user’s mutation outcome, or its conflict data, to another', async () => {
    const alice = await t.token('alice', 'key-wall');
    const bob = await t.token('bob', 'key-wall');
    await push(alice, 'shared-tab', [change({ entityId: 's1', payload: { pin: 1234 } })]);
    const secret = change({
      entityId: 's1',
      operation: 'UPDATE',
      clientVersion: 7,
      payload: { pin: 9999 },
      conflictStrategy: 'MANUAL',
    });
    const first = await push(alice, 'shared-tab', [secret]);
    expect(first.body.results[0].status).toBe('CONFLICT');
    // The tablet is handed on: an admin reassigns it to bob.
    const admin = await t.token('boss', 'key-wall', 'admin');
    expect(
      (await call(admin, 'POST', '/api/sync/devices', { deviceId: 'shared-tab', userId: 'bob' }))
        .status,
    ).toBe(200);
    const replay = await push(bob, 'shared-tab', [secret]);
    expect(replay.status).toBe(200);
    expect(replay.body.results[0]).toMatchObject({
      status: 'REJECTED',
      error: { code: 'FORBIDDEN' },
    });
    expect(replay.body.conflicts).toEqual([]);
  });
});

// Review: a revoked device id could be registered by another user of the tenant, who inherited
// its name and sync token, and its owner was then refused. Now a device id stays with its user on
// every route that names one, and only an admin hands it on, with nothing inherited.
describe('a revoked device cannot be taken over', () => {
  const tenant = 'hijack';
  const nowIso = () => new Date().toISOString();

  async function raw(
    token: string,
    method: Method,
    url: string,
    body?: object,
    headers: Record<string, string> = {},
  ) {
    const res = await t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...headers },
      ...(body ? { payload: body } : {}),
    });
    return { status: res.statusCode, text: res.body, body: res.body ? res.json() : undefined };
  }

  it('refuses another user on every route that names the device, and tells nothing of it', async () => {
    const alice = await t.token('alice', tenant);
    const mallory = await t.token('mallory', tenant);
    const named = await call(alice, 'POST', '/api/sync/devices', {
      deviceId: 'alice-tab',
      deviceName: 'Ward 3 tablet',
      platform: 'android',
    });
    expect(named.status).toBe(200);
    const synced = await push(alice, 'alice-tab', [change({ entityId: 'h1' })]);
    const aliceToken = synced.body.syncToken as string;
    expect((await call(alice, 'DELETE', '/api/sync/devices/alice-tab')).status).toBe(204);

    const attempts = [
      await raw(mallory, 'POST', '/api/sync/devices', { deviceId: 'alice-tab' }),
      await raw(mallory, 'POST', '/api/sync', { deviceId: 'alice-tab', changes: [] }),
      await raw(mallory, 'POST', '/api/sync/delta', { deviceId: 'alice-tab' }),
      await raw(mallory, 'GET', '/api/sync/stream?deviceId=alice-tab', undefined, {
        accept: 'text/event-stream',
      }),
      await raw(mallory, 'POST', '/api/v1/sync/queue', {
        deviceId: 'alice-tab',
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'x' },
        createdAtClient: nowIso(),
      }),
      await raw(
        mallory,
        'POST',
        '/api/offline/queue',
        { operation_type: 'sale', endpoint: '/api/sales', method: 'POST' },
        { 'x-device-id': 'alice-tab' },
      ),
      await raw(mallory, 'POST', '/api/offline/sync', {}, { 'x-device-id': 'alice-tab' }),
    ];
    for (const attempt of attempts) {
      expect(attempt.status, attempt.text).toBe(403);
      expect(attempt.body.error.code).toBe('FORBIDDEN');
      // Not even that the device was unregistered, let alone its name or sync token.
      expect(attempt.text).not.toMatch(/unregistered|Ward 3|android/);
      expect(attempt.text).not.toContain(aliceToken);
    }
    const attendance = await raw(mallory, 'POST', '/api/attendance/sync', {
      records: [{ facilityId: 'f1', deviceId: 'alice-tab', clientTimestamp: nowIso() }],
    });
    expect(attendance.body.data.errors).toEqual([
      expect.objectContaining({ deviceId: 'alice-tab', code: 'FORBIDDEN' }),
    ]);

    // Its owner registers it again and keeps what it had.
    const back = await call(alice, 'POST', '/api/sync/devices', { deviceId: 'alice-tab' });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({
      userId: 'alice',
      deviceName: 'Ward 3 tablet',
      isActive: true,
      syncToken: aliceToken,
    });
    expect((await push(alice, 'alice-tab', [change({ entityId: 'h2' })])).status).toBe(200);
    const devices = await t.store.forTenant(tenant).listDevices({});
    expect(devices.map((d) => [d.deviceId, d.userId])).toEqual([['alice-tab', 'alice']]);
  });

  it('an admin hands a device on: the new owner starts afresh, the old one is refused', async () => {
    const alice = await t.token('alice', tenant);
    const bob = await t.token('bob', tenant);
    const admin = await t.token('boss', tenant, 'admin');
    await call(alice, 'POST', '/api/sync/devices', { deviceId: 'shared', deviceName: 'Alice’s' });
    await push(alice, 'shared', [change({ entityId: 'h3' })]);

    const toHimself = await call(bob, 'POST', '/api/sync/devices', {
      deviceId: 'shared',
      userId: 'bob',
    });
    expect(toHimself.body.error.code).toBe('FORBIDDEN');
    const toAnother = await call(bob, 'POST', '/api/sync/devices', {
      deviceId: 'bobs-own',
      userId: 'carol',
    });
    expect(toAnother.status).toBe(403);
    expect(toAnother.body.error.code).toBe('ADMIN_REQUIRED');

    const handed = await call(admin, 'POST', '/api/sync/devices', {
      deviceId: 'shared',
      userId: 'bob',
      deviceName: 'Bob’s',
    });
    expect(handed.status).toBe(200);
    expect(handed.body).toMatchObject({
      deviceId: 'shared',
      userId: 'bob',
      deviceName: 'Bob’s',
      syncToken: null,
      lastSyncAt: null,
      isActive: true,
    });
    const refused = await push(alice, 'shared', []);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    const bobs = await push(bob, 'shared', [change({ entityId: 'h4' })]);
    expect(bobs.status).toBe(200);
    expect(bobs.body.results[0].status).toBe('APPLIED');
    const audit = await t.store.forTenant(tenant).listAudit({ action: 'device.reassign' });
    expect(audit).toEqual([
      expect.objectContaining({
        actor: 'boss',
        target: 'shared',
        details: { from: 'alice', to: 'bob' },
      }),
    ]);
  });
});

describe('resolving a conflict obeys the rules a push obeys', () => {
  it('CLIENT_WINS restricted to admins stays so when a user resolves their own conflict', async () => {
    const user = await t.token('u1', 'resolve-rules');
    await push(user, 'u1-dev', [
      change({ entityType: 'note', entityId: 'n1', payload: { text: 'a' } }),
    ]);
    await push(user, 'u1-dev', [
      change({ entityType: 'note', entityId: 'n1', operation: 'UPDATE', payload: { text: 'b' } }),
    ]);
    const stale = await push(user, 'u1-dev', [
      change({ entityType: 'note', entityId: 'n1', operation: 'UPDATE', payload: { text: 'c' } }),
    ]);
    const conflict = stale.body.conflicts[0];
    expect(conflict).toMatchObject({ status: 'PENDING_REVIEW' });
    const res = await call(user, 'POST', '/api/sync/conflicts/resolve', {
      conflictId: conflict.id,
      resolution: 'CLIENT_WINS',
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('ADMIN_REQUIRED');
  });

  it('resolvedData cannot move an entity into a facility the user has no claim to', async () => {
    const user = await t.token('u2', 'resolve-rules', 'user', { facilities: ['F1'] });
    await push(user, 'u2-dev', [
      change({ entityType: 'visit', entityId: 'v1', payload: { facilityId: 'F1', n: 1 } }),
    ]);
    await push(user, 'u2-dev', [
      change({ entityType: 'visit', entityId: 'v1', operation: 'UPDATE', payload: { n: 2 } }),
    ]);
    const conflicted = await push(user, 'u2-dev', [
      change({ entityType: 'visit', entityId: 'v1', operation: 'UPDATE', payload: { n: 3 } }),
    ]);
    const conflictId = conflicted.body.conflicts[0].id;
    const res = await call(user, 'POST', '/api/sync/conflicts/resolve', {
      conflictId,
      resolution: 'MANUAL',
      resolvedData: { facilityId: 'F2', n: 9 },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('ACCESS_DENIED');
    const ok = await call(user, 'POST', '/api/sync/conflicts/resolve', {
      conflictId,
      resolution: 'MANUAL',
      resolvedData: { facilityId: 'F1', n: 9 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.change).toMatchObject({ version: 3, payload: { facilityId: 'F1', n: 9 } });
  });

  it('a resolution that would overwrite an edit made since the conflict answers CONFLICT_STALE', async () => {
    const user = await t.token('u3', 'resolve-rules');
    const admin = await t.token('boss', 'resolve-rules', 'admin');
    await push(user, 'u3-dev', [change({ entityId: 'st1', payload: { v: 1 } })]);
    await push(user, 'u3-dev', [
      change({ entityId: 'st1', operation: 'UPDATE', payload: { v: 2 } }),
    ]);
    const conflicted = await push(user, 'u3-dev', [
      change({
        entityId: 'st1',
        operation: 'UPDATE',
        payload: { v: 3 },
        conflictStrategy: 'MANUAL',
      }),
    ]);
    const conflictId = conflicted.body.conflicts[0].id;
    await push(user, 'u3-dev', [
      change({ entityId: 'st1', operation: 'UPDATE', clientVersion: 2, payload: { v: 4 } }),
    ]);
    const stale = await call(admin, 'POST', '/api/sync/conflicts/resolve', {
      conflictId,
      resolution: 'CLIENT_WINS',
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({
      code: 'CONFLICT_STALE',
      details: { serverVersion: 3, serverData: { v: 4 } },
    });
    const again = await call(admin, 'POST', '/api/sync/conflicts/resolve', {
      conflictId,
      resolution: 'CLIENT_WINS',
    });
    expect(again.status).toBe(200);
    expect(again.body.change).toMatchObject({ version: 4, payload: { v: 3 } });
  });
});

describe('queue retry', () => {
  it('re-runs a device’s failed mutations in the order it made them', async () => {
    const before = await t.token('u4', 'retry-order', 'user', { facilities: [] });
    const batch = [
      change({ entityType: 'visit', entityId: 'ord', payload: { facilityId: 'F7', n: 0 } }),
      change({
        mutationId: 'zz-first-update',
        entityType: 'visit',
        entityId: 'ord',
        operation: 'UPDATE',
        clientVersion: 1,
        payload: { n: 1 },
      }),
      change({
        mutationId: 'aa-second-update',
        entityType: 'visit',
        entityId: 'ord',
        operation: 'UPDATE',
        clientVersion: 2,
        payload: { n: 2 },
      }),
    ];
    const refused = await push(before, 'u4-dev', batch);
    expect(refused.body.results.map((r: { error: { code: string } }) => r.error.code)).toEqual([
      'ACCESS_DENIED',
      'NOT_FOUND',
      'NOT_FOUND',
    ]);
    const granted = await t.token('u4', 'retry-order', 'user', { facilities: ['F7'] });
    const retry = await call(granted, 'POST', '/api/sync/queue/retry', { deviceId: 'u4-dev' });
    expect(retry.status).toBe(200);
    expect(
      retry.body.results.map((r: { status: string; version: number }) => [r.status, r.version]),
    ).toEqual([
      ['APPLIED', 1],
      ['APPLIED', 2],
      ['APPLIED', 3],
    ]);
    const admin = await t.token('boss', 'retry-order', 'admin');
    const history = await call(admin, 'GET', '/api/sync/entities/visit/ord/history');
    expect(history.body.history.at(-1).payload).toEqual({ facilityId: 'F7', n: 2 });
  });

  it('an admin’s retry does not lend the admin’s claims to the owner’s mutation', async () => {
    const user = await t.token('u5', 'retry-claims', 'user', { facilities: ['F1'] });
    const refused = await push(user, 'u5-dev', [
      change({ entityType: 'visit', entityId: 'x9', payload: { facilityId: 'F9' } }),
    ]);
    expect(refused.body.results[0].error.code).toBe('ACCESS_DENIED');
    const admin = await t.token('boss', 'retry-claims', 'admin', { facilities: ['F9'] });
    const retry = await call(admin, 'POST', '/api/sync/queue/retry', {});
    expect(retry.body.results).toEqual([
      expect.objectContaining({
        status: 'REJECTED',
        error: expect.objectContaining({ code: 'ACCESS_DENIED' }),
      }),
    ]);
  });

  it('a FAILED mutationId cannot be reused for another change', async () => {
    const user = await t.token('u6', 'reuse');
    const first = await push(user, 'u6-dev', [
      change({ mutationId: 'm-reuse', entityId: 'gone', operation: 'UPDATE', payload: { a: 1 } }),
    ]);
    expect(first.body.results[0].error.code).toBe('NOT_FOUND');
    const reused = await push(user, 'u6-dev', [
      change({ mutationId: 'm-reuse', entityId: 'other' }),
    ]);
    expect(reused.body.results[0]).toMatchObject({
      status: 'REJECTED',
      error: { code: 'VALIDATION_FAILED' },
    });
  });
});

describe('inputs a store would choke on', () => {
  it('refuses versions beyond 32 bits and control characters in ids with 400, writing nothing', async () => {
    const user = await t.token('u7', 'limits');
    for (const bad of [
      {
        deviceId: 'd',
        changes: [change({ entityId: 'big', operation: 'UPDATE', clientVersion: 3_000_000_000 })],
      },
      { deviceId: 'd\u0000x', changes: [change({ entityId: 'nul' })] },
      { deviceId: 'd', changes: [change({ entityId: 'e\u0000' })] },
    ]) {
      const res = await call(user, 'POST', '/api/sync', bad);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await t.store.forTenant('limits').readFeed({ afterSeq: 0, limit: 10 })).toEqual([]);
  });

  it('refuses a deeply nested payload per change, and a body nested past the stack with 400', async () => {
    const user = await t.token('u8', 'limits');
    const nest = (depth: number) => {
      let value: unknown = 1;
      for (let i = 0; i < depth; i++) value = [value];
      return { deep: value };
    };
    const res = await push(user, 'u8-dev', [
      change({ entityId: 'deep', payload: nest(36) }),
      change({ entityId: 'fine' }),
    ]);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'REJECTED',
      'APPLIED',
    ]);
    expect(res.body.results[0].error.code).toBe('VALIDATION_FAILED');
    // Serialized by hand: the test's own JSON.stringify would overflow first.
    const deepBody = `{"deviceId":"u8-dev","changes":[{"entityType":"asset","entityId":"bomb","operation":"CREATE","clientVersion":1,"timestamp":"${now()}","payload":{"deep":${'['.repeat(5000)}1${']'.repeat(5000)}}}]}`;
    const bomb = await t.app.inject({
      method: 'POST',
      url: '/api/sync',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
      payload: deepBody,
    });
    expect(bomb.statusCode).toBe(400);
    expect(bomb.json().error.code).toBe('VALIDATION_FAILED');
  });
});
