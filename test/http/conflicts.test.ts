// Every conflict type and every resolution strategy, through HTTP: what the device is told, what
// the server keeps, what the conflict record holds, and what other devices then pull.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '@syncline/protocol';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

let t: TestApp;
let user: string;
let other: string;
let admin: string;
let seq = 0;

beforeAll(async () => {
  t = await createTestApp();
  user = await t.token('alice', 'acme');
  other = await t.token('bob', 'acme');
  admin = await t.token('root', 'acme', 'admin');
});
afterAll(() => t.close());

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

async function post(token: string, url: string, body: unknown) {
  const res = await t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${token}` },
    payload: body as object,
  });
  return { status: res.statusCode, body: res.json() };
}

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

async function push(token: string, deviceId: string, change: ChangeInput, syncToken?: string) {
  const body = {
    deviceId,
    ...(syncToken ? { syncToken } : {}),
    changes: [{ mutationId: `m${++seq}`, entityType: 'asset', timestamp: at(1), ...change }],
  };
  const res = await post(token, '/api/sync', body);
  expect(res.status).toBe(200);
  return res.body;
}

async function pullAll(token: string, deviceId: string, syncToken?: string) {
  const res = await post(token, '/api/sync/delta', {
    deviceId,
    pageSize: 1000,
    ...(syncToken ? { syncToken } : {}),
  });
  expect(res.status).toBe(200);
  return res.body;
}

/** Creates an asset and has device B update it, so device A's next edit on version 1 is stale. */
async function staleSetup(
  id: string,
  basePayload: Record<string, unknown>,
  serverPatch: Record<string, unknown>,
) {
  await push(user, 'dev-a', {
    entityId: id,
    operation: 'CREATE',
    payload: basePayload,
    clientVersion: 1,
    timestamp: at(10),
  });
  const b = await push(user, 'dev-b', {
    entityId: id,
    operation: 'UPDATE',
    payload: serverPatch,
    clientVersion: 1,
    timestamp: at(5),
  });
  expect(b.results[0]).toMatchObject({ status: 'APPLIED', version: 2 });
}

async function latest(id: string, type = 'asset') {
  const pulled = await pullAll(admin, 'observer');
  const versions = pulled.changes.filter(
    (c: { entityType: string; entityId: string }) => c.entityType === type && c.entityId === id,
  );
  return versions.at(-1);
}

describe('VERSION_MISMATCH', () => {
  it('SERVER_WINS keeps the server copy and the client copy in the conflict', async () => {
    await staleSetup('vm-1', { name: 'pump', status: 'ok' }, { status: 'broken' });
    const res = await push(user, 'dev-a', {
      entityId: 'vm-1',
      operation: 'UPDATE',
      payload: { status: 'retired' },
      clientVersion: 1,
    });
    expect(res.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    expect(res.conflicts[0]).toMatchObject({
      type: 'VERSION_MISMATCH',
      resolution: 'SERVER_WINS',
      status: 'RESOLVED',
      clientVersion: 1,
      serverVersion: 2,
      clientData: { name: 'pump', status: 'retired' },
      serverData: { name: 'pump', status: 'broken' },
      baseData: { name: 'pump', status: 'ok' },
    });
    expect(await latest('vm-1')).toMatchObject({
      version: 2,
      payload: { name: 'pump', status: 'broken' },
    });
    const kept = await t.app.inject({
      method: 'GET',
      url: '/api/sync/conflicts?status=RESOLVED',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(
      kept
        .json()
        .conflicts.some(
          (c: { id: string; clientData: unknown }) =>
            c.id === res.conflicts[0].id && c.clientData !== null,
        ),
    ).toBe(true);
  });

  it('CLIENT_WINS makes the client copy version server + 1', async () => {
    await staleSetup('vm-2', { name: 'pump', status: 'ok' }, { status: 'broken' });
    const res = await push(user, 'dev-a', {
      entityId: 'vm-2',
      operation: 'UPDATE',
      payload: { status: 'fixed' },
      clientVersion: 1,
      conflictStrategy: 'CLIENT_WINS',
    });
    expect(res.results[0]).toMatchObject({
      status: 'APPLIED',
      version: 3,
      conflictId: res.conflicts[0].id,
    });
    expect(res.conflicts[0]).toMatchObject({ resolution: 'CLIENT_WINS', status: 'RESOLVED' });
    expect(await latest('vm-2')).toMatchObject({
      version: 3,
      payload: { name: 'pump', status: 'fixed' },
    });
  });

  it('LAST_WRITE_WINS takes the later edit time', async () => {
    await staleSetup('vm-3', { name: 'pump', status: 'ok' }, { status: 'broken' });
    const older = await push(user, 'dev-a', {
      entityId: 'vm-3',
      operation: 'UPDATE',
      payload: { status: 'old' },
      clientVersion: 1,
      timestamp: at(30),
      conflictStrategy: 'LAST_WRITE_WINS',
    });
    expect(older.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    const newer = await push(user, 'dev-a', {
      entityId: 'vm-3',
      operation: 'UPDATE',
      payload: { status: 'new' },
      clientVersion: 1,
      timestamp: at(0),
      conflictStrategy: 'LAST_WRITE_WINS',
    });
    expect(newer.results[0]).toMatchObject({ status: 'APPLIED', version: 3 });
    expect(await latest('vm-3')).toMatchObject({ payload: { name: 'pump', status: 'new' } });
  });

  it('MERGE merges disjoint field edits', async () => {
    await staleSetup('vm-4', { name: 'pump', status: 'ok', site: 'north' }, { status: 'broken' });
    const res = await push(user, 'dev-a', {
      entityId: 'vm-4',
      operation: 'UPDATE',
      payload: { name: 'Pump 7' },
      clientVersion: 1,
      conflictStrategy: 'MERGE',
    });
    expect(res.results[0]).toMatchObject({ status: 'APPLIED', version: 3 });
    expect(res.conflicts[0]).toMatchObject({
      resolution: 'MERGE',
      status: 'RESOLVED',
      suggestedResolution: 'MERGE',
    });
    expect(await latest('vm-4')).toMatchObject({
      version: 3,
      payload: { name: 'Pump 7', status: 'broken', site: 'north' },
    });
  });

  it('MERGE sends overlapping edits to review, where a person settles them', async () => {
    await staleSetup('vm-5', { name: 'pump', status: 'ok' }, { status: 'broken' });
    const res = await push(user, 'dev-a', {
      entityId: 'vm-5',
      operation: 'UPDATE',
      payload: { status: 'retired' },
      clientVersion: 1,
      conflictStrategy: 'MERGE',
    });
    expect(res.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    expect(res.conflicts[0]).toMatchObject({
      status: 'PENDING_REVIEW',
      resolution: null,
      overlappingFields: ['status'],
    });
    const incomplete = await post(admin, '/api/sync/conflicts/resolve', {
      conflictId: res.conflicts[0].id,
      resolution: 'MERGE',
    });
    expect(incomplete.status).toBe(409);
    expect(incomplete.body.error.code).toBe('MERGE_INCOMPLETE');
    const settled = await post(admin, '/api/sync/conflicts/resolve', {
      conflictId: res.conflicts[0].id,
      resolution: 'MERGE',
      resolvedData: { name: 'pump', status: 'under repair' },
    });
    expect(settled.status).toBe(200);
    expect(await latest('vm-5')).toMatchObject({
      version: 3,
      payload: { name: 'pump', status: 'under repair' },
    });
  });
});

describe('MANUAL', () => {
  it('waits in PENDING_REVIEW until an admin resolves it, and the outcome reaches other devices by pull', async () => {
    await staleSetup('man-1', { name: 'gen', status: 'ok' }, { status: 'broken' });
    const before = await pullAll(other, 'dev-other');
    const res = await push(user, 'dev-a', {
      entityId: 'man-1',
      operation: 'UPDATE',
      payload: { status: 'stolen' },
      clientVersion: 1,
      conflictStrategy: 'MANUAL',
    });
    const conflictId = res.conflicts[0].id;
    expect(res.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    expect(res.conflicts[0]).toMatchObject({ status: 'PENDING_REVIEW', resolution: null });
    expect(await latest('man-1')).toMatchObject({ version: 2, payload: { status: 'broken' } });

    const mine = await t.app.inject({
      method: 'GET',
      url: '/api/sync/conflicts',
      headers: { authorization: `Bearer ${user}` },
    });
    expect(mine.json().conflicts.map((c: { id: string }) => c.id)).toContain(conflictId);

    const resolved = await post(admin, '/api/sync/conflicts/resolve', {
      conflictId,
      resolution: 'CLIENT_WINS',
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body.conflict).toMatchObject({
      status: 'RESOLVED',
      resolution: 'CLIENT_WINS',
      resolvedBy: 'root',
    });

    const again = await post(admin, '/api/sync/conflicts/resolve', {
      conflictId,
      resolution: 'SERVER_WINS',
    });
    expect(again.status).toBe(409);

    const listed = async (query: string) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/sync/conflicts${query}`,
        headers: { authorization: `Bearer ${user}` },
      });
      return res.json().conflicts.map((c: { id: string }) => c.id);
    };
    expect(await listed('')).not.toContain(conflictId);
    expect(await listed('?status=RESOLVED')).toContain(conflictId);
    expect(await listed('?status=ALL')).toContain(conflictId);

    const after = await pullAll(other, 'dev-other', before.syncToken);
    expect(after.changes).toEqual([
      expect.objectContaining({
        entityId: 'man-1',
        version: 3,
        payload: { name: 'gen', status: 'stolen' },
      }),
    ]);
  });
});

