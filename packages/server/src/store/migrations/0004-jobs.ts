// Background jobs' tables: per-tenant settings (retention, alert thresholds), the alerts now
// raised (so a threshold raises its alert once, not on every run), and the tenant's prune horizon
// (sync tokens from before pruned feed rows must answer `reset`).
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../schema.js';

export function jobsMigration(dialect: StoreDialect): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql`text collate "C"` : sql`text`;
  const int8 = pg ? 'bigint' : 'integer';
  const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

  return {
    async up(db: Kysely<unknown>) {
      const schema = db.schema;

      // Every feed row at or below pruned_seq may be gone: a cursor below it cannot be trusted.
      await schema
        .alterTable('tenants')
        .addColumn('pruned_seq', int8, (c) => c.notNull().defaultTo(0))
        .execute();

      // Only what an admin overrode is stored; the server-wide defaults fill in the rest.
      await schema
        .createTable('tenant_settings')
        .addColumn('tenant', text, (c) => c.primaryKey())
        .addColumn('settings', text, notNull)
        .addColumn('updated_by', text, notNull)
        .addColumn('updated_at', text, notNull)
        .execute();

      await schema
        .createTable('job_alerts')
        .addColumn('tenant', text, notNull)
        .addColumn('kind', text, notNull)
        .addColumn('subject', text, notNull)
        .addColumn('value', 'double precision', notNull)
        .addColumn('raised_at', text, notNull)
        .addPrimaryKeyConstraint('job_alerts_pk', ['tenant', 'kind', 'subject'])
        .execute();

      // Cleanup scans SYNCED mutations by age.
      await schema
        .createIndex('mutations_status_updated_idx')
        .on('mutations')
        .columns(['tenant', 'status', 'updated_at'])
        .execute();
    },

    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('mutations_status_updated_idx').ifExists().execute();
      await db.schema.dropTable('job_alerts').ifExists().execute();
      await db.schema.dropTable('tenant_settings').ifExists().execute();
      await db.schema.alterTable('tenants').dropColumn('pruned_seq').execute();
    },
  };
}
