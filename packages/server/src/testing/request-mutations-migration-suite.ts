// Migration 0009 on a database that already holds seed 003's operations and the engine's changes:
// every operation becomes a request mutation with each field, queue id, history link and status
// kept, arrivals continue each tenant's, changes stay as they were, and down() gives back the old
// table row for row. Each store's test is one call.
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createKyselyOfflineOperationStore } from '../store/kysely-offline-operation-store.js';
import type { OfflineOperationRecord } from '../replay/ports.js';
import { migratorOf, type UnmigratedStore } from './unmigrated-store.js';

const at = (minute: number) => `2024-02-03T18:${String(minute).padStart(2, '0')}:00.000Z`;

/** An offline_operations row as 0005 left the table; every nullable column filled in `extra`. */
const op = (tenant: string, id: number, extra: Record<string, unknown> = {}) => ({
  tenant,
  id,
  user_id: 'cashier',
  device_id: 'till-1',
  operation_type: 'sale',
  operation_id: `sale-${id}`,
  idempotency_key: `key-${tenant}-${id}`,
  endpoint: '/api/sales',
  method: 'POST',
  request_body: '{"total":1,"lines":[{"sku":"é-1","qty":2}]}',
  status: 'pending',
  sync_attempts: 0,
  attempt_limit: 4,
  status_code: null,
  server_response: null,
  server_id: null,
  conflict_type: null,
  conflict_data: null,
  resolution_strategy: null,
  overwrite_key: null,
  resolved_at: null,
  resolved_by: null,
  error_category: null,
  error_message: null,
  network_type: null,
  next_attempt_at: at(id),
  claimed_at: null,
  last_attempt_at: null,
  synced_at: null,
  failed_at: null,
  created_at: at(id),
  updated_at: at(id),
  ...extra,
});

type OpRow = ReturnType<typeof op>;

const json = new Set(['request_body', 'server_response', 'conflict_data']);

/** What the port should answer for a row: its fields under their record names, JSON parsed. */
function recordOf(row: OpRow): OfflineOperationRecord {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (column === 'tenant') continue;
    const key = column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    record[key] = json.has(column) && typeof value === 'string' ? JSON.parse(value) : value;
  }
  return record as unknown as OfflineOperationRecord;
}

const change = (tenant: string, i: number) => ({
  tenant,
  device_id: 'till-1',
  // The same ids as the device's operations: another key space.
  mutation_id: `sale-${i}`,
  user_id: 'cashier',
  entity_type: 'product',
  entity_id: `p-${i}`,
  operation: 'UPDATE',
  payload: '{"price":3}',
  client_version: 2,
  client_timestamp: at(0),
  status: 'SYNCED',
  attempts: 1,
  result: '{"status":"APPLIED","version":3}',
  error: null,
  conflict_id: null,
  conflict_strategy: null,
  arrival: i,
  created_at: at(0),
  updated_at: at(0),
});

