// The one tenant-transaction rule on PostgreSQL: offline operations wait in the tenant's queue in
// this process, behind the tenant's sync writes, instead of each holding a pooled connection
// while it waits on the tenant row's lock; so a busy business cannot starve another of the pool.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { pgSkipReason, testPgUrl } from '../testing/env.js';
import { createKyselyOfflineOperationStore } from './kysely-offline-operation-store.js';
import { createPostgresSyncStore, dropPostgresSchema } from './postgres/postgres-sync-store.js';

const schema = `syncline_tx_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'the tenant transaction on PostgreSQL' : `tenant transaction (${pgSkipReason})`,
  () => {
    afterAll(() => dropPostgresSchema(testPgUrl ?? '', schema));

    it('offline operations queue behind sync writes without taking the pool', async () => {
      const store = await createPostgresSyncStore({ url: testPgUrl ?? '', max: 2, schema });
      try {
        const offline = createKyselyOfflineOperationStore(store).forTenant('busy');
        const order: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let holding!: () => void;
        const held = new Promise<void>((resolve) => (holding = resolve));
        const sync = store.forTenant('busy').transact(async (tx) => {
          await tx.getTenantState();
          holding();
          await gate;
          order.push('sync');
        });
        await held;
        const queued = [1, 2, 3].map((i) =>
          offline.transact(async (tx) => {
            await tx.getConfig();
            order.push(`offline-${i}`);
          }),
        );
        // One connection is the sync write's; had the offline writers taken the other one to
        // wait on the row lock, this read of another business would wait for the gate.
        expect(await store.forTenant('quiet').getTenantState()).toEqual({ seq: 0, epoch: 0 });
        expect(order).toEqual([]);
        release();
        await Promise.all([sync, ...queued]);
        expect(order).toEqual(['sync', 'offline-1', 'offline-2', 'offline-3']);
      } finally {
        await store.close();
      }
    });

    it('pruning takes the same lock: it waits for the sync write and sees its commit', async () => {
      const store = await createPostgresSyncStore({ url: testPgUrl ?? '', max: 4, schema });
      try {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let holding!: () => void;
        const held = new Promise<void>((resolve) => (holding = resolve));
        const sync = store.forTenant('pruned').transact(async (tx) => {
          holding();
          await gate;
          const at = new Date().toISOString();
          await tx.appendHistory({
            entityType: 'note',
            entityId: 'n-1',
            version: 1,
            operation: 'CREATE',
            payload: { text: 'hello' },
            checksum: null,
            createdBy: 'u1',
            updatedBy: 'u1',
            deviceId: 'd1',
            mutationId: 'm-1',
            updatedAt: at,
            deletedAt: null,
            committedAt: at,
          });
        });
        await held;
        const seen = store.inTenantTransaction(
          'pruned',
          { createTenant: false },
          async (_c, t) => t,
        );
        release();
        await sync;
        expect(await seen).toEqual({ seq: 1, epoch: 0, prunedSeq: 0 });
      } finally {
        await store.close();
      }
    });
  },
);
