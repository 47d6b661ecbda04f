// Rate budgets and bounded admin work, against the real server process: once a user's push budget
// is spent no write lands by any route (seed 001's queue and process spent the pull budget, so 20
// more writes landed); retries, invalidation, replays and cleanup spend the admin budget (a queue
// retry spent nothing: 30 calls re-ran 30,000 mutations) and do bounded work per call.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOfflineOperation } from '../../packages/server/src/replay/ports.js';
import { createKyselyOfflineOperationStore } from '../../packages/server/src/store/kysely-offline-operation-store.js';
import { openStore } from '../../packages/server/src/store/index.js';
import {
  startUpstreamServer,
  type UpstreamServer,
} from '../../packages/server/src/testing/upstream-server.js';
import { call, type Answer } from '../seeds/seed-http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const PUSHES = 3;
const ADMIN_CALLS = 3;
let server: ServerProcess;
let upstream: UpstreamServer;

beforeAll(async () => {
  upstream = await startUpstreamServer();
  server = await startServer({
    env: {
      SYNCLINE_PUSH_LIMIT: `${PUSHES}/5m`,
      SYNCLINE_ADMIN_LIMIT: `${ADMIN_CALLS}/5m`,
      SYNCLINE_UPSTREAM_ALLOW: '127.0.0.1',
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

const api = (method: string, path: string, token: string, body?: unknown) =>
  call(method, `${server.url}${path}`, token, body);
const fresh = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

function expectRateLimited(res: Answer) {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe('RATE_LIMITED');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
}

const asset = (entityId: string, operation = 'CREATE') => ({
  entityType: 'asset',
  entityId,
  operation,
  payload: { name: entityId },
  clientVersion: 1,
  timestamp: new Date().toISOString(),
});

describe('the push budget covers every route that writes', () => {
  it('once it is spent, seed 001’s queue and process answer 429 and nothing lands', async () => {
    const tenant = fresh('clinic');
    const nurse = server.token('nurse', tenant);
    const queued = await api('POST', '/api/v1/sync/queue', nurse, {
      deviceId: 'tablet-1',
      operation: 'CREATE',
      resourceType: 'encounter',
      resourceId: 'enc-1',
      data: { patientId: 'p-1', diagnosis: 'Common cold' },
      createdAtClient: new Date().toISOString(),
    });
    expect(queued.status).toBe(201);
    for (let i = 1; i < PUSHES; i++) {
      const push = await api('POST', '/api/sync', nurse, {
        deviceId: 'tablet-1',
        changes: [asset(`a-${i}`)],
      });
      expect(push.status).toBe(200);
    }

    expectRateLimited(await api('POST', `/api/v1/sync/process/${queued.body.id}`, nurse));
    expectRateLimited(
      await api('POST', '/api/v1/sync/queue', nurse, {
        deviceId: 'tablet-1',
        operation: 'CREATE',
        resourceType: 'encounter',
        resourceId: 'enc-2',
        data: { patientId: 'p-1' },
        createdAtClient: new Date().toISOString(),
      }),
    );
    expectRateLimited(
      await api('POST', '/api/sync', nurse, { deviceId: 'tablet-1', changes: [asset('late')] }),
    );
    expectRateLimited(
      await api('POST', '/api/attendance/sync', nurse, {
        records: [
          {
            facilityId: 'f1',
            deviceId: 'tablet-1',
            clockIn: new Date().toISOString(),
            clientTimestamp: new Date().toISOString(),
          },
        ],
      }),
    );
    // Pulls have their own budget.
    expect((await api('POST', '/api/sync/delta', nurse, { deviceId: 'tablet-1' })).status).toBe(
      200,
    );
    // Nothing of the refused requests landed: the queued encounter was never applied.
    const admin = server.token('boss', tenant, 'admin');
    const history = await api('GET', '/api/sync/entities/encounter/enc-1/history', admin);
    expect(history.status).toBe(404);
    const pending = await api('GET', '/api/v1/sync/pending?deviceId=tablet-1', nurse);
    expect(pending.body.map((item: { status: string }) => item.status)).toEqual(['PENDING']);
  });
});

describe('queue retry spends the admin budget and re-runs at most 100 mutations a call', () => {
  it('walks 130 FAILED mutations in two calls of one round, then answers 429', async () => {
    const tenant = fresh('shop');
    const clerk = server.token('clerk', tenant);
    // Updates of assets that do not exist yet: each waits in the queue as FAILED.
    const failing = Array.from({ length: 130 }, (_, i) => asset(`missing-${i}`, 'UPDATE'));
    const pushed = await api('POST', '/api/sync', clerk, { deviceId: 'till', changes: failing });
    expect(pushed.body.results.every((r: { status: string }) => r.status === 'REJECTED')).toBe(
      true,
    );

    const first = await api('POST', '/api/sync/queue/retry', clerk, {});
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ retried: 100, remaining: 30, hasMore: true });
    const second = await api('POST', '/api/sync/queue/retry', clerk, {
      startedAt: first.body.startedAt,
    });
    expect(second.body).toMatchObject({
      retried: 30,
      remaining: 0,
      hasMore: false,
      startedAt: first.body.startedAt,
    });
    // A new round starts with those tried least recently: the first call's hundred.
    const third = await api('POST', '/api/v1/sync/retry?deviceId=till', clerk);
    expect(third.body).toMatchObject({ retried: 100, remaining: 30, hasMore: true });
    const firstIds = new Set(first.body.results.map((r: { mutationId: string }) => r.mutationId));
    expect(third.body.results.every((r: { id: string }) => firstIds.has(r.id))).toBe(true);

    // Both retry routes spent the one admin budget.
    expectRateLimited(await api('POST', '/api/sync/queue/retry', clerk, {}));
    expectRateLimited(await api('POST', '/api/v1/sync/retry', clerk));
    // Another user of the tenant has a budget of their own.
    const other = server.token('clerk-2', tenant);
    expect((await api('POST', '/api/sync/queue/retry', other, {})).body).toMatchObject({
      retried: 0,
      remaining: 0,
      hasMore: false,
    });
  });
});

describe('cache invalidation spends the admin budget and runs once a minute per tenant', () => {
  it('a second invalidation within the minute answers 429 with Retry-After, for every admin', async () => {
    const tenant = fresh('depot');
    const boss = server.token('boss', tenant, 'admin');
    const deputy = server.token('deputy', tenant, 'admin');
    expect((await api('POST', '/api/sync/cache/invalidate', boss, {})).body).toEqual({ epoch: 1 });
    const again = await api('POST', '/api/sync/cache/invalidate', deputy, {});
    expectRateLimited(again);
    expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(again.body.error.message).toMatch(/invalidated at .*; retry in \d+ s/);
    // Another tenant's cache is its own.
    const elsewhere = server.token('boss', fresh('depot'), 'admin');
    expect((await api('POST', '/api/sync/cache/invalidate', elsewhere, {})).status).toBe(200);

    // The budget: the boss has spent one; two more admin calls, then even a retry is refused.
    await api('POST', '/api/sync/cache/invalidate', boss, {});
    await api('POST', '/api/sync/queue/retry', boss, {});
    const spent = await api('POST', '/api/sync/queue/retry', boss, {});
    expectRateLimited(spent);
    expect(spent.body.error.message).toMatch(/^Rate limit exceeded/);
  });
});

describe('seed 003’s sync, retry and cleanup are bounded and spend the admin budget', () => {
  it('sync sends at most 50 operations a call and says how many are left', async () => {
    const tenant = fresh('kiosk');
    const owner = server.token('owner', tenant, 'admin');
    const cashier = server.token('cashier', tenant);
    const config = await api('PATCH', '/api/offline/config', owner, {
      upstream_base_url: `${upstream.url}/${tenant}`,
    });
    expect(config.status).toBe(200);
    for (let i = 0; i < 55; i++) {
      const queued = await api('POST', '/api/offline/queue', cashier, {
        operation_type: 'sale',
        operation_id: `sale-${i}`,
        endpoint: '/api/sales',
        method: 'POST',
        request_body: { total: i },
      });
      expect(queued.status).toBe(202);
    }
    const first = await api('POST', '/api/offline/sync', cashier, {});
    expect(first.body).toMatchObject({ success: 50, total: 50, remaining: 5, hasMore: true });
    const second = await api('POST', '/api/offline/sync', cashier, {});
    expect(second.body).toMatchObject({ success: 5, total: 5, remaining: 0, hasMore: false });
    expect(upstream.requestsTo(`/${tenant}/api/sales`)).toHaveLength(55);
    const retry = await api('POST', '/api/offline/retry', cashier, {});
    expect(retry.body).toMatchObject({ retried: 0, remaining: 0, hasMore: false });
    expectRateLimited(await api('POST', '/api/offline/sync', cashier, {}));
    expectRateLimited(await api('POST', '/api/offline/retry', cashier, {}));
  });

  it('cleanup deletes at most 5,000 operations a call, in short transactions', async () => {
    const tenant = fresh('market');
    const owner = server.token('owner', tenant, 'admin');
    // 5,100 operations synced long ago, written straight into the server's database.
    const store = await openStore({ dataDir: server.dataDir, migrate: false });
    try {
      const old = '2020-01-01T00:00:00.000Z';
      await createKyselyOfflineOperationStore(store)
        .forTenant(tenant)
        .transact(async (tx) => {
          for (let i = 0; i < 5100; i++) await tx.insertOperation(syncedOperation(i, old));
        });
    } finally {
      await store.close();
    }
    const first = await api('DELETE', '/api/offline/cleanup?olderThanDays=7', owner);
    expect(first.body).toEqual({ deleted: 5000, olderThanDays: 7, hasMore: true });
    const second = await api('DELETE', '/api/offline/cleanup?olderThanDays=7', owner);
    expect(second.body).toEqual({ deleted: 100, olderThanDays: 7, hasMore: false });
    await api('DELETE', '/api/offline/cleanup?olderThanDays=7', owner);
    expectRateLimited(await api('DELETE', '/api/offline/cleanup?olderThanDays=7', owner));
  });
});

function syncedOperation(i: number, at: string): NewOfflineOperation {
  return {
    userId: 'cashier',
    deviceId: 'till-1',
    operationType: 'sale',
    operationId: `old-${i}`,
    idempotencyKey: `old-key-${i}`,
    endpoint: '/api/sales',
    method: 'POST',
    requestBody: { total: i },
    status: 'synced',
    syncAttempts: 1,
    attemptLimit: 4,
    statusCode: 201,
    serverResponse: null,
    serverId: null,
    conflictType: null,
    conflictData: null,
    resolutionStrategy: null,
    resolvedBy: null,
    resolvedAt: null,
    overwriteKey: null,
    errorCategory: null,
    errorMessage: null,
    networkType: null,
    nextAttemptAt: null,
    claimedAt: null,
    lastAttemptAt: at,
    syncedAt: at,
    failedAt: null,
    createdAt: at,
    updatedAt: at,
  };
}
