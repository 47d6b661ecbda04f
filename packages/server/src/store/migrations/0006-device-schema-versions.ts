// Each device keeps the local schema versions its app last sent in Syncline-Schema-Version
// (`assets=1,visits=3`), for the dashboard's device listing. Null until a device sends them.
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../schema.js';

export function deviceSchemaVersionsMigration(dialect: StoreDialect): Migration {
  const text = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('devices').addColumn('schema_versions', text).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('devices').dropColumn('schema_versions').execute();
    },
  };
}
