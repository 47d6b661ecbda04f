// A fresh device's first sync (POST /api/sync/snapshot): each entity's latest state once, paged,
// the reader's access rules applied, and a hand-over to the delta feed that misses nothing and
// repeats nothing written while the snapshot ran. Runs on SQLite and, with a PostgreSQL URL, on it.
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { ServerChange, SnapshotResponse } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

let t: TestApp;
let n = 0;
const now = () => new Date().toISOString();

beforeAll(async () => {
  t = await createTestApp({
    config: {
      collections: {
        note: {},
        diary: { access: 'owner' },
        reading: { access: { field: 'facilityId', claim: 'facilities' } },
      },
    },
  });
});
afterAll(() => t.close());

async function call(token: string, url: string, payload: object) {
  const res = await t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${token}` },
    payload,
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

async function push(token: string, changes: object[], deviceId = 'writer') {
  const res = await call(token, '/api/sync', {
    deviceId,
    changes: changes.map((c) => ({ mutationId: `m${++n}`, timestamp: now(), ...c })),
  });
  expect(res.status).toBe(200);
  const results = res.body.results as Array<{ status: string }>;
  expect(results.every((r) => r.status === 'APPLIED')).toBe(true);
  return res.body;
}

const create = (entityType: string, entityId: string, payload: object) => ({
  entityType,
  entityId,
  operation: 'CREATE',
  payload,
  clientVersion: 1,
});
const update = (entityType: string, entityId: string, version: number, payload: object) => ({
  entityType,
  entityId,
  operation: 'UPDATE',
  payload,
  clientVersion: version,
});

async function snapshot(token: string, deviceId: string, body: object = {}) {
  const res = await call(token, '/api/sync/snapshot', { deviceId, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as unknown as SnapshotResponse;
}

async function deltaAll(token: string, deviceId: string, syncToken: string) {
  const changes: ServerChange[] = [];
  for (let token2 = syncToken; ;) {
    const res = await call(token, '/api/sync/delta', {
      deviceId,
      syncToken: token2,
      pageSize: 1000,
    });
    expect(res.status).toBe(200);
    changes.push(...(res.body.changes as ServerChange[]));
    token2 = res.body.syncToken as string;
    if (!res.body.hasMore) return changes;
  }
}

describe('first-sync snapshot', () => {
  it('sends each live entity once at its latest version, in pages, then hands over to the feed', async () => {
    const tenant = 'snap-basic';
    const alice = await t.token('alice', tenant);
    await push(
      alice,
      [1, 2, 3, 4, 5].map((i) => create('note', `n${i}`, { i })),
    );
    await push(alice, [update('note', 'n2', 1, { i: 20 }), update('note', 'n3', 1, { i: 30 })]);
    await push(alice, [update('note', 'n2', 2, { i: 200 })]);
    await push(alice, [
      { entityType: 'note', entityId: 'n4', operation: 'DELETE', clientVersion: 1 },
    ]);

    const pages: SnapshotResponse[] = [];
    let cursor: string | null = null;
    do {
      const page: SnapshotResponse = await snapshot(alice, 'fresh', {
        pageSize: 2,
        ...(cursor ? { cursor } : {}),
      });
      pages.push(page);
      cursor = page.cursor;
      expect(page.hasMore).toBe(cursor !== null);
    } while (cursor);

    const got = pages.flatMap((p) => p.changes);
    expect(got.map((c) => [c.entityId, c.version, c.payload])).toEqual([
      ['n1', 1, { i: 1 }],
      ['n2', 3, { i: 200 }],
      ['n3', 2, { i: 30 }],
      ['n5', 1, { i: 5 }],
    ]);
    expect(got.map((c) => c.operation)).toEqual(['CREATE', 'UPDATE', 'UPDATE', 'CREATE']);
    expect(pages.every((p) => p.total === 4)).toBe(true);
    // The hand-over token is a delta token at the snapshot's start: nothing more to pull.
    const last = pages.at(-1)!;
    expect(await deltaAll(alice, 'fresh', last.syncToken)).toEqual([]);
  });

  it('receives every write landing during the snapshot exactly once (snapshot or feed)', async () => {
    const tenant = 'snap-during';
    const alice = await t.token('alice', tenant);
    const ids = Array.from({ length: 30 }, (_, i) => `e${String(i).padStart(2, '0')}`);
    await push(
      alice,
      ids.map((id) => create('note', id, { v: 1 })),
    );

    const first = await snapshot(alice, 'fresh', { pageSize: 10 });
    expect(first.changes.map((c) => c.entityId)).toEqual(ids.slice(0, 10));
    // While the device pages: change one already sent, one not yet sent, delete one not yet
    // sent, create one that sorts inside the unsent range and one after it.
    await push(alice, [
      update('note', 'e03', 1, { v: 2 }),
      update('note', 'e15', 1, { v: 2 }),
      { entityType: 'note', entityId: 'e20', operation: 'DELETE', clientVersion: 1 },
      create('note', 'e12x', { v: 1 }),
      create('note', 'z-new', { v: 1 }),
    ]);
    const rest: ServerChange[] = [];
    let page = first;
    while (page.cursor) {
      page = await snapshot(alice, 'fresh', { pageSize: 10, cursor: page.cursor });
      expect(page.syncToken).toBe(first.syncToken);
      rest.push(...page.changes);
    }
    const fromFeed = await deltaAll(alice, 'fresh', page.syncToken);

    // Apply everything the way a device does: each (entity, version) must arrive once.
    const all = [...first.changes, ...rest, ...fromFeed];
    const seen = all.map((c) => `${c.entityId}@${c.version}`);
    expect(new Set(seen).size).toBe(seen.length);
    const local = new Map<string, ServerChange>();
    for (const change of all) {
      if (change.operation === 'DELETE') local.delete(change.entityId);
      else local.set(change.entityId, change);
    }
    const expected = ids
      .filter((id) => id !== 'e20')
      .concat(['e12x', 'z-new'])
      .sort();
    expect([...local.keys()].sort()).toEqual(expected);
    expect(local.get('e03')?.payload).toEqual({ v: 2 });
    expect(local.get('e15')?.payload).toEqual({ v: 2 });
    // The changed ones come from the feed only, not from the snapshot's later pages.
    expect(rest.map((c) => c.entityId)).not.toContain('e15');
    expect(rest.map((c) => c.entityId)).not.toContain('e12x');
    expect(fromFeed.map((c) => c.entityId).sort()).toEqual(['e03', 'e12x', 'e15', 'e20', 'z-new']);
  });

  it('applies the access rules as the delta feed does (owner, field claims, types)', async () => {
    const tenant = 'snap-access';
    const alice = await t.token('alice', tenant, 'user', { facilities: ['f1'] });
    const bob = await t.token('bob', tenant, 'user', { facilities: ['f2'] });
    const boss = await t.token('boss', tenant, 'admin');
    await push(alice, [
      create('diary', 'd-alice', { text: 'mine' }),
      create('note', 'shared', { text: 'all' }),
    ]);
    await push(bob, [create('diary', 'd-bob', { text: 'his' })], 'writer-bob');
    await push(
      boss,
      [
        create('reading', 'r1', { facilityId: 'f1' }),
        create('reading', 'r2', { facilityId: 'f2' }),
        create('reading', 'r3', { facilityId: 'f1' }),
      ],
      'writer-boss',
    );
    // r3 moves out of f1's view: alice's feed would revoke it, so her snapshot leaves it out.
    await push(boss, [update('reading', 'r3', 1, { facilityId: 'f2' })], 'writer-boss');

    const ids = async (token: string, body: object = {}) => {
      const page = await snapshot(token, `d-${++n}`, { pageSize: 100, ...body });
      return { ids: page.changes.map((c) => `${c.entityType}/${c.entityId}`), total: page.total };
    };
    expect(await ids(alice)).toEqual({
      ids: ['diary/d-alice', 'note/shared', 'reading/r1'],
      // The field rule is checked row by row; the count is an upper bound for it.
      total: 5,
    });
    expect((await ids(bob)).ids).toEqual([
      'diary/d-bob',
      'note/shared',
      'reading/r2',
      'reading/r3',
    ]);
    const all = (await ids(boss)).ids;
    expect(all).toHaveLength(6);
    // Pages of one step across the types' boundaries in key order, missing and repeating nothing.
    const paged: string[] = [];
    for (let cursor: string | null | undefined; cursor !== null;) {
      const page: SnapshotResponse = await snapshot(boss, 'd-boss-paged', {
        pageSize: 1,
        ...(cursor ? { cursor } : {}),
      });
      paged.push(...page.changes.map((c) => `${c.entityType}/${c.entityId}`));
      cursor = page.cursor;
    }
    expect(paged).toEqual(all);
    expect(await ids(bob, { entityTypes: ['diary'] })).toEqual({ ids: ['diary/d-bob'], total: 1 });
    // Another tenant sees none of it.
    const eve = await t.token('eve', 'snap-other');
    expect(await ids(eve)).toEqual({ ids: [], total: 0 });
  });

  it('sends its pages compressed as the device accepts, decoding to the same answer', async () => {
    const tenant = 'snap-compressed';
    const alice = await t.token('alice', tenant);
    await push(
      alice,
      Array.from({ length: 60 }, (_, i) =>
        create('note', `z${i}`, { text: `note ${i}`.repeat(5) }),
      ),
    );
    const page = async (encoding: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/sync/snapshot',
        headers: { authorization: `Bearer ${alice}`, 'accept-encoding': encoding },
        payload: { deviceId: 'fresh', pageSize: 50 },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      return { encoding: res.headers['content-encoding'], body: res.rawPayload };
    };
    const plain = await page('identity');
    expect(plain.encoding).toBeUndefined();
    const answer = JSON.parse(plain.body.toString('utf8')) as SnapshotResponse;
    expect(answer.changes).toHaveLength(50);
    const br = await page('br');
    expect(br.encoding).toBe('br');
    expect(br.body.length).toBeLessThan(plain.body.length / 2);
    expect(JSON.parse(brotliDecompressSync(br.body).toString('utf8'))).toEqual(answer);
    const gzip = await page('gzip');
    expect(gzip.encoding).toBe('gzip');
    expect(gzip.body.length).toBeLessThan(plain.body.length / 2);
    expect(JSON.parse(gunzipSync(gzip.body).toString('utf8'))).toEqual(answer);
  });

  it('refuses a cursor it did not mint for this reader with a structured error', async () => {
    const tenant = 'snap-cursor';
    const alice = await t.token('alice', tenant);
    const bob = await t.token('bob', tenant);
    const admin = await t.token('boss', tenant, 'admin');
    await push(
      alice,
      [1, 2, 3].map((i) => create('note', `c${i}`, { i })),
    );
    const first = await snapshot(alice, 'dev-a', { pageSize: 1 });
    expect(first.cursor).toEqual(expect.any(String));
    const refused = async (token: string, cursor: string, entityTypes?: string[]) => {
      const res = await call(token, '/api/sync/snapshot', {
        deviceId: token === alice ? 'dev-a' : 'dev-b',
        cursor,
        ...(entityTypes ? { entityTypes } : {}),
      });
      expect(res.status).toBe(400);
      expect((res.body.error as { code: string }).code).toBe('INVALID_SNAPSHOT_CURSOR');
    };
    await refused(alice, 'garbage');
    await refused(alice, first.syncToken);
    await refused(alice, first.cursor!.replace(/\.c1$/, '.%E0%A4%A'));
    await refused(bob, first.cursor!);
    await refused(alice, first.cursor!, ['note']);
    // Still good for its own reader, until the tenant's cache is invalidated.
    expect((await snapshot(alice, 'dev-a', { cursor: first.cursor })).changes).toHaveLength(2);
    expect((await call(admin, '/api/sync/cache/invalidate', {})).status).toBe(200);
    await refused(alice, first.cursor!);
  });
});
