// The read path: a delta page is a read (the device's sync time and sync-history row are written
// at the flush, in one transaction per tenant), a revoked device is refused on its very next
// request, and a push answers only what the device lacks, not an echo of its own changes.
import { pushResponseSchema, type ServerChange } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchemaCompiler } from '../../packages/server/src/http/ajv-schema-compiler.js';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

const TENANT = 'depot';
let t: TestApp;
let ann: string;
let bob: string;
let n = 0;

beforeAll(async () => {
  t = await createTestApp();
  ann = await t.token('ann', TENANT);
  bob = await t.token('bob', TENANT);
});
afterAll(() => t.close());

async function call(token: string, method: 'POST' | 'DELETE', url: string, body?: object) {
  const res = await t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body ? { payload: body } : {}),
  });
  const bytes = res.rawPayload.length;
  return { status: res.statusCode, bytes, body: bytes > 0 ? res.json() : undefined };
}

/** A sync token at the head of the feed, as a device that has pulled everything holds. */
async function headToken(token: string, deviceId: string): Promise<string> {
  let syncToken: string | undefined;
  for (;;) {
    const page = await call(token, 'POST', '/api/sync/delta', {
      deviceId,
      pageSize: 1000,
      ...(syncToken ? { syncToken } : {}),
    });
    syncToken = page.body.syncToken as string;
    if (!page.body.hasMore) return syncToken;
  }
}

const create = (entityId = `asset-${++n}`, payload: object = { name: `asset ${n}` }) => ({
  mutationId: `m-${++n}`,
  entityType: 'asset',
  entityId,
  operation: 'CREATE',
  payload,
  clientVersion: 1,
  timestamp: new Date().toISOString(),
});

const update = (entityId: string, clientVersion: number, payload: object, strategy?: string) => ({
  mutationId: `m-${++n}`,
  entityType: 'asset',
  entityId,
  operation: 'UPDATE',
  payload,
  clientVersion,
  timestamp: new Date().toISOString(),
  ...(strategy ? { conflictStrategy: strategy } : {}),
});

const reads = () => t.store.forTenant(TENANT);
const historyOf = async (deviceId: string) =>
  (await reads().listSyncHistory({ limit: 1000 })).filter((h) => h.deviceId === deviceId);