describe('DELETED', () => {
  it('an update on a tombstone is a DELETED conflict; SERVER_WINS keeps it deleted', async () => {
    await push(user, 'dev-a', {
      entityId: 'del-1',
      operation: 'CREATE',
      payload: { name: 'x' },
      clientVersion: 1,
    });
    const del = await push(user, 'dev-b', {
      entityId: 'del-1',
      operation: 'DELETE',
      clientVersion: 1,
    });
    expect(del.results[0]).toMatchObject({ status: 'APPLIED', version: 2 });
    const res = await push(user, 'dev-a', {
      entityId: 'del-1',
      operation: 'UPDATE',
      payload: { name: 'y' },
      clientVersion: 1,
    });
    expect(res.results[0]).toMatchObject({ status: 'CONFLICT' });
    expect(res.conflicts[0]).toMatchObject({
      type: 'DELETED',
      resolution: 'SERVER_WINS',
      serverData: null,
      clientData: { name: 'y' },
    });
    expect(await latest('del-1')).toMatchObject({ operation: 'DELETE', version: 2, payload: null });
  });

  it('a delete on a newer version is a VERSION_MISMATCH; CLIENT_WINS deletes it', async () => {
    await staleSetup('del-2', { name: 'x' }, { name: 'z' });
    const res = await push(user, 'dev-a', {
      entityId: 'del-2',
      operation: 'DELETE',
      clientVersion: 1,
      conflictStrategy: 'CLIENT_WINS',
    });
    expect(res.results[0]).toMatchObject({ status: 'APPLIED', version: 3 });
    expect(await latest('del-2')).toMatchObject({
      operation: 'DELETE',
      deletedAt: expect.any(String),
    });
  });
});

