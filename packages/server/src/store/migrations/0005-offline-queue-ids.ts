// Seed 003's queue ids become per business: an id a device is given no longer counts every
// business's operations. Existing ids stay as they are (devices and audit rows hold them); each
// business's next id follows the highest it ever had, cleaned-up operations' history included.
// Also: the overwrite key and who settled a conflict, and `merge` configs written as the
// `manual` they always behaved as (merge is now a person's resolution, not an automatic one).
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../schema.js';

export function offlineQueueIdsMigration(dialect: StoreDialect): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql`text collate "C"` : sql`text`;
  const int8 = pg ? 'bigint' : 'integer';
  const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

  return {
    async up(db: Kysely<unknown>) {
      const schema = db.schema;

      await schema
        .createTable('offline_counters')
        .addColumn('tenant', text, (c) => c.primaryKey())
        .addColumn('last_queue_id', int8, notNull)
        .addColumn('last_history_id', int8, notNull)
        .execute();
      await sql`
        insert into offline_counters (tenant, last_queue_id, last_history_id)
        select tenant, max(queue_id), max(history_id) from (
          select tenant, id as queue_id, 0 as history_id from offline_operations
          union all
          select tenant, queue_id, id from offline_sync_history
        ) ids
        group by tenant`.execute(db);

      for (const column of ['overwrite_key', 'resolved_at', 'resolved_by']) {
        await schema.alterTable('offline_operations').addColumn(column, text).execute();
      }
      // Operations waiting for (or past) an automatic client_wins overwrite keep their key.
      await sql`
        update offline_operations set overwrite_key = idempotency_key || '.client_wins'
        where resolution_strategy = 'client_wins' and conflict_type is not null`.execute(db);

      await sql`
        update offline_configs
        set config = ${
          pg
            ? sql`(config::jsonb || '{"default_conflict_strategy":"manual"}'::jsonb)::text`
            : sql`json_set(config, '$.default_conflict_strategy', 'manual')`
        }
        where ${
          pg
            ? sql`config::jsonb ->> 'default_conflict_strategy'`
            : sql`json_extract(config, '$.default_conflict_strategy')`
        } = 'merge'`.execute(db);

      if (pg) {
        // The key is already (tenant, id); ids now come from offline_counters alone.
        await sql`alter table offline_operations alter column id drop identity`.execute(db);
        await sql`alter table offline_sync_history alter column id drop identity`.execute(db);
        return;
      }
      // SQLite: the ids were the rowid (unique across businesses). Each table is rebuilt keyed by
      // (tenant, id), rows copied as they are, indexes made again.
      await rebuildSqliteTable(db, 'offline_operations', [
        ['offline_operations_key_uq', ['tenant', 'device_id', 'operation_id'], true],
        ['offline_operations_status_idx', ['tenant', 'status', 'id'], false],
        ['offline_operations_user_idx', ['tenant', 'user_id', 'status'], false],
        ['offline_operations_due_idx', ['status', 'next_attempt_at'], false],
      ]);
      await rebuildSqliteTable(db, 'offline_sync_history', [
        ['offline_sync_history_queue_idx', ['tenant', 'queue_id', 'id'], false],
      ]);
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('offline_counters').ifExists().execute();
    },
  };
}

type IndexSpec = [name: string, columns: string[], unique: boolean];

/** Recreates `table` with the same columns and a (tenant, id) primary key in place of the rowid. */
async function rebuildSqliteTable(db: Kysely<unknown>, table: string, indexes: IndexSpec[]) {
  const columns = await sql<{ name: string; type: string; notnull: number }>`
    select name, type, "notnull" from pragma_table_info(${table})`.execute(db);
  if (columns.rows.length === 0) throw new Error(`no table ${table}`);
  const next = `${table}_rekeyed`;
  const definitions = columns.rows.map(
    (c) =>
      `"${c.name}" ${c.name === 'id' ? 'integer' : c.type}${c.notnull || c.name === 'id' ? ' not null' : ''}`,
  );
  await sql
    .raw(`create table "${next}" (${definitions.join(', ')}, primary key ("tenant", "id"))`)
    .execute(db);
  const names = columns.rows.map((c) => `"${c.name}"`).join(', ');
  await sql.raw(`insert into "${next}" (${names}) select ${names} from "${table}"`).execute(db);
  await db.schema.dropTable(table).execute();
  await db.schema.alterTable(next).renameTo(table).execute();
  for (const [name, cols, unique] of indexes) {
    let index = db.schema.createIndex(name).on(table).columns(cols);
    if (unique) index = index.unique();
    await index.execute();
  }
}
