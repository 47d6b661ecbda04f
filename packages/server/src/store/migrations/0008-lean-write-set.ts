// A leaner write set for the push path: fewer B-trees touched per change, data kept as it is.
// - mutations_user_idx (tenant, user_id, created_at) had no reader of its own: every per-user
//   query filters on user_id and status (mutations_user_status_idx) or orders by arrival.
// - mutations_status_idx (tenant, status, arrival) duplicated mutations_status_updated_idx
//   (tenant, status, updated_at) for its leading columns: queue reads by status use that one
//   and order what they find (a queue that is not SYNCED is small).
// - SQLite: `entities` becomes a WITHOUT ROWID table, so its primary key is the table itself
//   rather than an index beside a rowid table: one B-tree per write instead of two.
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../schema.js';

const droppedIndexes = [
  ['mutations_user_idx', ['tenant', 'user_id', 'created_at']],
  ['mutations_status_idx', ['tenant', 'status', 'arrival']],
] as const;

/** Tables SQLite stores clustered on their primary key. */
const clusteredTables = ['entities'] as const;

export function leanWriteSetMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const [name] of droppedIndexes) await db.schema.dropIndex(name).ifExists().execute();
      if (dialect === 'sqlite') {
        for (const table of clusteredTables) await rebuildWithoutRowid(db, table, true);
      }
    },
    async down(db: Kysely<unknown>) {
      if (dialect === 'sqlite') {
        for (const table of clusteredTables) await rebuildWithoutRowid(db, table, false);
      }
      for (const [name, columns] of droppedIndexes) {
        await db.schema
          .createIndex(name)
          .ifNotExists()
          .on('mutations')
          .columns([...columns])
          .execute();
      }
    },
  };
}

/**
 * Recreates a SQLite table from its own definition with WITHOUT ROWID added (or removed), copies
 * its rows and makes its indexes again. Read from sqlite_master, so whatever columns and indexes
 * earlier migrations gave the table come through unchanged.
 */
async function rebuildWithoutRowid(db: Kysely<unknown>, table: string, clustered: boolean) {
  const { rows } = await sql<{ type: string; name: string; sql: string | null }>`
    select type, name, sql from sqlite_master where tbl_name = ${table}`.execute(db);
  const definition = rows.find((r) => r.type === 'table')?.sql;
  if (!definition) throw new Error(`no table ${table}`);
  const body = definition.replace(/\s*without\s+rowid\s*$/i, '');
  const isClustered = body !== definition;
  if (isClustered === clustered) return;
  const next = `${table}_rebuilt`;
  const create = body.replace(/^create\s+table\s+("?)[\w]+\1/i, `create table "${next}"`);
  if (create === body) throw new Error(`cannot read the definition of ${table}`);
  await sql.raw(clustered ? `${create} without rowid` : create).execute(db);
  await sql.raw(`insert into "${next}" select * from "${table}"`).execute(db);
  await sql.raw(`drop table "${table}"`).execute(db);
  await sql.raw(`alter table "${next}" rename to "${table}"`).execute(db);
  // Explicit indexes only: a primary key's or unique constraint's index (sql null) comes back
  // with the table definition.
  for (const index of rows) {
    if (index.type === 'index' && index.sql) await sql.raw(index.sql).execute(db);
  }
}
