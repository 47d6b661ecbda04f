// The replay of offline operations against a real HTTP upstream on 127.0.0.1, on a real store,
// with the engine's clock under the test's control: backoff, attempt limits, claims that go
// stale, per-device order, concurrent replayers and what a scheduled job sees as due. Each store
// adapter's test file is one call.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../engine/actor.js';
import { SyncError } from '../engine/errors.js';
import { nodeCrypto } from '../http/node-crypto.js';
import { createOfflineReplay } from '../jobs/offline-replay.js';
import { replayDueOperations, type OfflineReplay } from '../jobs/request-replay.js';
import type { KyselySyncStore } from '../store/index.js';
import { startUpstreamServer, type UpstreamServer } from './upstream-server.js';

export interface SuiteStore {
  store: KyselySyncStore;
  /** Closes the store and removes what it made (a temp dir, a PostgreSQL schema). */
  dispose(): Promise<void>;
}

export function runOfflineReplaySuite(name: string, open: () => Promise<SuiteStore>): void {
  describe(name, () => {
    let opened: SuiteStore;
    let store: KyselySyncStore;
    let upstream: UpstreamServer;
    let time = Date.parse('2024-02-03T18:00:00.000Z');
    const clock = { now: () => new Date(time) };
    let replay: OfflineReplay;
    let tenantCounter = 0;
    let tenant: string;
    let admin: Actor;
    let user: Actor;

    beforeAll(async () => {
      opened = await open();
      store = opened.store;
      upstream = await startUpstreamServer();
      replay = createOfflineReplay({
        store,
        crypto: nodeCrypto,
        clock,
        timeoutMs: 500,
        upstreamAllow: ['127.0.0.1'],
      });
    });
    afterAll(async () => {
      await upstream.close();
      await opened.dispose();
    });

    beforeEach(async () => {
      tenant = `biz-${++tenantCounter}`;
      admin = { tenant, userId: 'owner', role: 'admin', claims: {} };
      user = { tenant, userId: 'cashier', role: 'user', claims: {} };
      await replay.operations.updateConfig(admin, {
        upstream_base_url: `${upstream.url}/${tenant}`,
      });
    });
    afterEach(async () => {
      // Each test's business leaves the stage: its leftovers are never due in the next test.
      await replay.operations.updateConfig(admin, { auto_sync_enabled: false });
      time += 3_600_000;
    });

    const queueSale = (deviceId = 'till-1', operationId = `sale_${Math.random()}`) =>
      replay.operations.queue(user, {
        deviceId,
        networkType: '3g',
        operationType: 'sale',
        operationId,
        endpoint: '/api/sales',
        method: 'POST',
        requestBody: { total: 120, currency: 'KES' },
      });

    const runDue = () => replayDueOperations(replay, { limit: 1000 });

    describe('automatic replay', () => {
      it('retries 5xx with backoff until the upstream answers, with one Idempotency-Key', async () => {
        const path = `/${tenant}/api/sales`;
        upstream.script(path, [{ status: 500 }, { status: 502 }]);
        const { operation } = await queueSale();

        expect((await runDue()).retrying).toBe(1);
        let op = await replay.operations.get(admin, operation.id);
        expect(op).toMatchObject({ status: 'pending', syncAttempts: 1, statusCode: 500 });
        expect(op.nextAttemptAt).toBe(new Date(time + 2_000).toISOString());

        // Not due yet: nothing is sent.
        expect((await runDue()).total).toBe(0);
        time += 2_000;
        await runDue();
        op = await replay.operations.get(admin, operation.id);
        expect(op).toMatchObject({ status: 'pending', syncAttempts: 2 });
        expect(op.nextAttemptAt).toBe(new Date(time + 4_000).toISOString());

        time += 4_000;
        expect((await runDue()).success).toBe(1);
        op = await replay.operations.get(admin, operation.id);
        expect(op).toMatchObject({ status: 'synced', syncAttempts: 3, statusCode: 201 });
        expect(op.serverId).toMatch(/^srv-/);

        const sent = upstream.requestsTo(path);
        expect(sent).toHaveLength(3);
        expect(new Set(sent.map((r) => r.headers['idempotency-key'])).size).toBe(1);
        expect(sent[0]?.headers['idempotency-key']).toBe(operation.idempotencyKey);
        const history = await replay.operations.history(admin, operation.id);
        expect(history.map((h) => h.status)).toEqual(['success', 'retry', 'retry']);
        expect(history.map((h) => h.attempt)).toEqual([3, 2, 1]);
      });

      it('gives up at max_retry_attempts and keeps the last error', async () => {
        await replay.operations.updateConfig(admin, { max_retry_attempts: 1 });
        upstream.script(`/${tenant}/api/sales`, [
          { status: 500 },
          { status: 503, body: { message: 'down' } },
        ]);
        const { operation } = await queueSale();
        await runDue();
        time += 2_000;
        await runDue();
        const op = await replay.operations.get(admin, operation.id);
        expect(op).toMatchObject({
          status: 'failed',
          syncAttempts: 2,
          errorCategory: 'SERVER_ERROR',
          errorMessage: 'HTTP 503: down',
        });
        time += 3_600_000;
        expect((await runDue()).total).toBe(0);
      });

      it('treats a dropped connection and a timeout as network failures to retry', async () => {
        upstream.script(`/${tenant}/api/sales`, [{ drop: true }, { hang: true }]);
        const { operation } = await queueSale();
        await runDue();
        let op = await replay.operations.get(admin, operation.id);
        expect(op).toMatchObject({ status: 'pending', errorCategory: 'NETWORK' });
        time += 2_000;
        await runDue();
        op = await replay.operations.get(admin, operation.id);
        expect(op).toMatchObject({ status: 'pending', errorCategory: 'TIMEOUT' });
      });

      it('waits for Retry-After on 429', async () => {
        upstream.script(`/${tenant}/api/sales`, [
          { status: 429, headers: { 'retry-after': '120' } },
        ]);
        const { operation } = await queueSale();
        await runDue();
        const op = await replay.operations.get(admin, operation.id);
        expect(op.nextAttemptAt).toBe(new Date(time + 120_000).toISOString());
      });

      it("holds a device's later operations while an earlier one waits for a retry", async () => {
        upstream.script(`/${tenant}/api/sales`, [{ status: 500 }]);
        const first = await queueSale('till-A');
        const second = await queueSale('till-A');
        const other = await queueSale('till-B');
        const run = await runDue();
        expect(run).toMatchObject({ retrying: 1, success: 1, deferred: 1 });
        expect((await replay.operations.get(admin, first.operation.id)).status).toBe('pending');
        expect(await replay.operations.get(admin, second.operation.id)).toMatchObject({
          status: 'pending',
          syncAttempts: 0,
        });
        expect((await replay.operations.get(admin, other.operation.id)).status).toBe('synced');
      });

      it('takes over a claim whose replayer stopped; the late answer is ignored', async () => {
        const { operation } = await queueSale();
        const [stuck] = await replay.operations.claim(admin, { kind: 'one', id: operation.id });
        expect(stuck).toBeDefined();
        expect((await runDue()).total).toBe(0);
        time += 6 * 60_000;
        expect((await runDue()).success).toBe(1);
        const late = await replay.operations.recordAttempt(
          tenant,
          stuck!,
          { kind: 'response', status: 500, body: null, durationMs: 1 },
          {},
        );
        expect(late).toBeUndefined();
        expect((await replay.operations.get(admin, operation.id)).status).toBe('synced');
      });

      it('leaves a business alone while auto_sync_enabled is off', async () => {
        await replay.operations.updateConfig(admin, { auto_sync_enabled: false });
        const { operation } = await queueSale();
        expect((await runDue()).total).toBe(0);
        expect((await replay.operations.get(admin, operation.id)).status).toBe('pending');
      });
    });

    describe('upstream policy', () => {
      it('an operator allow-list refuses other hosts, at config time and at send time', async () => {
        const strict = createOfflineReplay({
          store,
          crypto: nodeCrypto,
          clock,
          upstreamAllow: ['api.payme.example'],
        });
        const refused = strict.operations.updateConfig(admin, { upstream_base_url: upstream.url });
        await expect(refused).rejects.toMatchObject({ code: 'UPSTREAM_NOT_ALLOWED' });
        // The URL stored earlier (before the operator listed hosts) is refused when sending.
        const { operation } = await queueSale();
        const run = await strict.replayer.replay(admin, { kind: 'one', id: operation.id });
        expect(run.failed).toBe(1);
        expect(await strict.operations.get(admin, operation.id)).toMatchObject({
          status: 'failed',
          errorCategory: 'POLICY',
        });
      });

      it('a sync with no upstream configured is refused and leaves the operation pending', async () => {
        await replay.operations.updateConfig(admin, { upstream_base_url: null });
        const { operation } = await queueSale();
        await expect(replay.replayer.replay(user, { kind: 'pending' })).rejects.toBeInstanceOf(
          SyncError,
        );
        expect((await replay.operations.get(admin, operation.id)).status).toBe('pending');
        expect((await runDue()).total).toBe(0);
      });
    });

    describe('concurrency', () => {
      it('two replayers at once send each operation once', async () => {
        const ids = [];
        for (let i = 0; i < 8; i++) ids.push((await queueSale(`till-${i}`)).operation.id);
        const second = createOfflineReplay({
          store,
          crypto: nodeCrypto,
          clock,
          timeoutMs: 500,
          upstreamAllow: ['127.0.0.1'],
        });
        const runs = await Promise.all([runDue(), replayDueOperations(second, { limit: 1000 })]);
        expect(runs[0].success + runs[1].success).toBe(8);
        const sent = upstream.requestsTo(`/${tenant}/api/sales`);
        expect(sent).toHaveLength(8);
        for (const id of ids) {
          expect((await replay.operations.get(admin, id)).syncAttempts).toBe(1);
        }
      });

      it('a claim that went stale while earlier operations were sent is sent only by its new owner', async () => {
        const { operation } = await queueSale('till-slow');
        const [mine] = await replay.operations.claim(admin, { kind: 'one', id: operation.id });
        expect(mine).toBeDefined();
        // Past the lease: another replayer's scheduled run takes it over and sends it.
        time += 6 * 60_000;
        const second = createOfflineReplay({
          store,
          crypto: nodeCrypto,
          clock,
          timeoutMs: 500,
          upstreamAllow: ['127.0.0.1'],
        });
        expect((await replayDueOperations(second, { limit: 1000 })).success).toBe(1);
        // The first replayer, reaching it at last, finds its claim gone and does not send.
        expect(await replay.operations.renew(tenant, mine!)).toBeUndefined();
        expect(upstream.requestsTo(`/${tenant}/api/sales`)).toHaveLength(1);
        expect((await replay.operations.get(admin, operation.id)).syncAttempts).toBe(1);
      });

      it('queueing at once never passes max_queue_size', async () => {
        await replay.operations.updateConfig(admin, { max_queue_size: 5 });
        const attempts = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => queueSale('till-rush', `rush-${i}`)),
        );
        expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(5);
        for (const refused of attempts.filter((a) => a.status === 'rejected')) {
          expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'QUEUE_FULL' });
        }
      });
    });
  });
}