export function runRequestMutationsMigrationSuite(
  name: string,
  open: () => Promise<UnmigratedStore>,
) {
  describe(name, () => {
    it('moves every operation into mutations with all its fields, and down() moves them back', async () => {
      const opened = await open();
      const { store, dispose } = opened;
      try {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tables before 0009
        const db = store.db as unknown as Kysely<any>;
        const to = migratorOf(opened);
        await to('0008_lean_write_set');

        const operations = [
          // Synced, every field set; its conflict data holds nested JSON in its own key order.
          op('shop-a', 1, {
            status: 'synced',
            sync_attempts: 2,
            attempt_limit: 6,
            status_code: 201,
            server_response: '{"id":"srv-9","data":{"z":1,"a":[true,null]}}',
            server_id: 'srv-9',
            conflict_type: 'VERSION_MISMATCH',
            conflict_data: '{"zeta":"last","alpha":{"n":-1.5e-7}}',
            resolution_strategy: 'client_wins',
            overwrite_key: 'key-shop-a-1.client_wins.1',
            resolved_at: at(30),
            resolved_by: 'owner',
            error_category: 'CONFLICT',
            error_message: 'was: "version" 3',
            network_type: 'wifi',
            next_attempt_at: null,
            claimed_at: at(31),
            last_attempt_at: at(32),
            synced_at: at(33),
            failed_at: at(29),
            method: 'PUT',
          }),
          op('shop-a', 3, { request_body: null, method: 'DELETE', endpoint: '/api/sales/7' }),
          // Another business's id 1, waiting on a person; its conflict data is a JSON string.
          op('shop-b', 1, {
            status: 'conflict',
            sync_attempts: 1,
            conflict_type: 'MANUAL',
            conflict_data: '"refused by the till"',
            next_attempt_at: null,
          }),
          op('shop-b', 2, { status: 'syncing', claimed_at: at(5) }),
          op('shop-b', 4, { status: 'failed', error_category: 'CLIENT_ERROR', failed_at: at(9) }),
        ];
        await db.insertInto('offline_operations').values(operations).execute();
        await db
          .insertInto('offline_sync_history')
          .values(
            [
              { id: 1, queue_id: 1, attempt: 1, status: 'conflict', status_code: 409 },
              { id: 2, queue_id: 1, attempt: 2, status: 'success', status_code: 201 },
            ].map((h) => ({
              tenant: 'shop-a',
              user_id: 'cashier',
              device_id: 'till-1',
              duration_ms: 12,
              network_type: 'wifi',
              error_category: null,
              error_message: null,
              created_at: at(40),
              ...h,
            })),
          )
          .execute();
        await db
          .insertInto('offline_counters')
          .values([
            { tenant: 'shop-a', last_queue_id: 3, last_history_id: 2 },
            { tenant: 'shop-b', last_queue_id: 4, last_history_id: 0 },
          ])
          .execute();
        // shop-a's changes took arrivals 1 and 2; shop-b has none.
        const changes = [change('shop-a', 1), change('shop-a', 2)];
        await db.insertInto('mutations').values(changes).execute();
        const oldRows = () =>
          db.selectFrom('offline_operations').selectAll().orderBy('tenant').orderBy('id').execute();
        const before = await oldRows();

        await to('0009_request_mutations');
        expect(await tableNames(store.dialect, db)).not.toContain('offline_operations');

        const offline = createKyselyOfflineOperationStore(store);
        for (const row of operations) {
          const found = await offline.forTenant(row.tenant).getOperation(row.id);
          expect(found).toEqual(recordOf(row));
        }
        const a = offline.forTenant('shop-a');
        const b = offline.forTenant('shop-b');
        expect((await a.listHistory({ queueId: 1 })).map((h) => h.id)).toEqual([2, 1]);
        expect(await b.countByStatus({})).toEqual({
          pending: 0,
          syncing: 1,
          synced: 0,
          conflict: 1,
          failed: 1,
        });
        expect(await a.lastSyncedAt({})).toBe(at(33));
        // The stale claim and the due pending one, across businesses, oldest first.
        expect(await offline.findDue(at(10), at(6), 10)).toEqual([
          { tenant: 'shop-b', id: 2 },
          { tenant: 'shop-a', id: 3 },
        ]);

        // Stored as mutations: canonical statuses, arrivals after each tenant's changes.
        const stored = await db
          .selectFrom('mutations')
          .select(['tenant', 'kind', 'mutation_id', 'status', 'arrival', 'queue_id', 'operation'])
          .orderBy('tenant')
          .orderBy('arrival')
          .execute();
        expect(
          stored.map((m) => ({
            ...m,
            arrival: Number(m.arrival),
            queue_id: m.queue_id === null ? null : Number(m.queue_id),
          })),
        ).toEqual([
          {
            tenant: 'shop-a',
            kind: 'change',
            mutation_id: 'sale-1',
            status: 'SYNCED',
            arrival: 1,
            queue_id: null,
            operation: 'UPDATE',
          },
          {
            tenant: 'shop-a',
            kind: 'change',
            mutation_id: 'sale-2',
            status: 'SYNCED',
            arrival: 2,
            queue_id: null,
            operation: 'UPDATE',
          },
          {
            tenant: 'shop-a',
            kind: 'request',
            mutation_id: 'sale-1',
            status: 'SYNCED',
            arrival: 3,
            queue_id: 1,
            operation: 'UPDATE',
          },
          {
            tenant: 'shop-a',
            kind: 'request',
            mutation_id: 'sale-3',
            status: 'PENDING',
            arrival: 4,
            queue_id: 3,
            operation: 'DELETE',
          },
          {
            tenant: 'shop-b',
            kind: 'request',
            mutation_id: 'sale-1',
            status: 'CONFLICT',
            arrival: 1,
            queue_id: 1,
            operation: 'CREATE',
          },
          {
            tenant: 'shop-b',
            kind: 'request',
            mutation_id: 'sale-2',
            status: 'SYNCING',
            arrival: 2,
            queue_id: 2,
            operation: 'CREATE',
          },
          {
            tenant: 'shop-b',
            kind: 'request',
            mutation_id: 'sale-4',
            status: 'FAILED',
            arrival: 3,
            queue_id: 4,
            operation: 'CREATE',
          },
        ]);
        // The change with the request's id is still the engine's.
        const kept = await store.forTenant('shop-a').getMutation('till-1', 'sale-1');
        expect(kept).toMatchObject({ entityId: 'p-1', status: 'SYNCED', clientVersion: 2 });

        // A new operation takes the business's next queue id and the tenant's next arrival.
        const added = op('shop-a', 4, { operation_id: 'sale-new' });
        const { id: _id, ...fresh } = recordOf(added);
        expect(await a.transact((tx) => tx.insertOperation(fresh))).toBe(4);
        expect(await a.getOperation(4)).toEqual(recordOf(added));

        await to('0008_lean_write_set');
        const after = await oldRows();
        expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
        expect({ ...after[2], id: Number(after[2]?.id) }).toEqual(added);
        expect(after.slice(3)).toEqual(before.slice(2));
        // Only the changes are left, in the columns they had.
        const back = await db.selectFrom('mutations').selectAll().orderBy('arrival').execute();
        expect(back.map((m) => ({ ...m, arrival: Number(m.arrival) }))).toEqual(changes);
        // The old key is back: (tenant, device, id) without a kind.
        await expect(
          db
            .insertInto('mutations')
            .values({ ...change('shop-a', 1), arrival: 9 })
            .execute(),
        ).rejects.toThrow();

        // And up again.
        await to('0009_request_mutations');
        expect(await a.getOperation(1)).toEqual(recordOf(operations[0] as OpRow));
      } finally {
        await dispose();
      }
    });
  });
}

async function tableNames(dialect: string, db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`${sql.raw(
    dialect === 'sqlite'
      ? "select name from sqlite_master where type = 'table'"
      : 'select tablename as name from pg_tables where schemaname = current_schema()',
  )}`.execute(db);
  return rows.map((r) => r.name);
}
