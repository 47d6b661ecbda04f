// Per device, the highest outbox sequence whose mutation (and every one below it) reached a stored
// outcome. Checked and raised in the change's own transaction, it stands in for mutation records
// the prune job removed: a replay at or below it never applies twice.
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../schema.js';

export function deviceMutationMarksMigration(dialect: StoreDialect): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql`text collate "C"` : sql`text`;
  const int8 = pg ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      let table = db.schema
        .createTable('device_mutation_marks')
        .addColumn('tenant', text, (c) => c.notNull())
        .addColumn('device_id', text, (c) => c.notNull())
        .addColumn('last_seq', int8, (c) => c.notNull())
        .addColumn('updated_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('device_mutation_marks_pk', ['tenant', 'device_id']);
      if (!pg) table = table.modifyEnd(sql`without rowid`);
      await table.execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('device_mutation_marks').execute();
    },
  };
}