describe('DUPLICATE_CREATE', () => {
  it('a create on an existing id with another payload is a conflict', async () => {
    await push(user, 'dev-a', {
      entityId: 'dc-1',
      operation: 'CREATE',
      payload: { name: 'a' },
      clientVersion: 1,
    });
    const res = await push(other, 'dev-bob', {
      entityId: 'dc-1',
      operation: 'CREATE',
      payload: { name: 'b' },
      clientVersion: 1,
    });
    expect(res.results[0]).toMatchObject({ status: 'CONFLICT', version: 1 });
    expect(res.conflicts[0]).toMatchObject({
      type: 'DUPLICATE_CREATE',
      serverData: { name: 'a' },
      clientData: { name: 'b' },
    });
  });

  it('an identical create is a duplicate, not a conflict', async () => {
    await push(user, 'dev-a', {
      entityId: 'dc-2',
      operation: 'CREATE',
      payload: { name: 'same' },
      clientVersion: 1,
    });
    const res = await push(other, 'dev-bob', {
      entityId: 'dc-2',
      operation: 'CREATE',
      payload: { name: 'same' },
      clientVersion: 1,
    });
    expect(res.results[0]).toMatchObject({
      status: 'DUPLICATE',
      version: 1,
      originalStatus: 'APPLIED',
    });
    expect(res.conflicts).toEqual([]);
    expect(await latest('dc-2')).toMatchObject({ version: 1 });
  });
});

