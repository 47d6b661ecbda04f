// Migration 0008 on a database that already holds entities and mutations: every row and every
// reader's answer stays the same, the indexes it drops are gone. Each store's test is one call.
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { storeMigrations } from '../store/migrations/index.js';
import { migratorOf, type UnmigratedStore } from './unmigrated-store.js';

const entity = (tenant: string, i: number) => ({
  tenant,
  entity_type: 'task',
  entity_id: `e-${i}`,
  version: 1,
  payload: JSON.stringify({ title: `task ${i}`, n: i }),
  checksum: `c-${i}`,
  created_by: 'u1',
  updated_by: 'u1',
  device_id: 'd1',
  updated_at: '2024-02-03T18:00:00.000Z',
  deleted_at: i % 3 === 0 ? '2024-02-03T18:00:00.000Z' : null,
  seq: i,
});

const mutation = (tenant: string, i: number) => ({
  tenant,
  device_id: 'd1',
  mutation_id: `m-${i}`,
  user_id: i % 2 === 0 ? 'u1' : 'u2',
  entity_type: 'task',
  entity_id: `e-${i}`,
  operation: 'CREATE',
  payload: JSON.stringify({ title: `task ${i}` }),
  client_version: 1,
  client_timestamp: '2024-02-03T17:00:00.000Z',
  status: i % 4 === 0 ? 'FAILED' : 'SYNCED',
  attempts: 1,
  result: JSON.stringify({ status: 'APPLIED', version: 1 }),
  error: null,
  conflict_id: null,
  conflict_strategy: null,
  arrival: i,
  created_at: '2024-02-03T18:00:00.000Z',
  updated_at: `2024-02-03T18:00:${String(i % 60).padStart(2, '0')}.000Z`,
});

export function runLeanWriteSetMigrationSuite(name: string, open: () => Promise<UnmigratedStore>) {
  describe(name, () => {
    it('keeps every entity and mutation, and every reader answers as before', async () => {
      const opened = await open();
      const { store, dispose } = opened;
      try {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tables before 0008
        const db = store.db as unknown as Kysely<any>;
        const names = Object.keys(storeMigrations(store.dialect)).sort();
        const previous = names[names.indexOf('0008_lean_write_set') - 1] as string;
        const to = migratorOf(opened);
        await to(previous);

        const rows = Array.from({ length: 40 }, (_, i) => i + 1);
        await db
          .insertInto('tenants')
          .values({ tenant: 't1', seq: 40, epoch: 0, created_at: '2024-02-03T18:00:00.000Z' })
          .execute();
        await db
          .insertInto('entities')
          .values(rows.map((i) => entity('t1', i)))
          .execute();
        await db
          .insertInto('mutations')
          .values(rows.map((i) => mutation('t1', i)))
          .execute();
        const tenant = store.forTenant('t1');
        // The columns written here: later migrations may add more (0009 adds the kind).
        const mutationColumns = Object.keys(mutation('t1', 1));
        const read = async () => ({
          entities: await db.selectFrom('entities').selectAll().orderBy('entity_id').execute(),
          mutations: await db
            .selectFrom('mutations')
            .select(mutationColumns)
            .orderBy('arrival')
            .execute(),
          snapshot: await tenant.readEntities({ maxSeq: 40, limit: 100 }),
        });
        const before = await read();

        await to('latest');
        expect(await read()).toEqual(before);
        // The mutation readers need the latest schema: their answers are checked against the rows.
        const ids = (found: { mutationId: string }[]) => found.map((m) => m.mutationId);
        const failed = await tenant.listMutations({ statuses: ['FAILED'] });
        expect(ids(failed)).toEqual(rows.filter((i) => i % 4 === 0).map((i) => `m-${i}`));
        expect(await tenant.countMutations({ userId: 'u1' })).toEqual({
          PENDING: 0,
          SYNCING: 0,
          SYNCED: 10,
          CONFLICT: 0,
          FAILED: 10,
        });
        const oldest = await tenant.listMutations({ order: 'leastRecentlyUpdated', limit: 5 });
        expect(ids(oldest)).toEqual(['m-1', 'm-2', 'm-3', 'm-4', 'm-5']);
        expect(failed[0]).toEqual({
          deviceId: 'd1',
          mutationId: 'm-4',
          userId: 'u1',
          entityType: 'task',
          entityId: 'e-4',
          operation: 'CREATE',
          payload: { title: 'task 4' },
          clientVersion: 1,
          clientTimestamp: '2024-02-03T17:00:00.000Z',
          status: 'FAILED',
          attempts: 1,
          result: { status: 'APPLIED', version: 1 },
          error: null,
          conflictId: null,
          conflictStrategy: null,
          createdAt: '2024-02-03T18:00:00.000Z',
          updatedAt: '2024-02-03T18:00:04.000Z',
        });

        const indexes = await sql<{ name: string }>`${sql.raw(
          store.dialect === 'sqlite'
            ? "select name from sqlite_master where type = 'index' and tbl_name = 'mutations'"
            : "select indexname as name from pg_indexes where tablename = 'mutations' and schemaname = current_schema()",
        )}`.execute(db);
        const names8 = indexes.rows.map((r) => r.name);
        expect(names8).not.toContain('mutations_user_idx');
        expect(names8).not.toContain('mutations_status_idx');
        expect(names8).toContain('mutations_status_updated_idx');
        expect(names8).toContain('mutations_user_status_idx');

        // The tables take writes as before.
        await tenant.transact(async (tx) => {
          const seq = await tx.reserveSeqs(1);
          await tx.putEntities([
            {
              entityType: 'task',
              entityId: 'e-1',
              version: 2,
              payload: { title: 'again' },
              checksum: 'c',
              createdBy: 'u1',
              updatedBy: 'u1',
              deviceId: 'd1',
              updatedAt: '2024-02-04T00:00:00.000Z',
              deletedAt: null,
              seq,
            },
          ]);
        });
        expect((await tenant.getEntity('task', 'e-1'))?.payload).toEqual({ title: 'again' });
      } finally {
        await dispose();
      }
    });
  });
}
