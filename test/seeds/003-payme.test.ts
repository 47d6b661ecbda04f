// Seed 003 (PayMe point of sale), top to bottom, through HTTP against the real server process:
// operations queued offline replay against the business's own API (a real HTTP server on
// 127.0.0.1 that the test tells to succeed, conflict or fail), with the seed's endpoints, fields,
// conflict types, retry rules, config, cleanup and isolation rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startUpstreamServer,
  type UpstreamServer,
} from '../../packages/server/src/testing/upstream-server.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { callJson } from '../support/http.js';

let server: ServerProcess;
let upstream: UpstreamServer;

beforeAll(async () => {
  upstream = await startUpstreamServer();
  // The operator lists the hosts upstream URLs may name (SSRF guard): the test's API host only.
  // No scheduled jobs: the replay job, at a minute's turn, would claim operations these tests
  // send by hand, which then answer 'syncing'.
  server = await startServer({
    env: { SYNCLINE_UPSTREAM_ALLOW: '127.0.0.1', SYNCLINE_JOBS: 'off' },
  });
});
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

const deviceHeaders = (deviceId: string, networkType = 'wifi') => ({
  'x-device-id': deviceId,
  'x-network-type': networkType,
  'x-is-online': 'true',
});

const api = (
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  token: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) => callJson(server.url, method, path, token, body, headers);

/** A business with an owner (admin), two cashiers and its API at upstream/<business>. */
async function business(name: string) {
  const owner = server.token(`${name}-owner`, name, 'admin');
  const cashier = server.token(`${name}-cashier`, name);
  const other = server.token(`${name}-cashier-2`, name);
  const base = `${upstream.url}/${name}`;
  const set = await api('PATCH', '/api/offline/config', owner, {
    businessId: name,
    upstream_base_url: base,
  });
  expect(set.status).toBe(200);
  return { name, owner, cashier, other, path: (endpoint: string) => `/${name}${endpoint}` };
}

const sale = (operationId: string, total = 250) => ({
  operation_type: 'sale',
  operation_id: operationId,
  endpoint: '/api/sales',
  method: 'POST',
  request_body: { total, currency: 'KES', items: [{ sku: 'SOAP-1', qty: 2 }] },
});

