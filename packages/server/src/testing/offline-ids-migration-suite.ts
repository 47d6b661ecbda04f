// Migration 0005 on a database that already holds seed 003's operations (two businesses sharing
// one id sequence, as before): every row keeps its id, each business numbers on from the highest
// id it ever had, merge configs become the manual they behaved as. Each store's test is one call.
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../http/node-crypto.js';
import { createOfflineReplay } from '../app/offline-replay.js';
import { migratorOf, type UnmigratedStore } from './unmigrated-store.js';

const op = (tenant: string, id: number, extra: Record<string, unknown> = {}) => ({
  tenant,
  id,
  user_id: 'cashier',
  device_id: 'till-1',
  operation_type: 'sale',
  operation_id: `sale-${tenant}-${id}`,
  idempotency_key: `key-${tenant}-${id}`,
  endpoint: '/api/sales',
  method: 'POST',
  request_body: '{"total":1}',
  status: 'pending',
  sync_attempts: 0,
  attempt_limit: 4,
  next_attempt_at: '2024-02-03T18:00:00.000Z',
  created_at: '2024-02-03T18:00:00.000Z',
  updated_at: '2024-02-03T18:00:00.000Z',
  ...extra,
});

export function runOfflineIdsMigrationSuite(name: string, open: () => Promise<UnmigratedStore>) {
  describe(name, () => {
    it('keeps existing queue ids and numbers each business on from its own highest', async () => {
      const opened = await open();
      const { store, dispose } = opened;
      try {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tables before 0005
        const db = store.db as unknown as Kysely<any>;
        await migratorOf(opened)('0004_jobs');

        // One sequence for both businesses: shop-a had 1, 3 and 4 (4 synced and cleaned up,
        // its history kept), shop-b had 2, in conflict waiting for its client_wins overwrite.
        await db
          .insertInto('offline_operations')
          .values([
            op('shop-a', 1),
            op('shop-b', 2, {
              status: 'pending',
              sync_attempts: 1,
              conflict_type: 'VERSION_MISMATCH',
              resolution_strategy: 'client_wins',
            }),
            op('shop-a', 3),
          ])
          .execute();
        await db
          .insertInto('offline_sync_history')
          .values({
            tenant: 'shop-a',
            id: 7,
            queue_id: 4,
            user_id: 'cashier',
            device_id: 'till-1',
            attempt: 1,
            status: 'success',
            status_code: 201,
            duration_ms: 5,
            created_at: '2024-02-03T18:00:00.000Z',
          })
          .execute();
        await db
          .insertInto('offline_configs')
          .values({
            tenant: 'shop-b',
            config: JSON.stringify({ default_conflict_strategy: 'merge', max_queue_size: 9 }),
            updated_at: null,
            updated_by: null,
          })
          .execute();

        // 0005 first, then whatever came after it.
        expect((await store.migrate())[0]).toBe('0005_offline_queue_ids');

        const replay = createOfflineReplay({ store, crypto: nodeCrypto });
        const actor = (tenant: string) => ({
          tenant,
          userId: 'cashier',
          role: 'admin' as const,
          claims: {},
        });
        const a = actor('shop-a');
        const b = actor('shop-b');
        expect((await replay.operations.get(a, 1)).operationId).toBe('sale-shop-a-1');
        expect((await replay.operations.get(a, 3)).operationId).toBe('sale-shop-a-3');
        const waiting = await replay.operations.get(b, 2);
        expect(waiting.overwriteKey).toBe('key-shop-b-2.client_wins');
        await expect(replay.operations.get(b, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
        expect(await replay.operations.history(a, 4)).toEqual([
          expect.objectContaining({ id: 7, queueId: 4, status: 'success' }),
        ]);

        const queue = (who: typeof a) =>
          replay.operations.queue(who, {
            deviceId: 'till-2',
            networkType: null,
            operationType: 'sale',
            endpoint: '/api/sales',
            method: 'POST',
            requestBody: {},
          });
        expect((await queue(a)).operation.id).toBe(5);
        expect((await queue(b)).operation.id).toBe(3);
        expect((await queue(actor('shop-new'))).operation.id).toBe(1);

        expect(await replay.operations.getConfig(b)).toMatchObject({
          default_conflict_strategy: 'manual',
          max_queue_size: 9,
        });
        // The old ids' uniqueness now holds per business only (queue ids of request mutations
        // since 0009).
        const rows = await sql<{ n: number | string }>`
          select count(*) as n from mutations where kind = 'request' and queue_id = 1`.execute(db);
        expect(Number(rows.rows[0]?.n)).toBe(2);
      } finally {
        await dispose();
      }
    });
  });
}
