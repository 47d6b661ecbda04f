// The initial schema, one definition for both dialects. Types branch on the dialect only where
// they must: int8 on PostgreSQL, and `text COLLATE "C"` there so that text compares and sorts by
// bytes exactly as SQLite's BINARY collation does (ISO timestamps and ids order the same way).
import {
  sql,
  type ColumnDefinitionBuilder,
  type CreateTableBuilder,
  type Kysely,
  type Migration,
} from 'kysely';
import type { StoreDialect } from '../schema.js';

export function initialMigration(dialect: StoreDialect): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql`text collate "C"` : sql`text`;
  const int8 = pg ? 'bigint' : 'integer';
  const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

  return {
    async up(db: Kysely<unknown>) {
      const schema = db.schema;

      await schema
        .createTable('tenants')
        .addColumn('tenant', text, (c) => c.primaryKey())
        .addColumn('seq', int8, (c) => c.notNull().defaultTo(0))
        .addColumn('epoch', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', text, notNull)
        .execute();

      await schema
        .createTable('entities')
        .addColumn('tenant', text, notNull)
        .addColumn('entity_type', text, notNull)
        .addColumn('entity_id', text, notNull)
        .addColumn('version', 'integer', notNull)
        .addColumn('payload', text)
        .addColumn('checksum', text)
        .addColumn('created_by', text, notNull)
        .addColumn('updated_by', text, notNull)
        .addColumn('device_id', text)
        .addColumn('updated_at', text, notNull)
        .addColumn('deleted_at', text)
        .addColumn('seq', int8, notNull)
        .addPrimaryKeyConstraint('entities_pk', ['tenant', 'entity_type', 'entity_id'])
        .execute();

      // The history table is the change feed: its primary key (tenant, seq) serves feed reads.
      await schema
        .createTable('entity_history')
        .addColumn('tenant', text, notNull)
        .addColumn('seq', int8, notNull)
        .addColumn('entity_type', text, notNull)
        .addColumn('entity_id', text, notNull)
        .addColumn('version', 'integer', notNull)
        .addColumn('operation', text, notNull)
        .addColumn('payload', text)
        .addColumn('checksum', text)
        .addColumn('created_by', text, notNull)
        .addColumn('updated_by', text, notNull)
        .addColumn('device_id', text)
        .addColumn('mutation_id', text)
        .addColumn('updated_at', text, notNull)
        .addColumn('deleted_at', text)
        .addColumn('committed_at', text, notNull)
        .addPrimaryKeyConstraint('entity_history_pk', ['tenant', 'seq'])
        .addUniqueConstraint('entity_history_version_uq', [
          'tenant',
          'entity_type',
          'entity_id',
          'version',
        ])
        .execute();
      await schema
        .createIndex('entity_history_type_seq_idx')
        .on('entity_history')
        .columns(['tenant', 'entity_type', 'seq'])
        .execute();
      await schema
        .createIndex('entity_history_committed_idx')
        .on('entity_history')
        .columns(['tenant', 'committed_at', 'seq'])
        .execute();

      await schema
        .createTable('mutations')
        .addColumn('tenant', text, notNull)
        .addColumn('device_id', text, notNull)
        .addColumn('mutation_id', text, notNull)
        .addColumn('user_id', text, notNull)
        .addColumn('entity_type', text, notNull)
        .addColumn('entity_id', text, notNull)
        .addColumn('operation', text, notNull)
        .addColumn('payload', text)
        .addColumn('client_version', 'integer', notNull)
        .addColumn('client_timestamp', text, notNull)
        .addColumn('status', text, notNull)
        .addColumn('attempts', 'integer', notNull)
        .addColumn('result', text)
        .addColumn('error', text)
        .addColumn('conflict_id', text)
        .addColumn('conflict_strategy', text)
        // Arrival order within the tenant: changes of one batch share created_at, and the queue
        // must re-run them in the order the device made them.
        .addColumn('arrival', int8, notNull)
        .addColumn('created_at', text, notNull)
        .addColumn('updated_at', text, notNull)
        .addPrimaryKeyConstraint('mutations_pk', ['tenant', 'device_id', 'mutation_id'])
        .execute();
      await schema
        .createIndex('mutations_status_idx')
        .on('mutations')
        .columns(['tenant', 'status', 'arrival'])
        .execute();
      await schema
        .createIndex('mutations_user_idx')
        .on('mutations')
        .columns(['tenant', 'user_id', 'created_at'])
        .execute();
      await schema
        .createIndex('mutations_arrival_idx')
        .on('mutations')
        .columns(['tenant', 'arrival'])
        .unique()
        .execute();

      // Conflict ids are server-made UUIDs, but the tenant still leads the key so that one
      // tenant's id can never collide with, or reveal, another's (and for sharding by tenant).
      await schema
        .createTable('conflicts')
        .addColumn('tenant', text, notNull)
        .addColumn('id', text, notNull)
        .addColumn('type', text, notNull)
        .addColumn('entity_type', text, notNull)
        .addColumn('entity_id', text, notNull)
        .addColumn('mutation_id', text)
        .addColumn('device_id', text)
        .addColumn('user_id', text, notNull)
        .addColumn('client_version', 'integer', notNull)
        .addColumn('server_version', 'integer', notNull)
        .addColumn('client_data', text)
        .addColumn('server_data', text)
        .addColumn('base_data', text)
        .addColumn('suggested_resolution', text, notNull)
        .addColumn('resolution', text)
        .addColumn('status', text, notNull)
        .addColumn('overlapping_fields', text)
        .addColumn('resolved_by', text)
        .addColumn('resolved_at', text)
        .addColumn('created_at', text, notNull)
        .addPrimaryKeyConstraint('conflicts_pk', ['tenant', 'id'])
        .execute();
      await schema
        .createIndex('conflicts_status_idx')
        .on('conflicts')
        .columns(['tenant', 'status', 'created_at'])
        .execute();
      await schema
        .createIndex('conflicts_entity_idx')
        .on('conflicts')
        .columns(['tenant', 'entity_type', 'entity_id'])
        .execute();

      await schema
        .createTable('devices')
        .addColumn('tenant', text, notNull)
        .addColumn('device_id', text, notNull)
        .addColumn('user_id', text, notNull)
        .addColumn('device_name', text)
        .addColumn('platform', text)
        .addColumn('app_version', text)
        .addColumn('last_sync_at', text)
        .addColumn('sync_token', text)
        .addColumn('is_active', 'integer', notNull)
        .addColumn('created_at', text, notNull)
        .addPrimaryKeyConstraint('devices_pk', ['tenant', 'device_id'])
        .execute();
      await schema
        .createIndex('devices_user_idx')
        .on('devices')
        .columns(['tenant', 'user_id'])
        .execute();

      for (const table of ['sync_history', 'audit_log'] as const) {
        // SQLite's AUTOINCREMENT needs a single-column INTEGER PRIMARY KEY; PostgreSQL keeps
        // the tenant in the key like every other table.
        let t: CreateTableBuilder<string, string> = pg
          ? schema
              .createTable(table)
              .addColumn('id', 'bigint', (c) => c.notNull().generatedByDefaultAsIdentity())
          : schema
              .createTable(table)
              .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
        t = t.addColumn('tenant', text, notNull);
        t =
          table === 'sync_history'
            ? t
                .addColumn('user_id', text, notNull)
                .addColumn('device_id', text)
                .addColumn('route', text, notNull)
                .addColumn('pushed', 'integer', notNull)
                .addColumn('applied', 'integer', notNull)
                .addColumn('duplicates', 'integer', notNull)
                .addColumn('conflicts', 'integer', notNull)
                .addColumn('rejected', 'integer', notNull)
                .addColumn('pulled', 'integer', notNull)
                .addColumn('duration_ms', 'integer', notNull)
                .addColumn('outcome', text, notNull)
                .addColumn('network_type', text)
            : t
                .addColumn('actor', text, notNull)
                .addColumn('action', text, notNull)
                .addColumn('target', text)
                .addColumn('details', text);
        t = t.addColumn('created_at', text, notNull);
        if (pg) t = t.addPrimaryKeyConstraint(`${table}_pk`, ['tenant', 'id']);
        await t.execute();
        await schema
          .createIndex(`${table}_created_idx`)
          .on(table)
          .columns(['tenant', 'created_at', 'id'])
          .execute();
      }
      await schema
        .createIndex('sync_history_user_idx')
        .on('sync_history')
        .columns(['tenant', 'user_id', 'created_at'])
        .execute();
      await schema
        .createIndex('audit_log_action_idx')
        .on('audit_log')
        .columns(['tenant', 'action', 'created_at'])
        .execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of [
        'audit_log',
        'sync_history',
        'devices',
        'conflicts',
        'mutations',
        'entity_history',
        'entities',
        'tenants',
      ]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