describe('Queue operations: POST /api/offline/queue', () => {
  it('answers 202 Accepted with the queue id, and keeps every documented field', async () => {
    const biz = await business('queue-biz');
    const res = await api(
      'POST',
      '/api/offline/queue',
      biz.cashier,
      { businessId: 'queue-biz', ...sale('sale_1234567') },
      deviceHeaders('till-1', '3g'),
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      success: true,
      queued: true,
      queueId: expect.any(Number),
      operationId: 'sale_1234567',
      message: 'Operation queued for sync when connection available',
    });
    expect(res.body.operation).toMatchObject({
      id: res.body.queueId,
      user_id: 'queue-biz-cashier',
      business_id: 'queue-biz',
      device_id: 'till-1',
      operation_type: 'sale',
      operation_id: 'sale_1234567',
      endpoint: '/api/sales',
      method: 'POST',
      request_body: sale('x').request_body,
      status: 'pending',
      sync_attempts: 0,
      server_response: null,
      server_id: null,
      conflict_type: null,
      conflict_data: null,
      resolution_strategy: null,
      error_message: null,
      network_type: '3g',
    });
    expect(Date.parse(res.body.operation.created_at)).not.toBeNaN();

    // Idempotency: the same operation from the same device is queued once.
    const again = await api(
      'POST',
      '/api/offline/queue',
      biz.cashier,
      sale('sale_1234567'),
      deviceHeaders('till-1'),
    );
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ queued: false, duplicate: true, queueId: res.body.queueId });
    // The same local id for a different request is refused, not silently merged.
    const reused = await api(
      'POST',
      '/api/offline/queue',
      biz.cashier,
      sale('sale_1234567', 999),
      deviceHeaders('till-1'),
    );
    expect(reused.status).toBe(400);
    // Without an operation_id the server gives one.
    const anonymous = await api('POST', '/api/offline/queue', biz.cashier, {
      operationType: 'expense',
      endpoint: '/api/expenses',
      method: 'POST',
      requestBody: { amount: 40, category: 'transport' },
    });
    expect(anonymous.status).toBe(202);
    expect(anonymous.body.operationId).toMatch(/^op_/);
  });

  it('refuses bad input with a structured error and queues nothing', async () => {
    const biz = await business('bad-input-biz');
    const cases: unknown[] = [
      { endpoint: '/api/sales', method: 'POST' },
      { operation_type: 'sale', method: 'POST' },
      { operation_type: 'sale', endpoint: '/api/sales', method: 'GET' },
      { operation_type: 'sale', endpoint: 'https://evil.example/x', method: 'POST' },
      { operation_type: 'sale', endpoint: '//evil.example/x', method: 'POST' },
      { operation_type: 'Sale!', endpoint: '/api/sales', method: 'POST' },
      { ...sale('s'), surprise: true },
    ];
    for (const body of cases) {
      const res = await api('POST', '/api/offline/queue', biz.cashier, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    const huge = await api('POST', '/api/offline/queue', biz.cashier, {
      ...sale('huge'),
      request_body: { notes: 'x'.repeat(300 * 1024) },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const status = await api('GET', '/api/offline/status', biz.cashier);
    expect(status.body.total).toBe(0);
  });

  it('supports sales, expenses, records, payments; stock adjustments only when configured', async () => {
    const biz = await business('types-biz');
    for (const type of ['sale', 'expense', 'record', 'payment']) {
      const res = await api('POST', '/api/offline/queue', biz.cashier, {
        operation_type: type,
        endpoint: `/api/${type}s`,
        method: 'POST',
        request_body: { amount: 1 },
      });
      expect(res.status, type).toBe(202);
    }
    const stock = {
      operation_type: 'stock_adjustment',
      endpoint: '/api/stock/adjustments',
      method: 'PATCH',
      request_body: { productId: 'p1', quantity: -2 },
    };
    const refused = await api('POST', '/api/offline/queue', biz.cashier, stock);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('OFFLINE_NOT_ALLOWED');
    await api('PATCH', '/api/offline/config', biz.owner, { allow_stock_adjustment_offline: true });
    expect((await api('POST', '/api/offline/queue', biz.cashier, stock)).status).toBe(202);
    await api('PATCH', '/api/offline/config', biz.owner, { allow_sales_offline: false });
    const noSales = await api('POST', '/api/offline/queue', biz.cashier, sale('s-late'));
    expect(noSales.body.error.code).toBe('OFFLINE_NOT_ALLOWED');
    await api('PATCH', '/api/offline/config', biz.owner, { offline_mode_enabled: false });
    const off = await api('POST', '/api/offline/queue', biz.cashier, {
      ...stock,
      operation_type: 'payment',
    });
    expect(off.status).toBe(403);
  });

  it('refuses new items past max_queue_size', async () => {
    const biz = await business('full-biz');
    await api('PATCH', '/api/offline/config', biz.owner, { max_queue_size: 2 });
    expect((await api('POST', '/api/offline/queue', biz.cashier, sale('a'))).status).toBe(202);
    expect((await api('POST', '/api/offline/queue', biz.other, sale('b'))).status).toBe(202);
    const full = await api('POST', '/api/offline/queue', biz.cashier, sale('c'));
    expect(full.status).toBe(409);
    expect(full.body.error.code).toBe('QUEUE_FULL');
    // Syncing drains the queue and makes room again.
    await api('POST', '/api/offline/sync', biz.owner, { businessId: 'full-biz' });
    expect((await api('POST', '/api/offline/queue', biz.cashier, sale('c'))).status).toBe(202);
  });
});

describe('Pending operations: GET /api/offline/pending', () => {
  it('lists the caller’s operations oldest first, filtered by status, with pagination', async () => {
    const biz = await business('pending-biz');
    for (const id of ['p1', 'p2', 'p3']) {
      await api('POST', '/api/offline/queue', biz.cashier, sale(id), deviceHeaders('till-p'));
    }
    await api('POST', '/api/offline/queue', biz.other, sale('q1'), deviceHeaders('till-q'));

    const mine = await api('GET', '/api/offline/pending?businessId=pending-biz', biz.cashier);
    expect(mine.status).toBe(200);
    expect(Array.isArray(mine.body)).toBe(true);
    expect(mine.body.map((op: { operation_id: string }) => op.operation_id)).toEqual([
      'p1',
      'p2',
      'p3',
    ]);
    const page = await api('GET', '/api/offline/pending?limit=1&offset=1', biz.cashier);
    expect(page.body.map((op: { operation_id: string }) => op.operation_id)).toEqual(['p2']);
    const all = await api('GET', '/api/offline/pending', biz.owner);
    expect(all.body).toHaveLength(4);
    const synced = await api('GET', '/api/offline/pending?status=synced', biz.cashier);
    expect(synced.body).toEqual([]);
  });
});

describe('Synchronization: POST /api/offline/sync and /sync/:id', () => {
  it('sends each pending operation upstream and records the outcome', async () => {
    const biz = await business('sync-biz');
    const queued = await api(
      'POST',
      '/api/offline/queue',
      biz.cashier,
      sale('sale_sync_1'),
      deviceHeaders('till-s', '2g'),
    );
    await api('POST', '/api/offline/queue', biz.cashier, {
      operation_type: 'payment',
      operation_id: 'pay_1',
      endpoint: '/api/payments/mpesa/stk-push',
      method: 'POST',
      request_body: { phone: '254700000000', amount: 250 },
    });

    const res = await api(
      'POST',
      '/api/offline/sync',
      biz.cashier,
      { businessId: 'sync-biz' },
      deviceHeaders('till-s', '4g'),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: 2, failed: 0, conflict: 0, total: 2 });
    expect(res.body.durationMs).toEqual(expect.any(Number));

    const sent = upstream.requestsTo(biz.path('/api/sales'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', body: sale('x').request_body });
    expect(sent[0]?.headers['idempotency-key']).toBe(queued.body.operation.idempotency_key);
    expect(sent[0]?.headers['x-device-id']).toBe('till-s');
    expect(upstream.requestsTo(biz.path('/api/payments/mpesa/stk-push'))).toHaveLength(1);

    const [op] = (await api('GET', '/api/offline/pending?status=synced&limit=1', biz.cashier)).body;
    expect(op).toMatchObject({
      status: 'synced',
      status_code: 201,
      server_id: expect.stringMatching(/^srv-/),
      sync_attempts: 1,
      server_response: { id: expect.any(String) },
    });
    expect(Date.parse(op.synced_at)).not.toBeNaN();

    // History: one row per attempt, with the syncing device's headers.
    const history = await api(
      'GET',
      `/api/offline/history/${queued.body.queueId}?limit=10`,
      biz.cashier,
    );
    expect(history.status).toBe(200);
    expect(history.body).toEqual([
      expect.objectContaining({
        queue_id: queued.body.queueId,
        attempt: 1,
        status: 'success',
        status_code: 201,
        network_type: '4g',
        device_id: 'till-s',
        duration_ms: expect.any(Number),
      }),
    ]);

    // A synced operation is settled: syncing again sends nothing.
    const again = await api('POST', `/api/offline/sync/${queued.body.queueId}`, biz.cashier);
    expect(again.body).toMatchObject({ synced: true, attempted: false });
    expect(upstream.requestsTo(biz.path('/api/sales'))).toHaveLength(1);
  });

  it('syncs one operation on demand', async () => {
    const biz = await business('one-biz');
    const a = await api('POST', '/api/offline/queue', biz.cashier, sale('one-a'));
    await api('POST', '/api/offline/queue', biz.cashier, sale('one-b'));
    const res = await api('POST', `/api/offline/sync/${a.body.queueId}`, biz.cashier);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      synced: true,
      attempted: true,
      operation: { id: a.body.queueId, status: 'synced', sync_attempts: 1 },
    });
    const pending = await api('GET', '/api/offline/pending', biz.cashier);
    expect(pending.body.map((op: { operation_id: string }) => op.operation_id)).toEqual(['one-b']);
  });

  it('answers UPSTREAM_NOT_CONFIGURED while the business has no API to replay against', async () => {
    const owner = server.token('lonely-owner', 'lonely-biz', 'admin');
    const queued = await api('POST', '/api/offline/queue', owner, sale('l1'));
    expect(queued.status).toBe(202);
    const res = await api('POST', '/api/offline/sync', owner, {});
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('UPSTREAM_NOT_CONFIGURED');
    expect((await api('GET', '/api/offline/status', owner)).body.pending).toBe(1);
  });
});

describe('Conflict types: DUPLICATE, VERSION_MISMATCH, DELETED, MANUAL', () => {
  it('a 409 from the API is a conflict of the type it names, under the business strategy', async () => {
    const biz = await business('conflict-biz');
    await api('PATCH', '/api/offline/config', biz.owner, { default_conflict_strategy: 'manual' });
    const answers = [
      { conflict_type: 'DUPLICATE', id: 'sale-900', message: 'Sale already recorded' },
      { error: { code: 'VERSION_MISMATCH', message: 'Product changed' }, current: { version: 4 } },
      { type: 'DELETED', message: 'Customer was deleted' },
      { message: 'Needs a manager' },
    ];
    const ids: number[] = [];
    for (const [i, body] of answers.entries()) {
      upstream.script(biz.path(`/api/records/${i}`), [{ status: 409, body }]);
      const res = await api('POST', '/api/offline/queue', biz.cashier, {
        operation_type: 'record',
        endpoint: `/api/records/${i}`,
        method: 'PUT',
        request_body: { value: i },
      });
      ids.push(res.body.queueId);
    }
    const summary = await api('POST', '/api/offline/sync', biz.cashier, {});
    expect(summary.body).toMatchObject({ success: 0, conflict: 4, total: 4 });

    const conflicts = (await api('GET', '/api/offline/pending?status=conflict', biz.cashier)).body;
    expect(conflicts.map((op: { conflict_type: string }) => op.conflict_type)).toEqual([
      'DUPLICATE',
      'VERSION_MISMATCH',
      'DELETED',
      'MANUAL',
    ]);
    expect(conflicts[0]).toMatchObject({
      status: 'conflict',
      status_code: 409,
      server_id: 'sale-900',
      conflict_data: answers[0],
      resolution_strategy: 'server_wins',
    });
    expect(conflicts[1]).toMatchObject({
      conflict_data: answers[1],
      resolution_strategy: 'manual',
    });
    const history = await api('GET', `/api/offline/history/${ids[3]}`, biz.cashier);
    expect(history.body[0]).toMatchObject({ status: 'conflict', status_code: 409 });

    // A conflict is not re-sent by a later sync.
    const before = upstream.received.length;
    await api('POST', '/api/offline/sync', biz.cashier, {});
    expect(upstream.received.length).toBe(before);
  });

  it('client_wins sends the request once more as an overwrite; server_wins lets the API copy stand', async () => {
    const biz = await business('cw-biz');
    await api('PATCH', '/api/offline/config', biz.owner, {
      default_conflict_strategy: 'client_wins',
    });
    const stale = { type: 'VERSION_MISMATCH', current: { price: 60 } };
    upstream.script(biz.path('/api/products/p1'), [{ status: 409, body: stale }]);
    upstream.script(biz.path('/api/products/p2'), [
      { status: 409, body: stale },
      { status: 409, body: { type: 'DELETED' } },
    ]);
    const put = (id: string) => ({
      operation_type: 'record',
      operation_id: `price-${id}`,
      endpoint: `/api/products/${id}`,
      method: 'PUT',
      request_body: { price: 55 },
    });
    const p1 = await api('POST', '/api/offline/queue', biz.cashier, put('p1'));
    const p2 = await api('POST', '/api/offline/queue', biz.cashier, put('p2'));
    const summary = await api('POST', '/api/offline/sync', biz.cashier, {});
    // Two operations, each counted once by how it ended: p1 overwritten, p2 refused again.
    expect(summary.body).toMatchObject({ success: 1, conflict: 1, failed: 0, total: 2 });
    expect(summary.body.operations).toHaveLength(2);

    const [first, overwrite] = upstream.requestsTo(biz.path('/api/products/p1'));
    expect(first?.headers['x-conflict-resolution']).toBeUndefined();
    expect(overwrite?.headers).toMatchObject({
      'x-conflict-resolution': 'client_wins',
      'idempotency-key': `${p1.body.operation.idempotency_key}.client_wins`,
    });
    expect(overwrite?.body).toEqual({ price: 55 });
    const synced = (await api('GET', '/api/offline/pending?status=synced', biz.cashier)).body;
    expect(synced).toEqual([
      expect.objectContaining({
        id: p1.body.queueId,
        conflict_type: 'VERSION_MISMATCH',
        conflict_data: stale,
        resolution_strategy: 'client_wins',
        sync_attempts: 2,
      }),
    ]);
    const history = (await api('GET', `/api/offline/history/${p1.body.queueId}`, biz.cashier)).body;
    expect(history.map((h: { status: string }) => h.status)).toEqual(['success', 'conflict']);
    // Refused again: a person decides.
    const [waiting] = (await api('GET', '/api/offline/pending?status=conflict', biz.cashier)).body;
    expect(waiting).toMatchObject({
      id: p2.body.queueId,
      conflict_type: 'DELETED',
      resolution_strategy: 'manual',
    });

    await api('PATCH', '/api/offline/config', biz.owner, {
      default_conflict_strategy: 'server_wins',
    });
    upstream.script(biz.path('/api/products/p3'), [{ status: 409, body: stale }]);
    await api('POST', '/api/offline/queue', biz.cashier, put('p3'));
    await api('POST', '/api/offline/sync', biz.cashier, {});
    expect(upstream.requestsTo(biz.path('/api/products/p3'))).toHaveLength(1);
    const kept = (await api('GET', '/api/offline/pending?status=conflict', biz.cashier)).body;
    expect(kept.at(-1)).toMatchObject({ resolution_strategy: 'server_wins', conflict_data: stale });
  });

  it('a request the API already processed (same Idempotency-Key) comes back DUPLICATE', async () => {
    const biz = await business('dup-biz');
    const queued = await api('POST', '/api/offline/queue', biz.cashier, sale('dup-1'));
    // The API processed the request earlier (say the device's own attempt reached it before the
    // connection dropped): it answers the key with 409 DUPLICATE and the id it made then.
    upstream.script(biz.path('/api/sales'), [
      { status: 409, body: { conflict_type: 'DUPLICATE', id: 'srv-earlier' } },
    ]);
    await api('POST', `/api/offline/sync/${queued.body.queueId}`, biz.cashier);
    const [op] = (await api('GET', '/api/offline/pending?status=conflict', biz.cashier)).body;
    expect(op).toMatchObject({ conflict_type: 'DUPLICATE', server_id: 'srv-earlier' });
  });
});

describe('Conflict resolution: POST /api/offline/resolve/:id', () => {
  /** A business under `manual` with one operation in conflict (the API answered 409 `body`). */
  async function conflicted(name: string, body: unknown = { type: 'VERSION_MISMATCH' }) {
    const biz = await business(name);
    await api('PATCH', '/api/offline/config', biz.owner, { default_conflict_strategy: 'manual' });
    upstream.script(biz.path('/api/products/p1'), [{ status: 409, body }]);
    const queued = await api('POST', '/api/offline/queue', biz.cashier, {
      operation_type: 'record',
      operation_id: 'price-p1',
      endpoint: '/api/products/p1',
      method: 'PUT',
      request_body: { price: 55, name: 'Soap' },
    });
    await api('POST', '/api/offline/sync', biz.cashier, {});
    return {
      ...biz,
      id: queued.body.queueId as number,
      key: queued.body.operation.idempotency_key,
    };
  }

  it('client_wins: an admin re-sends the request at once as an overwrite', async () => {
    const biz = await conflicted('resolve-cw');
    const res = await api('POST', `/api/offline/resolve/${biz.id}`, biz.owner, {
      businessId: biz.name,
      strategy: 'client_wins',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      resolved: true,
      strategy: 'client_wins',
      synced: true,
      attempted: true,
      operation: {
        id: biz.id,
        status: 'synced',
        resolution_strategy: 'client_wins',
        resolved_by: `${biz.name}-owner`,
        conflict_type: 'VERSION_MISMATCH',
        sync_attempts: 2,
      },
    });
    const [, overwrite] = upstream.requestsTo(biz.path('/api/products/p1'));
    expect(overwrite?.headers).toMatchObject({
      'x-conflict-resolution': 'client_wins',
      'idempotency-key': `${biz.key}.client_wins.1`,
    });
    expect(overwrite?.body).toEqual({ price: 55, name: 'Soap' });
    const status = await api('GET', '/api/offline/status', biz.owner);
    expect(status.body).toMatchObject({ conflicts: 0, synced: 1 });
  });

  it('server_wins: the API copy stands and the operation is settled; nothing is sent', async () => {
    const biz = await conflicted('resolve-sw', { type: 'DELETED', id: 'p1' });
    const res = await api('POST', `/api/offline/resolve/${biz.id}`, biz.owner, {
      strategy: 'server_wins',
    });
    expect(res.body).toMatchObject({
      resolved: true,
      synced: true,
      attempted: false,
      operation: { status: 'synced', resolution_strategy: 'server_wins', conflict_type: 'DELETED' },
    });
    expect(Date.parse(res.body.operation.resolved_at)).not.toBeNaN();
    expect(upstream.requestsTo(biz.path('/api/products/p1'))).toHaveLength(1);
    const again = await api('POST', `/api/offline/resolve/${biz.id}`, biz.owner, {
      strategy: 'client_wins',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT_ALREADY_RESOLVED');
  });

  it('merge: the version the admin combined from both is sent as the overwrite', async () => {
    const biz = await conflicted('resolve-merge', {
      type: 'VERSION_MISMATCH',
      current: { price: 60, name: 'Soap bar', stock: 12 },
    });
    const merged = { price: 55, name: 'Soap bar', stock: 12 };
    const res = await api('POST', `/api/offline/resolve/${biz.id}`, biz.owner, {
      strategy: 'merge',
      request_body: merged,
    });
    expect(res.body).toMatchObject({
      synced: true,
      operation: { status: 'synced', resolution_strategy: 'merge', request_body: merged },
    });
    const [, overwrite] = upstream.requestsTo(biz.path('/api/products/p1'));
    expect(overwrite?.headers['x-conflict-resolution']).toBe('merge');
    expect(overwrite?.body).toEqual(merged);
    const missing = await conflicted('resolve-merge-2');
    const bare = await api('POST', `/api/offline/resolve/${missing.id}`, missing.owner, {
      strategy: 'merge',
    });
    expect(bare.status).toBe(400);
    expect(bare.body.error.message).toMatch(/request_body/);
  });

  it('/sync/:id skips a conflict, and re-sends it when an admin overrides it', async () => {
    const biz = await conflicted('resolve-sync');
    const plain = await api('POST', `/api/offline/sync/${biz.id}`, biz.owner);
    expect(plain.body).toMatchObject({ attempted: false, operation: { status: 'conflict' } });
    const cashier = await api('POST', `/api/offline/sync/${biz.id}`, biz.cashier, {
      strategy: 'client_wins',
    });
    expect(cashier.status).toBe(403);
    expect(cashier.body.error.code).toBe('ADMIN_REQUIRED');
    const override = await api('POST', `/api/offline/sync/${biz.id}`, biz.owner, {
      strategy: 'client_wins',
    });
    expect(override.body).toMatchObject({
      synced: true,
      attempted: true,
      operation: { status: 'synced', resolution_strategy: 'client_wins' },
    });
    expect(upstream.requestsTo(biz.path('/api/products/p1'))).toHaveLength(2);
  });

  it('refuses what cannot be settled, for whom it is not, and changes nothing', async () => {
    const biz = await conflicted('resolve-refusals');
    const resolve = (token: string, id: number, body: object) =>
      api('POST', `/api/offline/resolve/${id}`, token, body);
    const byCashier = await resolve(biz.cashier, biz.id, { strategy: 'server_wins' });
    expect([byCashier.status, byCashier.body.error.code]).toEqual([403, 'ADMIN_REQUIRED']);
    const manual = await resolve(biz.owner, biz.id, { strategy: 'manual' });
    expect([manual.status, manual.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const other = await business('resolve-refusals-other');
    const foreign = await resolve(other.owner, biz.id, { strategy: 'server_wins' });
    expect(foreign.status).toBe(404);
    const pending = await api('POST', '/api/offline/queue', biz.cashier, sale('not-a-conflict'));
    const notConflict = await resolve(biz.owner, pending.body.queueId, { strategy: 'server_wins' });
    expect([notConflict.status, notConflict.body.error.code]).toEqual([400, 'INVALID_OPERATION']);
    const [op] = (await api('GET', '/api/offline/pending?status=conflict', biz.owner)).body;
    expect(op).toMatchObject({ id: biz.id, status: 'conflict', resolved_at: null });

    const dup = await conflicted('resolve-dup', { conflict_type: 'DUPLICATE', id: 'srv-1' });
    const overwrite = await resolve(dup.owner, dup.id, { strategy: 'client_wins' });
    expect([overwrite.status, overwrite.body.error.code]).toEqual([400, 'INVALID_OPERATION']);
    expect((await resolve(dup.owner, dup.id, { strategy: 'server_wins' })).status).toBe(200);
  });
});

describe('Queue ids', () => {
  it("are numbered per business: an id reveals nothing of another business's volume", async () => {
    const busy = await business('ids-busy');
    for (const id of ['b1', 'b2', 'b3']) {
      await api('POST', '/api/offline/queue', busy.cashier, sale(id));
    }
    const quiet = await business('ids-quiet');
    const first = await api('POST', '/api/offline/queue', quiet.cashier, sale('q1'));
    expect(first.body.queueId).toBe(1);
    const third = await api('POST', '/api/offline/queue', busy.cashier, sale('b4'));
    expect(third.body.queueId).toBe(4);
    // The same number in the other business is not this one's operation.
    const mine = await api('GET', '/api/offline/history/1', quiet.cashier);
    expect(mine.body).toEqual([]);
    expect((await api('POST', '/api/offline/sync/4', quiet.cashier)).status).toBe(404);
  });
});

describe('Error handling and retry strategy', () => {
  it('retries 5xx and network errors up to max_retry_attempts, then fails with the error kept', async () => {
    const biz = await business('retry-biz');
    await api('PATCH', '/api/offline/config', biz.owner, { max_retry_attempts: 2 });
    upstream.script(biz.path('/api/sales'), [
      { status: 500, body: { message: 'database error' } },
      { drop: true },
      { status: 503 },
    ]);
    const queued = await api('POST', '/api/offline/queue', biz.cashier, sale('r1'));
    const id = queued.body.queueId;

    const first = await api('POST', '/api/offline/sync', biz.cashier, {});
    expect(first.body).toMatchObject({ success: 0, failed: 1, retrying: 1 });
    let [op] = (await api('GET', '/api/offline/pending', biz.cashier)).body;
    expect(op).toMatchObject({
      status: 'pending',
      sync_attempts: 1,
      status_code: 500,
      error_category: 'SERVER_ERROR',
      error_message: 'HTTP 500: database error',
    });
    expect(Date.parse(op.next_attempt_at)).toBeGreaterThan(Date.parse(op.last_attempt_at));

    await api('POST', `/api/offline/sync/${id}`, biz.cashier);
    [op] = (await api('GET', '/api/offline/pending', biz.cashier)).body;
    expect(op).toMatchObject({ status: 'pending', sync_attempts: 2, error_category: 'NETWORK' });

    await api('POST', `/api/offline/sync/${id}`, biz.cashier);
    [op] = (await api('GET', '/api/offline/pending?status=failed', biz.cashier)).body;
    expect(op).toMatchObject({ status: 'failed', sync_attempts: 3, status_code: 503 });
    expect(Date.parse(op.failed_at)).not.toBeNaN();

    const history = (await api('GET', `/api/offline/history/${id}`, biz.cashier)).body;
    expect(history.map((h: { status: string }) => h.status)).toEqual(['failed', 'retry', 'retry']);
    expect(history.map((h: { error_category: string }) => h.error_category)).toEqual([
      'SERVER_ERROR',
      'NETWORK',
      'SERVER_ERROR',
    ]);

    // POST /retry: failed operations get a fresh round; this time the API answers.
    const retried = await api('POST', '/api/offline/retry', biz.cashier, {
      businessId: 'retry-biz',
    });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ retried: 1, success: 1, total: 1 });
    const keys = upstream
      .requestsTo(biz.path('/api/sales'))
      .map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
  });

  it('other 4xx answers fail at once with the error kept', async () => {
    const biz = await business('reject-biz');
    upstream.script(biz.path('/api/expenses'), [
      { status: 422, body: { error: { message: 'amount must be positive' } } },
    ]);
    await api('POST', '/api/offline/queue', biz.cashier, {
      operation_type: 'expense',
      endpoint: '/api/expenses',
      method: 'POST',
      request_body: { amount: -5 },
    });
    const res = await api('POST', '/api/offline/sync', biz.cashier, {});
    expect(res.body).toMatchObject({ failed: 1, retrying: 0 });
    const [op] = (await api('GET', '/api/offline/pending?status=failed', biz.cashier)).body;
    expect(op).toMatchObject({
      status: 'failed',
      status_code: 422,
      error_category: 'CLIENT_ERROR',
      error_message: 'HTTP 422: amount must be positive',
      server_response: { error: { message: 'amount must be positive' } },
    });
  });
});

describe('Status monitoring: GET /api/offline/status', () => {
  it('counts by status and reports the last sync', async () => {
    const biz = await business('status-biz');
    upstream.script(biz.path('/api/records/c'), [{ status: 409, body: { type: 'MANUAL' } }]);
    upstream.script(biz.path('/api/records/f'), [{ status: 400 }]);
    for (const endpoint of ['/api/sales', '/api/records/c', '/api/records/f']) {
      await api('POST', '/api/offline/queue', biz.cashier, {
        operation_type: 'record',
        endpoint,
        method: 'POST',
        request_body: {},
      });
    }
    const empty = await api('GET', '/api/offline/status?businessId=status-biz', biz.cashier);
    expect(empty.body).toMatchObject({
      pending: 3,
      synced: 0,
      conflicts: 0,
      failed: 0,
      total: 3,
      lastSync: null,
    });
    await api('POST', '/api/offline/sync', biz.cashier, {});
    await api('POST', '/api/offline/queue', biz.cashier, sale('later'));
    const res = await api('GET', '/api/offline/status?businessId=status-biz', biz.cashier);
    expect(res.body).toMatchObject({ pending: 1, synced: 1, conflicts: 1, failed: 1, total: 4 });
    expect(Date.parse(res.body.lastSync)).not.toBeNaN();
    // Another cashier's view is their own; the owner sees the business, or one user.
    expect((await api('GET', '/api/offline/status', biz.other)).body.total).toBe(0);
    expect((await api('GET', '/api/offline/status', biz.owner)).body.total).toBe(4);
    const one = await api('GET', '/api/offline/status?userId=status-biz-cashier', biz.owner);
    expect(one.body.total).toBe(4);
    const snoop = await api('GET', '/api/offline/status?userId=status-biz-cashier', biz.other);
    expect(snoop.status).toBe(403);
  });
});

describe('Configuration: GET and PATCH /api/offline/config', () => {
  it('has defaults, takes every documented field, and refuses bad values', async () => {
    const owner = server.token('cfg-owner', 'cfg-biz', 'admin');
    const cashier = server.token('cfg-cashier', 'cfg-biz');
    const defaults = await api('GET', '/api/offline/config?businessId=cfg-biz', cashier);
    expect(defaults.body).toMatchObject({
      business_id: 'cfg-biz',
      offline_mode_enabled: true,
      auto_sync_enabled: true,
      sync_interval_minutes: 5,
      max_retry_attempts: 3,
      max_queue_size: 500,
      allow_sales_offline: true,
      allow_expenses_offline: true,
      allow_stock_adjustment_offline: false,
      upstream_base_url: null,
    });

    const patch = {
      businessId: 'cfg-biz',
      offline_mode_enabled: true,
      auto_sync_enabled: false,
      sync_interval_minutes: 15,
      allow_sales_offline: true,
      allow_expenses_offline: false,
      allow_stock_adjustment_offline: true,
      max_queue_size: 50,
      default_conflict_strategy: 'client_wins',
      upstream_base_url: `${upstream.url}/v1`,
    };
    const updated = await api('PATCH', '/api/offline/config', owner, patch);
    expect(updated.status).toBe(200);
    const { businessId: _b, ...fields } = patch;
    expect(updated.body).toMatchObject({ ...fields, updated_by: 'cfg-owner' });
    expect((await api('GET', '/api/offline/config', cashier)).body).toMatchObject(fields);

    for (const strategy of ['client_wins', 'server_wins', 'manual']) {
      const res = await api('PATCH', '/api/offline/config', owner, {
        default_conflict_strategy: strategy,
      });
      expect(res.body.default_conflict_strategy).toBe(strategy);
    }
    // merge needs a person: refused as a default, with the reason and the way to merge.
    const merge = await api('PATCH', '/api/offline/config', owner, {
      default_conflict_strategy: 'merge',
    });
    expect(merge.status).toBe(400);
    expect(merge.body.error.code).toBe('VALIDATION_FAILED');
    expect(merge.body.error.message).toMatch(/no common base version.*\/api\/offline\/resolve/);
    expect((await api('GET', '/api/offline/config', owner)).body.default_conflict_strategy).toBe(
      'manual',
    );
    const bad = [
      { default_conflict_strategy: 'coin_flip' },
      { max_queue_size: 0 },
      { sync_interval_minutes: 'often' },
      { unknown_flag: true },
    ];
    for (const body of bad) {
      const res = await api('PATCH', '/api/offline/config', owner, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('validates the upstream URL: http(s) only, and hosts on SYNCLINE_UPSTREAM_ALLOW', async () => {
    const owner = server.token('url-owner', 'url-biz', 'admin');
    for (const url of [
      'ftp://127.0.0.1/x',
      'file:///etc/passwd',
      'http://user:secret@127.0.0.1/',
      'http://localhost:1234',
      'http://169.254.169.254/latest/meta-data',
      'https://api.elsewhere.example',
    ]) {
      const res = await api('PATCH', '/api/offline/config', owner, { upstream_base_url: url });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code).toBe('UPSTREAM_NOT_ALLOWED');
    }
    const ok = await api('PATCH', '/api/offline/config', owner, {
      upstream_base_url: 'http://127.0.0.1:9/api',
    });
    expect(ok.status).toBe(200);
    const cleared = await api('PATCH', '/api/offline/config', owner, { upstream_base_url: null });
    expect(cleared.body.upstream_base_url).toBeNull();
  });
});

describe('Maintenance: DELETE /api/offline/cleanup', () => {
  it('removes synced operations older than olderThanDays, and only those', async () => {
    const biz = await business('cleanup-biz');
    upstream.script(biz.path('/api/expenses'), [{ status: 400 }]);
    await api('POST', '/api/offline/queue', biz.cashier, sale('c1'));
    await api('POST', '/api/offline/queue', biz.cashier, {
      operation_type: 'expense',
      endpoint: '/api/expenses',
      method: 'POST',
      request_body: {},
    });
    await api('POST', '/api/offline/sync', biz.cashier, {});
    await api('POST', '/api/offline/queue', biz.cashier, sale('c2'));

    const week = await api('DELETE', '/api/offline/cleanup', biz.owner, {
      businessId: 'cleanup-biz',
      olderThanDays: 7,
    });
    expect(week.body).toEqual({ deleted: 0, olderThanDays: 7, hasMore: false });
    const now = await api('DELETE', '/api/offline/cleanup?olderThanDays=0', biz.owner);
    expect(now.body.deleted).toBe(1);
    const status = (await api('GET', '/api/offline/status', biz.owner)).body;
    expect(status).toMatchObject({ synced: 0, failed: 1, pending: 1, total: 2 });
  });
});

describe('Security and data integrity', () => {
  it('isolates users: another cashier cannot read, history or sync my operation', async () => {
    const biz = await business('iso-biz');
    const mine = await api('POST', '/api/offline/queue', biz.cashier, sale('iso-1'));
    const id = mine.body.queueId;
    expect((await api('GET', '/api/offline/pending', biz.other)).body).toEqual([]);
    expect((await api('GET', `/api/offline/history/${id}`, biz.other)).status).toBe(404);
    expect((await api('POST', `/api/offline/sync/${id}`, biz.other)).status).toBe(404);
    await api('POST', '/api/offline/sync', biz.other, {});
    expect((await api('GET', '/api/offline/status', biz.cashier)).body.pending).toBe(1);
    // Another device's key for the same local id is a different operation; another user's
    // reuse of my device and local id is refused.
    const theirs = await api('POST', '/api/offline/queue', biz.other, sale('iso-1'));
    expect(theirs.status).toBe(202);
    const clash = await api(
      'POST',
      '/api/offline/queue',
      biz.other,
      sale('iso-1'),
      deviceHeaders(`user:${'iso-biz-cashier'}`),
    );
    expect(clash.status).toBe(403);
    // The owner may act on any operation of the business.
    expect((await api('POST', `/api/offline/sync/${id}`, biz.owner)).body.synced).toBe(true);
  });

  it('isolates businesses: another business id answers 403, another business’s queue id 404', async () => {
    const a = await business('wall-a');
    const b = await business('wall-b');
    const op = await api('POST', '/api/offline/queue', a.cashier, sale('wall-1'));
    expect((await api('GET', '/api/offline/status?businessId=wall-a', b.owner)).status).toBe(403);
    expect(
      (await api('POST', '/api/offline/queue', b.cashier, { businessId: 'wall-a', ...sale('x') }))
        .status,
    ).toBe(403);
    expect(
      (await api('PATCH', '/api/offline/config', b.owner, { businessId: 'wall-a' })).status,
    ).toBe(403);
    expect((await api('GET', `/api/offline/history/${op.body.queueId}`, b.owner)).status).toBe(404);
    expect((await api('POST', `/api/offline/sync/${op.body.queueId}`, b.owner)).status).toBe(404);
    expect((await api('GET', '/api/offline/pending', b.owner)).body).toEqual([]);
  });

  it('keeps configuration and cleanup for admins, and every route behind a token', async () => {
    const biz = await business('admin-biz');
    const patch = await api('PATCH', '/api/offline/config', biz.cashier, { max_queue_size: 1 });
    expect(patch.status).toBe(403);
    expect(patch.body.error.code).toBe('ADMIN_REQUIRED');
    const cleanup = await api('DELETE', '/api/offline/cleanup', biz.cashier, { olderThanDays: 0 });
    expect(cleanup.status).toBe(403);
    for (const [method, path] of [
      ['GET', '/api/offline/status'],
      ['GET', '/api/offline/pending'],
      ['GET', '/api/offline/history/1'],
      ['POST', '/api/offline/sync'],
      ['POST', '/api/offline/sync/1'],
      ['POST', '/api/offline/resolve/1'],
      ['POST', '/api/offline/retry'],
      ['GET', '/api/offline/config'],
      ['PATCH', '/api/offline/config'],
      ['DELETE', '/api/offline/cleanup'],
      ['POST', '/api/offline/queue'],
    ] as const) {
      const res = await api(method, path, null);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
  });
});
