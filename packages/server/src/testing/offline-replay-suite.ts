// The replay of offline operations against a real HTTP upstream on 127.0.0.1, on a real store,
// with the engine's clock under the test's control: backoff, attempt limits, claims that go
// stale, per-device order, concurrent replayers and what a scheduled job sees as due. Each store
// adapter's test file is one call.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../engine/actor.js';
import type { HostResolver } from '../replay/ports.js';
import { SyncError } from '../engine/errors.js';
import { nodeCrypto } from '../http/node-crypto.js';
import { createOfflineReplay } from '../app/offline-replay.js';
import { replayDueOperations, type OfflineReplay } from '../replay/replayer.js';
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

      it('a DNS answer that changes after the config check is judged on the address connected to', async () => {
        // The name answers a public address when the config is saved, loopback when sending.
        const answers = ['93.184.215.14', '127.0.0.1'];
        const asked: string[] = [];
        const resolver: HostResolver = async (hostname) => {
          asked.push(hostname);
          const address = answers[Math.min(asked.length, answers.length) - 1] as string;
          return [{ address, family: 4 }];
        };
        const guarded = createOfflineReplay({ store, crypto: nodeCrypto, clock, resolver });
        const port = new URL(upstream.url).port;
        await guarded.operations.updateConfig(admin, {
          upstream_base_url: `http://rebind.test:${port}/${tenant}`,
        });
        const { operation } = await queueSale();
        const run = await guarded.replayer.replay(admin, { kind: 'one', id: operation.id });
        expect(run).toMatchObject({ failed: 1, total: 1 });
        const op = await guarded.operations.get(admin, operation.id);
        expect(op).toMatchObject({ status: 'failed', errorCategory: 'POLICY' });
        expect(op.errorMessage).toMatch(
          /^rebind\.test resolves to 127\.0\.0\.1, which is a loopback/,
        );
        // One lookup for the check, one for the connection: nothing else resolved the name.
        expect(asked).toEqual(['rebind.test', 'rebind.test']);
        expect(upstream.requestsTo(`/${tenant}/api/sales`)).toHaveLength(0);
      });

      it('refuses at config time a name that resolves into a private network', async () => {
        const resolver: HostResolver = async () => [{ address: '10.0.0.5', family: 4 }];
        const guarded = createOfflineReplay({ store, crypto: nodeCrypto, clock, resolver });
        await expect(
          guarded.operations.updateConfig(admin, { upstream_base_url: 'https://intranet.test' }),
        ).rejects.toMatchObject({
          code: 'UPSTREAM_NOT_ALLOWED',
          message: expect.stringMatching(/intranet\.test resolves to 10\.0\.0\.5/),
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

    describe('summaries', () => {
      it('count an operation that conflicted and was then overwritten once', async () => {
        await replay.operations.updateConfig(admin, { default_conflict_strategy: 'client_wins' });
        upstream.script(`/${tenant}/api/sales`, [
          { status: 409, body: { type: 'VERSION_MISMATCH' } },
        ]);
        await queueSale();
        const run = await replay.replayer.replay(user, { kind: 'pending' });
        expect(run).toMatchObject({ success: 1, conflict: 0, failed: 0, total: 1 });
        expect(run.results).toHaveLength(1);
        expect(upstream.requestsTo(`/${tenant}/api/sales`)).toHaveLength(2);
      });
    });

    describe('conflicts settled by a person', () => {
      const conflicted = async (
        body: unknown = { type: 'VERSION_MISMATCH', current: { total: 90 } },
      ) => {
        await replay.operations.updateConfig(admin, { default_conflict_strategy: 'manual' });
        upstream.script(`/${tenant}/api/sales`, [{ status: 409, body }]);
        const { operation } = await queueSale();
        await replay.replayer.replay(admin, { kind: 'one', id: operation.id });
        const op = await replay.operations.get(admin, operation.id);
        expect(op.status).toBe('conflict');
        return op;
      };

      it('server_wins: the API copy stands and the operation is settled, nothing sent', async () => {
        const op = await conflicted({ type: 'VERSION_MISMATCH', id: 'srv-kept' });
        const settled = await replay.operations.resolve(admin, op.id, { strategy: 'server_wins' });
        expect(settled).toMatchObject({
          status: 'synced',
          resolutionStrategy: 'server_wins',
          resolvedBy: 'owner',
          serverId: 'srv-kept',
          conflictType: 'VERSION_MISMATCH',
        });
        expect(await replay.operations.get(admin, op.id)).toEqual(settled);
        expect(upstream.requestsTo(`/${tenant}/api/sales`)).toHaveLength(1);
        await expect(
          replay.operations.resolve(admin, op.id, { strategy: 'client_wins' }),
        ).rejects.toMatchObject({ code: 'CONFLICT_ALREADY_RESOLVED' });
      });

      it('client_wins: an overwrite under a key of its own for each decision', async () => {
        const op = await conflicted();
        const path = `/${tenant}/api/sales`;
        upstream.script(path, [{ status: 409, body: { type: 'DELETED' } }]);
        const first = await replay.operations.resolve(admin, op.id, { strategy: 'client_wins' });
        expect(first).toMatchObject({
          status: 'pending',
          overwriteKey: `${op.idempotencyKey}.client_wins.1`,
        });
        await replay.replayer.replay(admin, { kind: 'one', id: op.id });
        // Refused again: it waits for a person once more, who overwrites again.
        expect(await replay.operations.get(admin, op.id)).toMatchObject({
          status: 'conflict',
          conflictType: 'DELETED',
          resolutionStrategy: 'manual',
        });
        await replay.operations.resolve(admin, op.id, { strategy: 'client_wins' });
        const run = await replay.replayer.replay(admin, { kind: 'one', id: op.id });
        expect(run).toMatchObject({ success: 1, total: 1 });
        const sent = upstream.requestsTo(path);
        expect(sent.map((r) => r.headers['idempotency-key'])).toEqual([
          op.idempotencyKey,
          `${op.idempotencyKey}.client_wins.1`,
          `${op.idempotencyKey}.client_wins.2`,
        ]);
        expect(sent[2]?.headers['x-conflict-resolution']).toBe('client_wins');
        expect(await replay.operations.get(admin, op.id)).toMatchObject({
          status: 'synced',
          resolutionStrategy: 'client_wins',
          syncAttempts: 3,
        });
      });

      it("merge: the version a person combined is sent; the device's request is kept in the audit", async () => {
        const op = await conflicted();
        const merged = { total: 120, currency: 'KES', discount: 30 };
        await replay.operations.resolve(admin, op.id, { strategy: 'merge', requestBody: merged });
        await replay.replayer.replay(admin, { kind: 'one', id: op.id });
        const [, overwrite] = upstream.requestsTo(`/${tenant}/api/sales`);
        expect(overwrite?.body).toEqual(merged);
        expect(overwrite?.headers).toMatchObject({
          'x-conflict-resolution': 'merge',
          'idempotency-key': `${op.idempotencyKey}.merge.1`,
        });
        expect(await replay.operations.get(admin, op.id)).toMatchObject({
          status: 'synced',
          resolutionStrategy: 'merge',
          requestBody: merged,
        });
        const audit = await store.db
          .selectFrom('audit_log')
          .select(['action', 'details'])
          .where('tenant', '=', tenant)
          .where('action', '=', 'offline.resolve')
          .execute();
        expect(audit.map((row) => JSON.parse(row.details as string))).toEqual([
          expect.objectContaining({
            queueId: op.id,
            strategy: 'merge',
            replacedRequestBody: { total: 120, currency: 'KES' },
          }),
        ]);
      });

      it('refuses what cannot be settled, and changes nothing', async () => {
        const { operation: pending } = await queueSale();
        await expect(
          replay.operations.resolve(admin, pending.id, { strategy: 'server_wins' }),
        ).rejects.toMatchObject({ code: 'INVALID_OPERATION' });
        const op = await conflicted();
        await expect(
          replay.operations.resolve(user, op.id, { strategy: 'server_wins' }),
        ).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
        await expect(
          replay.operations.resolve(admin, op.id, { strategy: 'merge' }),
        ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        const other: Actor = { ...admin, tenant: `${tenant}-other` };
        await expect(
          replay.operations.resolve(other, op.id, { strategy: 'server_wins' }),
        ).rejects.toMatchObject({ code: 'NOT_FOUND' });
        const dup = await conflicted({ conflict_type: 'DUPLICATE', id: 'srv-dup' });
        await expect(
          replay.operations.resolve(admin, dup.id, { strategy: 'client_wins' }),
        ).rejects.toMatchObject({ code: 'INVALID_OPERATION' });
        expect(await replay.operations.get(admin, op.id)).toEqual(op);
        expect(await replay.operations.get(admin, dup.id)).toEqual(dup);
      });

      it('refuses merge as an automatic default_conflict_strategy', async () => {
        await expect(
          replay.operations.updateConfig(admin, { default_conflict_strategy: 'merge' }),
        ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        expect((await replay.operations.getConfig(admin)).default_conflict_strategy).toBe(
          'server_wins',
        );
      });
    });

    describe('queue ids', () => {
      it("number each business's operations from 1 and never hand an id out twice", async () => {
        const second: Actor = { ...user, tenant: `${tenant}-b` };
        const a1 = await queueSale();
        const a2 = await queueSale();
        const b1 = await replay.operations.queue(second, {
          deviceId: 'till-b',
          networkType: null,
          operationType: 'sale',
          endpoint: '/api/sales',
          method: 'POST',
          requestBody: {},
        });
        expect([a1.operation.id, a2.operation.id, b1.operation.id]).toEqual([1, 2, 1]);
        await replay.replayer.replay(admin, { kind: 'pending' });
        const [history] = await replay.operations.history(admin, a2.operation.id);
        expect(history).toMatchObject({ id: 2, queueId: 2 });
        // The newest operation is cleaned up; its id is not given again (its history stays).
        time += 86_400_000;
        expect(await replay.operations.cleanup(admin, 0)).toEqual({ deleted: 2, hasMore: false });
        const a3 = await queueSale();
        expect(a3.operation.id).toBe(3);
        expect(await replay.operations.history(admin, a2.operation.id)).toHaveLength(1);
        // The same number in two businesses is two operations: each business sees its own.
        expect((await replay.operations.get(second, 1)).deviceId).toBe('till-b');
        await expect(replay.operations.get(admin, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
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