describe('a delta page is a read', () => {
  it('notes the sync time and history at the flush, not in the request', async () => {
    const first = await call(ann, 'POST', '/api/sync', { deviceId: 'van-1', changes: [create()] });
    expect(first.status).toBe(200);
    // An unknown device is registered before its first page is read.
    const fresh = await call(ann, 'POST', '/api/sync/delta', { deviceId: 'van-2' });
    expect(fresh.status).toBe(200);
    expect((await reads().getDevice('van-2'))?.userId).toBe('ann');
    await t.engine.flushSyncNotes();

    const before = await reads().getDevice('van-2');
    const historyBefore = (await historyOf('van-2')).length;
    const page = await call(ann, 'POST', '/api/sync/delta', {
      deviceId: 'van-2',
      syncToken: fresh.body.syncToken,
    });
    expect(page.status).toBe(200);
    // Nothing was written by the page itself …
    expect(await reads().getDevice('van-2')).toEqual(before);
    expect(await historyOf('van-2')).toHaveLength(historyBefore);
    // … until the flush, which writes both.
    await t.engine.flushSyncNotes();
    const after = await reads().getDevice('van-2');
    expect(after?.syncToken).toBe(page.body.syncToken);
    expect(after?.lastSyncAt && before?.lastSyncAt && after.lastSyncAt >= before.lastSyncAt).toBe(
      true,
    );
    const history = await historyOf('van-2');
    expect(history).toHaveLength(historyBefore + 1);
    expect(history[0]).toMatchObject({ route: '/api/sync/delta', pushed: 0, outcome: 'ok' });
  });

  it("refuses a revoked device on its very next page, and a late flush doesn't bring it back", async () => {
    const ok = await call(ann, 'POST', '/api/sync/delta', { deviceId: 'van-3' });
    expect(ok.status).toBe(200);
    // A page whose note is still buffered when the device is revoked.
    expect((await call(ann, 'POST', '/api/sync/delta', { deviceId: 'van-3' })).status).toBe(200);
    expect((await call(ann, 'DELETE', '/api/sync/devices/van-3')).status).toBe(204);
    const refused = await call(ann, 'POST', '/api/sync/delta', { deviceId: 'van-3' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('DEVICE_REVOKED');
    await t.engine.flushSyncNotes();
    expect((await reads().getDevice('van-3'))?.isActive).toBe(false);
    expect((await call(ann, 'POST', '/api/sync/delta', { deviceId: 'van-3' })).status).toBe(403);
  });

  it("refuses another user's device without registering or noting anything", async () => {
    expect((await call(ann, 'POST', '/api/sync/delta', { deviceId: 'van-4' })).status).toBe(200);
    await t.engine.flushSyncNotes();
    const owned = await reads().getDevice('van-4');
    const refused = await call(bob, 'POST', '/api/sync/delta', { deviceId: 'van-4' });
    expect(refused.status).toBe(403);
    await t.engine.flushSyncNotes();
    expect(await reads().getDevice('van-4')).toEqual(owned);
  });
});

describe('a push that asks answers only what the device lacks', () => {
  const checkPush = createSchemaCompiler()(
    pushResponseSchema as unknown as Record<string, unknown>,
  );

  it('leaves its own 100 changes out of the answer; another device pulls all of them', async () => {
    const start = await headToken(ann, 'van-5');
    const otherStart = await headToken(bob, 'truck-1');
    const changes = Array.from({ length: 100 }, () => create());
    const push = await call(ann, 'POST', '/api/sync', {
      deviceId: 'van-5',
      syncToken: start,
      omitOwnChanges: true,
      changes,
    });
    expect(push.status).toBe(200);
    expect(checkPush(push.body)).toEqual([]);
    expect(push.body.results).toHaveLength(100);
    expect(push.body.results.every((r: { status: string }) => r.status === 'APPLIED')).toBe(true);
    expect(push.body.changes).toEqual([]);
    // What is left is the results: about a hundred bytes per change, against the ~400 bytes of
    // each change the echo would add. The answer is as compact as JSON.stringify would write it.
    expect(push.bytes).toBe(Buffer.byteLength(JSON.stringify(push.body)));
    expect(push.bytes).toBeLessThan(100 * 150);

    // The device's cursor passed its own rows: its next pull brings nothing again.
    const next = await call(ann, 'POST', '/api/sync/delta', {
      deviceId: 'van-5',
      syncToken: push.body.syncToken,
    });
    expect(next.body.changes).toEqual([]);
    const other = await call(bob, 'POST', '/api/sync/delta', {
      deviceId: 'truck-1',
      syncToken: otherStart,
      pageSize: 1000,
    });
    expect(other.body.changes.map((c: ServerChange) => c.entityId)).toEqual(
      changes.map((c) => c.entityId),
    );
  });

  it("still sends other devices' changes and what the server wrote on the device's behalf", async () => {
    const seed = create(`asset-merge-${++n}`, { name: 'pump', site: 'north' });
    const created = await call(ann, 'POST', '/api/sync', { deviceId: 'van-6', changes: [seed] });
    expect(created.status).toBe(200);
    const start = await headToken(ann, 'van-6');
    // Another device edits one field …
    const theirs = update(seed.entityId, 1, { site: 'south' });
    expect(
      (await call(bob, 'POST', '/api/sync', { deviceId: 'truck-2', changes: [theirs] })).status,
    ).toBe(200);
    // … and this device, on the same version 1, another field: the server merges the two.
    const mine = update(seed.entityId, 1, { name: 'big pump' }, 'MERGE');
    const plain = create();
    const push = await call(ann, 'POST', '/api/sync', {
      deviceId: 'van-6',
      syncToken: start,
      omitOwnChanges: true,
      changes: [mine, plain],
    });
    expect(push.status).toBe(200);
    const [merged, applied] = push.body.results;
    expect(merged).toMatchObject({ status: 'APPLIED', version: 3 });
    expect(merged.conflictId).toBeDefined();
    expect(applied).toMatchObject({ status: 'APPLIED', version: 1 });
    const sent = push.body.changes.map((c: ServerChange) => [c.entityId, c.version, c.payload]);
    expect(sent).toEqual([
      [seed.entityId, 2, { name: 'pump', site: 'south' }],
      [seed.entityId, 3, { name: 'big pump', site: 'south' }],
    ]);
  });
});
