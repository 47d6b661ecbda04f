// Collections' access rules, strict mode and the tenant wall, through HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

let t: TestApp;
let n = 0;
const now = () => new Date().toISOString();

beforeAll(async () => {
  t = await createTestApp({
    config: {
      collections: {
        reading: { access: { field: 'facilityId', claim: 'facilities' } },
      },
    },
  });
});
afterAll(() => t.close());

async function sync(token: string, deviceId: string, changes: object[], url = '/api/sync') {
  const res = await t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${token}` },
    payload: {
      deviceId,
      changes: changes.map((c) => ({ mutationId: `a${++n}`, timestamp: now(), ...c })),
    },
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function pull(token: string, deviceId: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sync/delta',
    headers: { authorization: `Bearer ${token}` },
    payload: { deviceId, pageSize: 1000 },
  });
  expect(res.statusCode).toBe(200);
  return res.json().changes as Array<{ entityType: string; entityId: string; payload: unknown }>;
}

const ids = (changes: Array<{ entityId: string }>) => changes.map((c) => c.entityId);

describe('owner rule (attendance preset)', () => {
  it('shows a record to its creator and admins only, and refuses others’ edits', async () => {
    // Both clerks may clock in at f1: only the owner rule tells them apart.
    const alice = await t.token('alice', 'clinic', 'user', { facilities: ['f1'] });
    const bob = await t.token('bob', 'clinic', 'user', { facilities: ['f1'] });
    const admin = await t.token('boss', 'clinic', 'admin');
    const created = await sync(alice, 'a1', [
      {
        entityType: 'attendance',
        entityId: 'rec-1',
        operation: 'CREATE',
        payload: { facilityId: 'f1', clockIn: now() },
        clientVersion: 1,
      },
    ]);
    expect(created.results[0].status).toBe('APPLIED');
    expect(ids(await pull(alice, 'a1'))).toContain('rec-1');
    expect(ids(await pull(bob, 'b1'))).not.toContain('rec-1');
    expect(ids(await pull(admin, 'x1'))).toContain('rec-1');
    const edit = await sync(bob, 'b1', [
      {
        entityType: 'attendance',
        entityId: 'rec-1',
        operation: 'UPDATE',
        payload: { clockOut: now() },
        clientVersion: 1,
      },
    ]);
    expect(edit.results[0]).toMatchObject({ status: 'REJECTED', error: { code: 'ACCESS_DENIED' } });
  });
});

describe('{ field, claim } rule', () => {
  it('accepts only facilities listed in the token and filters pulls by them', async () => {
    const nurse = await t.token('nurse', 'region', 'user', { facilities: ['f1'] });
    const other = await t.token('other', 'region', 'user', { facilities: ['f2'] });
    const res = await sync(nurse, 'n1', [
      {
        entityType: 'reading',
        entityId: 'r1',
        operation: 'CREATE',
        payload: { facilityId: 'f1', v: 1 },
        clientVersion: 1,
      },
      {
        entityType: 'reading',
        entityId: 'r2',
        operation: 'CREATE',
        payload: { facilityId: 'f2', v: 2 },
        clientVersion: 1,
      },
    ]);
    expect(res.results.map((r: { status: string }) => r.status)).toEqual(['APPLIED', 'REJECTED']);
    expect(res.results[1].error.code).toBe('ACCESS_DENIED');
    expect(ids(await pull(nurse, 'n1'))).toEqual(['r1']);
    expect(ids(await pull(other, 'o1'))).toEqual([]);
    const move = await sync(nurse, 'n1', [
      {
        entityType: 'reading',
        entityId: 'r1',
        operation: 'UPDATE',
        payload: { facilityId: 'f2' },
        clientVersion: 1,
      },
    ]);
    expect(move.results[0]).toMatchObject({ status: 'REJECTED', error: { code: 'ACCESS_DENIED' } });
  });
});

describe('the tenant wall', () => {
  it('never shows or changes another tenant’s entities', async () => {
    const a = await t.token('u', 'tenant-a');
    const b = await t.token('u', 'tenant-b');
    await sync(a, 'd', [
      {
        entityType: 'asset',
        entityId: 'shared-id',
        operation: 'CREATE',
        payload: { owner: 'a' },
        clientVersion: 1,
      },
    ]);
    expect(ids(await pull(b, 'd'))).toEqual([]);
    const update = await sync(b, 'd', [
      {
        entityType: 'asset',
        entityId: 'shared-id',
        operation: 'UPDATE',
        payload: { owner: 'b' },
        clientVersion: 1,
      },
    ]);
    expect(update.results[0]).toMatchObject({ status: 'REJECTED', error: { code: 'NOT_FOUND' } });
    const create = await sync(b, 'd', [
      {
        entityType: 'asset',
        entityId: 'shared-id',
        operation: 'CREATE',
        payload: { owner: 'b' },
        clientVersion: 1,
      },
    ]);
    expect(create.results[0]).toMatchObject({ status: 'APPLIED', version: 1 });
    expect((await pull(a, 'd')).map((c) => c.payload)).toEqual([{ owner: 'a' }]);
  });
});

describe('strict mode', () => {
  it('refuses entity types the config does not name', async () => {
    const strict = await createTestApp({
      config: { strict: true, presets: false, collections: { asset: {} } },
    });
    try {
      const token = await strict.token('u', 't');
      const res = await strict.app.inject({
        method: 'POST',
        url: '/api/sync',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          deviceId: 'd',
          changes: [
            {
              entityType: 'asset',
              entityId: '1',
              operation: 'CREATE',
              payload: {},
              clientVersion: 1,
              timestamp: now(),
            },
            {
              entityType: 'task',
              entityId: '1',
              operation: 'CREATE',
              payload: {},
              clientVersion: 1,
              timestamp: now(),
            },
          ],
        },
      });
      expect(res.json().results.map((r: { status: string }) => r.status)).toEqual([
        'APPLIED',
        'REJECTED',
      ]);
      expect(res.json().results[1].error.code).toBe('UNKNOWN_ENTITY_TYPE');
    } finally {
      await strict.close();
    }
  });
});

describe('a sync token is bound to the view it was minted for', () => {
  it('answers reset when claims or the type filter change, so newly visible rows arrive', async () => {
    const f3 = await t.token('writer', 'scoped', 'user', { facilities: ['f3'] });
    const narrow = await t.token('reader', 'scoped', 'user', { facilities: ['f4'] });
    const wide = await t.token('reader', 'scoped', 'user', { facilities: ['f3', 'f4'] });
    await sync(f3, 'w1', [
      {
        entityType: 'reading',
        entityId: 'hidden-then-seen',
        operation: 'CREATE',
        payload: { facilityId: 'f3' },
        clientVersion: 1,
      },
    ]);
    const delta = async (token: string, body: object) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/sync/delta',
        headers: { authorization: `Bearer ${token}` },
        payload: { deviceId: 'r1', pageSize: 1000, ...body },
      });
      expect(res.statusCode).toBe(200);
      return res.json() as {
        changes: Array<{ entityId: string }>;
        syncToken: string;
        reset?: boolean;
      };
    };
    const first = await delta(narrow, {});
    expect(ids(first.changes)).not.toContain('hidden-then-seen');
    const same = await delta(narrow, { syncToken: first.syncToken });
    expect(same.reset).toBeUndefined();
    const widened = await delta(wide, { syncToken: first.syncToken });
    expect(widened.reset).toBe(true);
    expect(ids(widened.changes)).toContain('hidden-then-seen');
    const filtered = await delta(wide, { syncToken: widened.syncToken, entityTypes: ['reading'] });
    expect(filtered.reset).toBe(true);
  });
});

describe('an entity whose access field moves', () => {
  it('is revoked for readers who lose it, and its tombstone reaches only readers who saw it', async () => {
    const both = await t.token('mover', 'moves', 'user', { facilities: ['f1', 'f2'] });
    const f1 = await t.token('one', 'moves', 'user', { facilities: ['f1'] });
    const f2 = await t.token('two', 'moves', 'user', { facilities: ['f2'] });
    const feed = async (token: string, deviceId: string, syncToken?: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/sync/delta',
        headers: { authorization: `Bearer ${token}` },
        payload: { deviceId, pageSize: 1000, ...(syncToken ? { syncToken } : {}) },
      });
      return res.json() as { changes: Array<Record<string, unknown>>; syncToken: string };
    };
    await sync(both, 'm1', [
      {
        entityType: 'reading',
        entityId: 'mv',
        operation: 'CREATE',
        payload: { facilityId: 'f1', v: 1 },
        clientVersion: 1,
      },
      {
        entityType: 'reading',
        entityId: 'gone',
        operation: 'CREATE',
        payload: { facilityId: 'f2', v: 1 },
        clientVersion: 1,
      },
    ]);
    const f1Start = await feed(f1, 'p1');
    const f2Start = await feed(f2, 'p2');
    expect(ids(f1Start.changes as Array<{ entityId: string }>)).toEqual(['mv']);

    await sync(both, 'm1', [
      {
        entityType: 'reading',
        entityId: 'mv',
        operation: 'UPDATE',
        payload: { facilityId: 'f2' },
        clientVersion: 1,
      },
      { entityType: 'reading', entityId: 'gone', operation: 'DELETE', clientVersion: 1 },
    ]);
    const f1Next = await feed(f1, 'p1', f1Start.syncToken);
    expect(f1Next.changes).toEqual([
      expect.objectContaining({
        entityId: 'mv',
        operation: 'DELETE',
        payload: null,
        revoked: true,
        deletedAt: null,
      }),
    ]);
    const f2Next = await feed(f2, 'p2', f2Start.syncToken);
    expect(f2Next.changes).toEqual([
      expect.objectContaining({ entityId: 'mv', version: 2, payload: { facilityId: 'f2', v: 1 } }),
      expect.objectContaining({
        entityId: 'gone',
        operation: 'DELETE',
        deletedAt: expect.any(String),
      }),
    ]);
    expect(f2Next.changes[1]).not.toHaveProperty('revoked');
  });
});