describe('TIME_MISMATCH (attendance preset: clock times within 60 s)', () => {
  it('flags a clock-in moved by more than a minute and accepts a smaller correction', async () => {
    const type = 'attendance';
    const user = await t.token('alice', 'acme', 'user', { facilities: ['f1'] });
    const clockIn = '2026-01-05T08:00:00.000Z';
    await push(user, 'dev-a', {
      entityType: type,
      entityId: 'att-1',
      operation: 'CREATE',
      payload: { facilityId: 'f1', clockIn },
      clientVersion: 1,
    });
    const small = await push(user, 'dev-a', {
      entityType: type,
      entityId: 'att-1',
      operation: 'UPDATE',
      payload: { clockIn: '2026-01-05T08:00:45.000Z' },
      clientVersion: 1,
    });
    expect(small.results[0]).toMatchObject({ status: 'APPLIED', version: 2 });
    const big = await push(user, 'dev-a', {
      entityType: type,
      entityId: 'att-1',
      operation: 'UPDATE',
      payload: { clockIn: '2026-01-05T08:05:00.000Z' },
      clientVersion: 2,
    });
    expect(big.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    expect(big.conflicts[0]).toMatchObject({
      type: 'TIME_MISMATCH',
      resolution: 'SERVER_WINS',
      overlappingFields: ['clockIn'],
    });
  });
});

describe('CHECKSUM_MISMATCH', () => {
  it('refuses a damaged payload and writes nothing; an intact one applies', async () => {
    const payload = { name: 'meter', reading: 42 };
    const good = createHash('sha256').update(canonicalJson(payload)).digest('hex');
    const bad = createHash('sha256').update('tampered').digest('hex');
    const refused = await push(user, 'dev-a', {
      entityId: 'ck-1',
      operation: 'CREATE',
      payload,
      clientVersion: 1,
      checksum: bad,
    });
    expect(refused.results[0]).toMatchObject({
      status: 'REJECTED',
      error: { code: 'CHECKSUM_MISMATCH' },
    });
    expect(await latest('ck-1')).toBeUndefined();
    const ok = await push(user, 'dev-a', {
      entityId: 'ck-1',
      operation: 'CREATE',
      payload,
      clientVersion: 1,
      checksum: good,
    });
    expect(ok.results[0]).toMatchObject({ status: 'APPLIED', version: 1 });
    expect(await latest('ck-1')).toMatchObject({ checksum: good });
  });
});

describe('history and restore', () => {
  it('keeps every version and restores an old one as a new version', async () => {
    await push(user, 'dev-a', {
      entityId: 'h-1',
      operation: 'CREATE',
      payload: { n: 1 },
      clientVersion: 1,
    });
    await push(user, 'dev-a', {
      entityId: 'h-1',
      operation: 'UPDATE',
      payload: { n: 2 },
      clientVersion: 1,
    });
    await push(user, 'dev-a', { entityId: 'h-1', operation: 'DELETE', clientVersion: 2 });
    const auth = { authorization: `Bearer ${admin}` };
    const history = await t.app.inject({
      method: 'GET',
      url: '/api/sync/entities/asset/h-1/history',
      headers: auth,
    });
    expect(history.statusCode).toBe(200);
    expect(
      history
        .json()
        .history.map((h: { version: number; operation: string }) => [h.version, h.operation]),
    ).toEqual([
      [1, 'CREATE'],
      [2, 'UPDATE'],
      [3, 'DELETE'],
    ]);
    const restored = await t.app.inject({
      method: 'POST',
      url: '/api/sync/entities/asset/h-1/restore',
      headers: auth,
      payload: { version: 2 },
    });
    expect(restored.statusCode).toBe(200);
    expect(await latest('h-1')).toMatchObject({ version: 4, payload: { n: 2 }, deletedAt: null });
    const forUser = await t.app.inject({
      method: 'GET',
      url: '/api/sync/entities/asset/h-1/history',
      headers: { authorization: `Bearer ${user}` },
    });
    expect(forUser.statusCode).toBe(403);
  });
});
