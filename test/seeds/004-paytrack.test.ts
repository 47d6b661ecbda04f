// Seed 004 (PayTrack), top to bottom, through the canonical protocol against the real server
// process: its five entity types, version-based locking, the four conflict scenarios settled by
// "server wins" by default, idempotent retries, batching, validation, integrity checks, audit and
// the metrics it names; and its client queue rules (FIFO, batches of 100, 3 retries, sync after
// login, "Sync Now" with progress) as the Syncline SDK runs them when configured so.
import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalJson } from '@syncline/protocol';
import { createSyncClient, memoryStorage } from '../../packages/client/src/index.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { requestJson } from '../support/sdk-fetch.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

type Operation = 'CREATE' | 'UPDATE' | 'DELETE';
type EntityType = 'supplier' | 'product' | 'rate' | 'collection' | 'payment';

interface ChangeInput {
  entityType: EntityType;
  entityId: string;
  operation: Operation;
  payload?: Record<string, unknown> | null;
  clientVersion: number;
  mutationId?: string;
  timestamp?: string;
  conflictStrategy?: string;
  checksum?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the protocol's JSON, read loosely
type Json = any;

async function post(
  path: string,
  token: string | null,
  body: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function get(path: string, token: string): Promise<Json> {
  const res = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}

const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

/** A PayTrack company (tenant) with a collector's two devices and a manager. */
function company(name: string) {
  const collector = server.token(`${name}-collector`, name);
  const clerk = server.token(`${name}-clerk`, name);
  const manager = server.token(`${name}-manager`, name, 'admin');
  const push = async (
    token: string,
    deviceId: string,
    changes: ChangeInput[],
    syncToken?: string,
  ) => {
    const res = await post('/api/sync', token, {
      deviceId,
      ...(syncToken ? { syncToken } : {}),
      changes: changes.map((c) => ({ timestamp: ago(1), mutationId: randomUUID(), ...c })),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  /** The whole feed as a device with no local state would pull it. */
  const pullAll = async (token: string, deviceId: string) => {
    const changes: Json[] = [];
    let syncToken: string | undefined;
    for (;;) {
      const page = await post('/api/sync/delta', token, {
        deviceId,
        pageSize: 50,
        ...(syncToken ? { syncToken } : {}),
      });
      changes.push(...page.body.changes);
      syncToken = page.body.syncToken;
      if (!page.body.hasMore) return { changes, syncToken };
    }
  };
  /** What a device's local SQLite holds after pulling: the latest version of each entity. */
  const localState = async (token: string, deviceId: string) => {
    const state = new Map<string, Json>();
    for (const change of (await pullAll(token, deviceId)).changes) {
      state.set(`${change.entityType}/${change.entityId}`, change);
    }
    return state;
  };
  return { name, collector, clerk, manager, push, pullAll, localState };
}

const supplier = (id: string) => ({
  entityType: 'supplier' as const,
  entityId: id,
  operation: 'CREATE' as const,
  payload: { name: 'Kamau Dairy', phone: '+254700000001', region: 'Nyeri' },
  clientVersion: 1,
});

describe('Entity types: suppliers, products, rates, collections, payments', () => {
  it('an offline day arrives in one batch, in order, and every device converges to it', async () => {
    const co = company('pt-types');
    const ids = {
      supplier: randomUUID(),
      product: randomUUID(),
      rate: randomUUID(),
      collection: randomUUID(),
      payment: randomUUID(),
    };
    const day: ChangeInput[] = [
      supplier(ids.supplier),
      {
        entityType: 'product',
        entityId: ids.product,
        operation: 'CREATE',
        payload: { name: 'Milk', unit: 'litre' },
        clientVersion: 1,
      },
      {
        entityType: 'rate',
        entityId: ids.rate,
        operation: 'CREATE',
        payload: { productId: ids.product, price: 52.5, effectiveFrom: '2024-03-01' },
        clientVersion: 1,
      },
      {
        entityType: 'collection',
        entityId: ids.collection,
        operation: 'CREATE',
        payload: {
          supplierId: ids.supplier,
          productId: ids.product,
          quantity: 40,
          rateId: ids.rate,
        },
        clientVersion: 1,
      },
      // Corrected later the same day, offline: the update follows its create in the batch.
      {
        entityType: 'collection',
        entityId: ids.collection,
        operation: 'UPDATE',
        payload: { quantity: 42 },
        clientVersion: 1,
      },
      {
        entityType: 'payment',
        entityId: ids.payment,
        operation: 'CREATE',
        payload: { supplierId: ids.supplier, amount: 2205, currency: 'KES' },
        clientVersion: 1,
      },
    ];
    const res = await co.push(co.collector, 'collector-phone', day);
    expect(res.results.map((r: Json) => [r.entityType, r.status, r.version])).toEqual([
      ['supplier', 'APPLIED', 1],
      ['product', 'APPLIED', 1],
      ['rate', 'APPLIED', 1],
      ['collection', 'APPLIED', 1],
      ['collection', 'APPLIED', 2],
      ['payment', 'APPLIED', 1],
    ]);

    const office = await co.localState(co.manager, 'office-pc');
    expect(office.get(`collection/${ids.collection}`)).toMatchObject({
      version: 2,
      payload: { supplierId: ids.supplier, quantity: 42 },
    });
    const phone = await co.localState(co.clerk, 'clerk-tablet');
    for (const [key, change] of office) expect(phone.get(key)).toEqual(change);
    expect(new Set([...office.keys()].map((k) => k.split('/')[0]))).toEqual(
      new Set(['supplier', 'product', 'rate', 'collection', 'payment']),
    );
  });

  it('validates every change on the server (schema, data types) without failing the batch', async () => {
    const co = company('pt-validate');
    const res = await co.push(co.collector, 'collector-phone', [
      {
        entityType: 'rate',
        entityId: randomUUID(),
        operation: 'CREATE',
        payload: { price: 'fifty' },
        clientVersion: 1,
      },
      {
        entityType: 'collection',
        entityId: randomUUID(),
        operation: 'CREATE',
        payload: { quantity: '40 litres' },
        clientVersion: 1,
      },
      {
        entityType: 'payment',
        entityId: randomUUID(),
        operation: 'CREATE',
        payload: { amount: 100, currency: 'KES' },
        clientVersion: 1,
      },
      {
        entityType: 'supplier',
        entityId: randomUUID(),
        operation: 'CREATE',
        payload: { name: 'ok' },
        clientVersion: 2,
      },
    ]);
    expect(res.results.map((r: Json) => r.error?.code ?? r.status)).toEqual([
      'SCHEMA_VIOLATION',
      'SCHEMA_VIOLATION',
      'APPLIED',
      'VALIDATION_FAILED',
    ]);
    // Refused changes leave no trace.
    expect((await co.pullAll(co.manager, 'office')).changes).toHaveLength(1);
  });
});

describe('Version-based locking', () => {
  it('increments the version on every update; the client sends the version it edited', async () => {
    const co = company('pt-versions');
    const id = randomUUID();
    await co.push(co.collector, 'phone', [supplier(id)]);
    for (let version = 1; version <= 4; version++) {
      const res = await co.push(co.collector, 'phone', [
        {
          entityType: 'supplier',
          entityId: id,
          operation: 'UPDATE',
          payload: { visits: version },
          clientVersion: version,
        },
      ]);
      expect(res.results[0]).toMatchObject({ status: 'APPLIED', version: version + 1 });
    }
    const history = await get(`/api/sync/entities/supplier/${id}/history`, co.manager);
    expect(history.history.map((h: Json) => h.version)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('Conflict scenarios, server wins by default', () => {
  it('create-create: the same UUID created on two devices', async () => {
    const co = company('pt-cc');
    const id = randomUUID();
    const first = await co.push(co.collector, 'phone-a', [supplier(id)]);
    expect(first.results[0].status).toBe('APPLIED');
    const second = await co.push(co.clerk, 'phone-b', [
      { ...supplier(id), payload: { name: 'Wanjiru Farm', region: 'Meru' } },
    ]);
    expect(second.results[0]).toMatchObject({ status: 'CONFLICT', version: 1 });
    expect(second.conflicts[0]).toMatchObject({
      type: 'DUPLICATE_CREATE',
      resolution: 'SERVER_WINS',
      status: 'RESOLVED',
      clientVersion: 1,
      serverVersion: 1,
      clientData: { name: 'Wanjiru Farm', region: 'Meru' },
      serverData: supplier(id).payload,
    });
    // The losing device receives the server's version with its pull.
    expect(second.changes.find((c: Json) => c.entityId === id)).toMatchObject({
      version: 1,
      payload: supplier(id).payload,
    });
    // The same create delivered twice (same payload) is not a conflict.
    const same = await co.push(co.clerk, 'phone-b', [supplier(id)]);
    expect(same.results[0]).toMatchObject({ status: 'DUPLICATE', version: 1 });
  });

  it('update-update: the same entity updated on two devices', async () => {
    const co = company('pt-uu');
    const id = randomUUID();
    await co.push(co.collector, 'phone-a', [
      {
        entityType: 'rate',
        entityId: id,
        operation: 'CREATE',
        payload: { productId: 'milk', price: 50 },
        clientVersion: 1,
      },
    ]);
    const a = await co.push(co.collector, 'phone-a', [
      {
        entityType: 'rate',
        entityId: id,
        operation: 'UPDATE',
        payload: { price: 52 },
        clientVersion: 1,
      },
    ]);
    expect(a.results[0]).toMatchObject({ status: 'APPLIED', version: 2 });
    const b = await co.push(co.clerk, 'phone-b', [
      {
        entityType: 'rate',
        entityId: id,
        operation: 'UPDATE',
        payload: { price: 55 },
        clientVersion: 1,
      },
    ]);
    expect(b.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    expect(b.conflicts[0]).toMatchObject({
      type: 'VERSION_MISMATCH',
      resolution: 'SERVER_WINS',
      clientVersion: 1,
      serverVersion: 2,
      clientData: { productId: 'milk', price: 55 },
      serverData: { productId: 'milk', price: 52 },
    });
    const state = await co.localState(co.clerk, 'phone-b');
    expect(state.get(`rate/${id}`)).toMatchObject({ version: 2, payload: { price: 52 } });
  });

  it('update-delete: an update of an entity another device deleted', async () => {
    const co = company('pt-ud');
    const id = randomUUID();
    await co.push(co.collector, 'phone-a', [
      {
        entityType: 'product',
        entityId: id,
        operation: 'CREATE',
        payload: { name: 'Eggs', unit: 'tray' },
        clientVersion: 1,
      },
    ]);
    await co.push(co.manager, 'office', [
      { entityType: 'product', entityId: id, operation: 'DELETE', clientVersion: 1 },
    ]);
    const late = await co.push(co.collector, 'phone-a', [
      {
        entityType: 'product',
        entityId: id,
        operation: 'UPDATE',
        payload: { unit: 'crate' },
        clientVersion: 1,
      },
    ]);
    expect(late.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    expect(late.conflicts[0]).toMatchObject({
      type: 'DELETED',
      resolution: 'SERVER_WINS',
      serverData: null,
      clientData: { name: 'Eggs', unit: 'crate' },
    });
    const state = await co.localState(co.collector, 'phone-a');
    expect(state.get(`product/${id}`)).toMatchObject({
      operation: 'DELETE',
      payload: null,
      version: 2,
    });
  });

  it('delete-update: a delete of an entity another device updated', async () => {
    const co = company('pt-du');
    const id = randomUUID();
    await co.push(co.collector, 'phone-a', [
      {
        entityType: 'collection',
        entityId: id,
        operation: 'CREATE',
        payload: { supplierId: 's', productId: 'p', quantity: 10 },
        clientVersion: 1,
      },
    ]);
    await co.push(co.clerk, 'phone-b', [
      {
        entityType: 'collection',
        entityId: id,
        operation: 'UPDATE',
        payload: { quantity: 12 },
        clientVersion: 1,
      },
    ]);
    const stale = await co.push(co.collector, 'phone-a', [
      { entityType: 'collection', entityId: id, operation: 'DELETE', clientVersion: 1 },
    ]);
    expect(stale.results[0]).toMatchObject({ status: 'CONFLICT', version: 2 });
    expect(stale.conflicts[0]).toMatchObject({
      type: 'VERSION_MISMATCH',
      resolution: 'SERVER_WINS',
      clientData: null,
      serverData: { quantity: 12 },
    });
    const state = await co.localState(co.manager, 'office');
    expect(state.get(`collection/${id}`)).toMatchObject({
      operation: 'UPDATE',
      version: 2,
      deletedAt: null,
    });
  });

  it('nothing is lost: the losing copies stay in the conflict history for review', async () => {
    const co = company('pt-audit');
    const id = randomUUID();
    await co.push(co.collector, 'a', [supplier(id)]);
    await co.push(co.collector, 'a', [
      {
        entityType: 'supplier',
        entityId: id,
        operation: 'UPDATE',
        payload: { phone: '1' },
        clientVersion: 1,
      },
    ]);
    await co.push(co.clerk, 'b', [
      {
        entityType: 'supplier',
        entityId: id,
        operation: 'UPDATE',
        payload: { phone: '2' },
        clientVersion: 1,
      },
    ]);
    const history = await get('/api/sync/conflicts?status=ALL', co.manager);
    expect(history.conflicts).toEqual([
      expect.objectContaining({
        entityId: id,
        clientData: expect.objectContaining({ phone: '2' }),
        resolvedBy: 'system',
      }),
    ]);
    // The clerk sees their own conflict too.
    expect((await get('/api/sync/conflicts?status=RESOLVED', co.clerk)).conflicts).toHaveLength(1);
    expect((await get('/api/sync/conflicts?status=RESOLVED', co.collector)).conflicts).toHaveLength(
      0,
    );
  });

  it('the alternative strategies work per change: client wins, last write wins, merge, manual', async () => {
    const co = company('pt-alt');
    const stale = async (
      strategy: string,
      patch: Record<string, unknown>,
      editedSecondsAgo = 1,
    ) => {
      const id = randomUUID();
      await co.push(co.collector, 'a', [
        {
          entityType: 'payment',
          entityId: id,
          operation: 'CREATE',
          payload: { amount: 100, currency: 'KES', note: '' },
          clientVersion: 1,
          timestamp: ago(120),
        },
      ]);
      await co.push(co.collector, 'a', [
        {
          entityType: 'payment',
          entityId: id,
          operation: 'UPDATE',
          payload: { amount: 110 },
          clientVersion: 1,
          timestamp: ago(60),
        },
      ]);
      const res = await co.push(co.clerk, 'b', [
        {
          entityType: 'payment',
          entityId: id,
          operation: 'UPDATE',
          payload: patch,
          clientVersion: 1,
          conflictStrategy: strategy,
          timestamp: ago(editedSecondsAgo),
        },
      ]);
      return res;
    };
    expect((await stale('CLIENT_WINS', { amount: 120 })).results[0]).toMatchObject({
      status: 'APPLIED',
      version: 3,
    });
    expect((await stale('LAST_WRITE_WINS', { amount: 120 }, 90)).results[0]).toMatchObject({
      status: 'CONFLICT',
    });
    expect((await stale('LAST_WRITE_WINS', { amount: 120 }, 1)).results[0]).toMatchObject({
      status: 'APPLIED',
    });
    const merged = await stale('MERGE', { note: 'paid in cash' });
    expect(merged.results[0]).toMatchObject({ status: 'APPLIED', version: 3 });
    expect(merged.changes.at(-1)).toMatchObject({ payload: { amount: 110, note: 'paid in cash' } });
    const manual = await stale('MANUAL', { amount: 99 });
    expect(manual.conflicts[0]).toMatchObject({ status: 'PENDING_REVIEW', resolution: null });
  });

  it('concurrent devices updating one entity: one wins per version, all converge', async () => {
    const co = company('pt-race');
    const id = randomUUID();
    await co.push(co.collector, 'seed', [
      {
        entityType: 'rate',
        entityId: id,
        operation: 'CREATE',
        payload: { productId: 'milk', price: 50 },
        clientVersion: 1,
      },
    ]);
    const devices = Array.from({ length: 6 }, (_, i) => `device-${i}`);
    const answers = await Promise.all(
      devices.map((deviceId, i) =>
        co.push(co.collector, deviceId, [
          {
            entityType: 'rate',
            entityId: id,
            operation: 'UPDATE',
            payload: { price: 60 + i },
            clientVersion: 1,
          },
        ]),
      ),
    );
    const statuses = answers.map((a) => a.results[0].status);
    expect(statuses.filter((s) => s === 'APPLIED')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'CONFLICT')).toHaveLength(5);
    const winner = answers.findIndex((a) => a.results[0].status === 'APPLIED');
    const views = await Promise.all(devices.map((d) => co.localState(co.collector, d)));
    for (const view of views) {
      expect(view.get(`rate/${id}`)).toMatchObject({ version: 2, payload: { price: 60 + winner } });
    }
  });
});

describe('Idempotent operations: safe to retry without duplication', () => {
  it('a batch resent after a lost response applies once; the conflict outcome is replayed', async () => {
    const co = company('pt-idem');
    const id = randomUUID();
    const batch: ChangeInput[] = [
      { ...supplier(id), mutationId: 'queue-1' },
      {
        entityType: 'payment',
        entityId: randomUUID(),
        operation: 'CREATE',
        payload: { amount: 10, currency: 'KES' },
        clientVersion: 1,
        mutationId: 'queue-2',
      },
    ];
    const first = await co.push(co.collector, 'phone', batch);
    const again = await co.push(co.collector, 'phone', batch);
    expect(first.results.map((r: Json) => r.status)).toEqual(['APPLIED', 'APPLIED']);
    expect(again.results.map((r: Json) => [r.status, r.originalStatus])).toEqual([
      ['DUPLICATE', 'APPLIED'],
      ['DUPLICATE', 'APPLIED'],
    ]);
    expect((await co.pullAll(co.manager, 'office')).changes).toHaveLength(2);

    // A change that lost its conflict is settled: the queue item is removed; a resend answers
    // with the first outcome instead of conflicting again.
    await co.push(co.clerk, 'tab', [
      {
        entityType: 'supplier',
        entityId: id,
        operation: 'UPDATE',
        payload: { region: 'Embu' },
        clientVersion: 1,
      },
    ]);
    const losing: ChangeInput = {
      entityType: 'supplier',
      entityId: id,
      operation: 'UPDATE',
      payload: { region: 'Meru' },
      clientVersion: 1,
      mutationId: 'queue-3',
    };
    const lost = await co.push(co.collector, 'phone', [losing]);
    expect(lost.results[0].status).toBe('CONFLICT');
    const resent = await co.push(co.collector, 'phone', [losing]);
    expect(resent.results[0]).toMatchObject({
      status: 'DUPLICATE',
      originalStatus: 'CONFLICT',
      conflictId: lost.results[0].conflictId,
    });
  });
});

describe('Optimization and integrity', () => {
  it('takes batches of 100 (and refuses more than the server maximum)', async () => {
    const co = company('pt-batch');
    const hundred: ChangeInput[] = Array.from({ length: 100 }, (_, i) => ({
      entityType: 'collection',
      entityId: randomUUID(),
      operation: 'CREATE',
      payload: { supplierId: 's', productId: 'p', quantity: i },
      clientVersion: 1,
    }));
    const res = await co.push(co.collector, 'phone', hundred);
    expect(res.results.every((r: Json) => r.status === 'APPLIED')).toBe(true);
    const tooMany = await post('/api/sync', co.collector, {
      deviceId: 'phone',
      changes: Array.from({ length: 1001 }, () => ({
        ...hundred[0],
        entityId: randomUUID(),
        timestamp: ago(1),
      })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('delta sync: updates carry only changed fields; pulls are paged; bodies may be gzip', async () => {
    const co = company('pt-delta');
    const id = randomUUID();
    const body = {
      deviceId: 'phone',
      changes: [
        { ...supplier(id), timestamp: ago(2) },
        {
          entityType: 'supplier',
          entityId: id,
          operation: 'UPDATE',
          payload: { phone: '+254711' },
          clientVersion: 1,
          timestamp: ago(1),
        },
      ],
    };
    const res = await fetch(`${server.url}/api/sync`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${co.collector}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(JSON.stringify(body)),
    });
    expect(res.status).toBe(200);
    const state = await co.localState(co.manager, 'office');
    expect(state.get(`supplier/${id}`)).toMatchObject({
      version: 2,
      payload: { ...supplier(id).payload, phone: '+254711' },
    });
  });

  it('checks integrity: checksums, tampering, UUID reuse for another change', async () => {
    const co = company('pt-integrity');
    const payload = { amount: 500, currency: 'KES' };
    const checksum = createHash('sha256').update(canonicalJson(payload)).digest('hex');
    const ok = await co.push(co.collector, 'phone', [
      {
        entityType: 'payment',
        entityId: randomUUID(),
        operation: 'CREATE',
        payload,
        clientVersion: 1,
        checksum,
      },
    ]);
    expect(ok.results[0].status).toBe('APPLIED');
    const tampered = await co.push(co.collector, 'phone', [
      {
        entityType: 'payment',
        entityId: randomUUID(),
        operation: 'CREATE',
        payload: { ...payload, amount: 5000 },
        clientVersion: 1,
        checksum,
      },
    ]);
    expect(tampered.results[0]).toMatchObject({
      status: 'REJECTED',
      error: { code: 'CHECKSUM_MISMATCH' },
    });
    const reused = await co.push(co.collector, 'phone', [
      { ...supplier(randomUUID()), mutationId: 'm-1' },
    ]);
    expect(reused.results[0].status).toBe('APPLIED');
    const clash = await co.push(co.collector, 'phone', [
      { ...supplier(randomUUID()), mutationId: 'm-1' },
    ]);
    expect(clash.results[0]).toMatchObject({
      status: 'REJECTED',
      error: { code: 'VALIDATION_FAILED' },
    });
  });
});

describe('Security and monitoring', () => {
  it('needs a token; another company sees nothing and cannot touch anything', async () => {
    const co = company('pt-sec');
    const id = randomUUID();
    await co.push(co.collector, 'phone', [supplier(id)]);
    expect((await post('/api/sync', null, { deviceId: 'x', changes: [] })).status).toBe(401);
    const rival = company('pt-rival');
    expect((await rival.pullAll(rival.manager, 'rival-office')).changes).toEqual([]);
    const attempt = await rival.push(rival.manager, 'rival-office', [
      {
        entityType: 'supplier',
        entityId: id,
        operation: 'UPDATE',
        payload: { name: 'mine now' },
        clientVersion: 1,
      },
    ]);
    expect(attempt.results[0]).toMatchObject({ status: 'REJECTED', error: { code: 'NOT_FOUND' } });
    const state = await co.localState(co.manager, 'office');
    expect(state.get(`supplier/${id}`)).toMatchObject({
      version: 1,
      payload: supplier(id).payload,
    });
  });

  it('reports success rate, conflicts, queue length and the last successful sync', async () => {
    const co = company('pt-metrics');
    const id = randomUUID();
    await co.push(co.collector, 'phone', [supplier(id)]);
    await co.push(co.clerk, 'tab', [
      {
        entityType: 'supplier',
        entityId: id,
        operation: 'UPDATE',
        payload: { a: 1 },
        clientVersion: 1,
      },
    ]);
    await co.push(co.collector, 'phone', [
      {
        entityType: 'supplier',
        entityId: id,
        operation: 'UPDATE',
        payload: { a: 2 },
        clientVersion: 1,
        conflictStrategy: 'MANUAL',
      },
      {
        entityType: 'product',
        entityId: randomUUID(),
        operation: 'UPDATE',
        payload: { a: 3 },
        clientVersion: 1,
      },
    ]);
    const stats = await get('/api/sync/queue/stats', co.manager);
    expect(stats).toMatchObject({
      total: 4,
      byStatus: { SYNCED: 2, CONFLICT: 1, FAILED: 1 },
      syncRate: '50.00%',
      pendingConflicts: 1,
    });
    const status = await get('/api/sync/status', co.collector);
    expect(status).toMatchObject({
      pendingConflicts: 1,
      queue: { FAILED: 1, CONFLICT: 1, SYNCED: 1 },
    });
    expect(Date.parse(status.lastSyncAt)).not.toBeNaN();
  });
});

describe("PayTrack's client queue rules, on the Syncline SDK", () => {
  /** The real network, with every push body recorded and pushes failing while `down` is set. */
  function recordingFetch() {
    const pushes: Json[] = [];
    const state = { down: false };
    const fetchThrough = async (input: string | URL | Request, init?: RequestInit) => {
      const path = new URL(String(input)).pathname;
      if (path === '/api/sync') {
        if (state.down) return new Response('{}', { status: 503 });
        pushes.push(requestJson(init) as Json);
      }
      return fetch(input, init);
    };
    return { fetch: fetchThrough as typeof fetch, pushes, state };
  }

  /** A collector's phone set up as PayTrack's queue asks: batches of 100, 3 retries. */
  const collectorPhone = (token: string, network: typeof fetch) =>
    createSyncClient({
      url: server.url,
      getToken: () => token,
      storage: memoryStorage(),
      fetch: network,
      batchSize: 100,
      retry: { maxAttempts: 3 },
      realtime: false,
    });

  it('drains the queue FIFO in batches of 100 and reports pull progress for "Sync Now"', async () => {
    const co = company(`sdk-fifo-${randomUUID().slice(0, 8)}`);
    const net = recordingFetch();
    const phone = collectorPhone(co.collector, net.fetch);
    try {
      // An offline morning: 250 records, made in this order.
      const made: string[] = [];
      for (let i = 0; i < 250; i += 1) {
        const type = (['supplier', 'product', 'collection'] as const)[i % 3] ?? 'supplier';
        made.push(await phone.collection(type).create({ name: `item ${i}` }));
      }
      expect(phone.status.pending).toBe(250);
      const summary = await phone.syncNow();
      expect(summary).toMatchObject({ pushed: 250, failed: 0, conflicts: 0 });
      expect(net.pushes.map((p) => p.changes.length)).toEqual([100, 100, 50]);
      expect(net.pushes.flatMap((p) => p.changes.map((c: Json) => c.entityId))).toEqual(made);
      expect(phone.status.pending).toBe(0);

      // A second device's first sync: "pulled n of about N" while it pages through.
      const progress: { phase: string; pulled: number; total?: number }[] = [];
      const tablet = createSyncClient({
        url: server.url,
        getToken: () => co.clerk,
        storage: memoryStorage(),
        // A fresh device's first sync pages through the snapshot.
        snapshotPageSize: 50,
        pullPageSize: 50,
        onProgress: (p) => progress.push(p),
        realtime: false,
      });
      try {
        expect((await tablet.syncNow()).pulled).toBe(250);
        const pulls = progress.filter((p) => p.phase === 'snapshot' && p.pulled > 0);
        expect(pulls.length).toBeGreaterThanOrEqual(5);
        expect(pulls.at(-1)).toMatchObject({ pulled: 250, total: 250 });
        expect(await tablet.collection('supplier').find()).toHaveLength(84);
      } finally {
        await tablet.close();
      }
    } finally {
      await phone.close();
    }
  });

  it('retries a change through a server outage without parking it, then syncs it once', async () => {
    // Seed 004 retries failed items with backoff; an outage (503) is no verdict on the change,
    // so it is retried for as long as the outage lasts and never waits for a person.
    const co = company(`sdk-retry-${randomUUID().slice(0, 8)}`);
    const net = recordingFetch();
    const phone = collectorPhone(co.collector, net.fetch);
    try {
      const id = await phone.collection('payment').create({ amount: 1200, currency: 'KES' });
      net.state.down = true;
      for (let attempt = 1; attempt <= 6; attempt += 1) {
        await expect(phone.syncNow()).rejects.toThrow();
      }
      expect(phone.status).toMatchObject({ pending: 1, failed: 0 });
      expect(await phone.failed()).toEqual([]);
      // Still visible locally while it waits.
      expect(await phone.collection('payment').get(id)).toMatchObject({ amount: 1200 });

      net.state.down = false;
      expect(await phone.syncNow()).toMatchObject({ pushed: 1, failed: 0 });
      expect(phone.status).toMatchObject({ pending: 0, failed: 0 });
      const office = await co.localState(co.manager, 'office-pc');
      expect(office.get(`payment/${id}`)).toMatchObject({ version: 1 });
    } finally {
      await phone.close();
    }
  });

  it('syncs after login: a new token starts a sync of what was queued while signed out', async () => {
    const co = company(`sdk-login-${randomUUID().slice(0, 8)}`);
    // Signed out: the app has no valid token yet, so the server answers 401.
    let token = 'signed-out';
    const phone = createSyncClient({
      url: server.url,
      getToken: () => token,
      storage: memoryStorage(),
      syncIntervalMs: 60 * 60_000,
      realtime: false,
    });
    try {
      const id = await phone.collection('rate').create({ productId: 'milk', price: 45 });
      phone.start();
      await vi.waitFor(() => expect(phone.status.state).toBe('auth'), { timeout: 10_000 });
      token = co.collector;
      phone.setToken(co.collector);
      await vi.waitFor(() => expect(phone.status.pending).toBe(0), { timeout: 10_000 });
      const office = await co.localState(co.manager, 'office-pc');
      expect(office.get(`rate/${id}`)).toMatchObject({ version: 1 });
    } finally {
      phone.stop();
      await phone.close();
    }
  });
});
