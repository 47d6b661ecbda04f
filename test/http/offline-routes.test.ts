// The /api/offline routes (seed 003) on each store (this suite also runs with PostgreSQL behind
// the engine): queue, sync against a real upstream, status, history, and the business wall.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';
import {
  startUpstreamServer,
  type UpstreamServer,
} from '../../packages/server/src/testing/upstream-server.js';

let t: TestApp;
let upstream: UpstreamServer;

beforeAll(async () => {
  // The test's upstream listens on loopback: the operator opens that address explicitly.
  t = await createTestApp({ upstreamAllow: ['127.0.0.1'] });
  upstream = await startUpstreamServer();
});
afterAll(async () => {
  await t.close();
  await upstream.close();
});

async function call(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  token: string,
  payload?: object,
) {
  const res = await t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, 'x-device-id': 'till-9', 'x-network-type': '4g' },
    ...(payload ? { payload } : {}),
  });
  return { status: res.statusCode, body: res.json() };
}

describe('/api/offline on this store', () => {
  it('queues, replays upstream, reports status and history, and keeps businesses apart', async () => {
    const owner = await t.token('owner', 'shop-1', 'admin');
    const cashier = await t.token('cashier', 'shop-1');
    const rival = await t.token('rival', 'shop-2', 'admin');
    const config = await call('PATCH', '/api/offline/config', owner, {
      upstream_base_url: `${upstream.url}/shop-1`,
      max_retry_attempts: 1,
    });
    expect(config.status).toBe(200);

    upstream.script('/shop-1/api/expenses', [{ status: 502 }]);
    const sale = await call('POST', '/api/offline/queue', cashier, {
      operation_type: 'sale',
      operation_id: 'sale_1',
      endpoint: '/api/sales',
      method: 'POST',
      request_body: { total: 10 },
    });
    const expense = await call('POST', '/api/offline/queue', cashier, {
      operation_type: 'expense',
      operation_id: 'exp_1',
      endpoint: '/api/expenses',
      method: 'POST',
      request_body: { amount: 3 },
    });
    expect([sale.status, expense.status]).toEqual([202, 202]);

    const summary = await call('POST', '/api/offline/sync', cashier, {});
    expect(summary.body).toMatchObject({ success: 1, failed: 1, retrying: 1, total: 2 });
    const again = await call('POST', `/api/offline/sync/${expense.body.queueId}`, cashier);
    expect(again.body.synced).toBe(true);

    const status = await call('GET', '/api/offline/status', cashier);
    expect(status.body).toMatchObject({ pending: 0, synced: 2, total: 2 });
    const history = await call('GET', `/api/offline/history/${expense.body.queueId}`, cashier);
    expect(history.body.map((h: { status: string }) => h.status)).toEqual(['success', 'retry']);
    expect(history.body[0]).toMatchObject({ device_id: 'till-9', network_type: '4g' });

    expect((await call('GET', `/api/offline/history/${sale.body.queueId}`, rival)).status).toBe(
      404,
    );
    expect((await call('GET', '/api/offline/status', rival)).body.total).toBe(0);
    expect((await call('GET', '/api/offline/status?businessId=shop-1', rival)).status).toBe(403);
    const cleaned = await call('DELETE', '/api/offline/cleanup?olderThanDays=0', owner);
    expect(cleaned.body.deleted).toBe(2);
  });

  it('refuses an empty id list for retry with a 400, not a database error', async () => {
    const token = await t.token('cashier-empty', 'shop-empty');
    const res = await call('POST', '/api/offline/retry', token, { ids: [] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });
});
