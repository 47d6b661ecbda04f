// A leaner write set for the push path: fewer B-trees touched per change, data kept as it is.
// - mutations_user_idx (tenant, user_id, created_at) had no reader of its own: every per-user
//   query filters on user_id and status (mutations_user_status_idx) or orders by arrival.
// - mutations_status_idx (tenant, status, arrival) duplicated mutations_status_updated_idx
//   (tenant, status, updated_at) for its leading columns: queue reads by status use that one
//   and order what they find (a queue that is not SYNCED is small).
// - SQLite: `entities` becomes a WITHOUT ROWID table, so its primary key is the table itself
//   rather than an index beside a rowid table: one B-tree per write instead of two.
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../schema.js';
import { rebuildSqliteTable, withoutRowid } from './sqlite-rebuild.js';

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
        for (const table of clusteredTables)
          await rebuildSqliteTable(db, table, withoutRowid(true));
      }
    },
    async down(db: Kysely<unknown>) {
      if (dialect === 'sqlite') {
        for (const table of clusteredTables) {
          await rebuildSqliteTable(db, table, withoutRowid(false));
        }
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
