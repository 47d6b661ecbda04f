// Offline operations (seed 003): queued HTTP requests that replay against a business's own API,
// one history row per attempt, and each business's offline config (JSON, seed 003's names).
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../schema.js';

export function offlineOperationsMigration(dialect: StoreDialect): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql`text collate "C"` : sql`text`;
  const notNull = (c: ColumnDefinitionBuilder) => c.notNull();

  return {
    async up(db: Kysely<unknown>) {
      const schema = db.schema;
      // SQLite's AUTOINCREMENT needs a single-column INTEGER PRIMARY KEY; PostgreSQL keeps the
      // tenant in the key like every other table (as 0001 does for sync_history).
      const withId = (table: string) =>
        pg
          ? schema
              .createTable(table)
              .addColumn('id', 'bigint', (c) => c.notNull().generatedByDefaultAsIdentity())
          : schema
              .createTable(table)
              .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

      let operations = withId('offline_operations')
        .addColumn('tenant', text, notNull)
        .addColumn('user_id', text, notNull)
        .addColumn('device_id', text, notNull)
        .addColumn('operation_type', text, notNull)
        .addColumn('operation_id', text, notNull)
        .addColumn('idempotency_key', text, notNull)
        .addColumn('endpoint', text, notNull)
        .addColumn('method', text, notNull)
        .addColumn('request_body', text)
        .addColumn('status', text, notNull)
        .addColumn('sync_attempts', 'integer', notNull)
        .addColumn('attempt_limit', 'integer', notNull)
        .addColumn('status_code', 'integer')
        .addColumn('server_response', text)
        .addColumn('server_id', text)
        .addColumn('conflict_type', text)
        .addColumn('conflict_data', text)
        .addColumn('resolution_strategy', text)
        .addColumn('error_category', text)
        .addColumn('error_message', text)
        .addColumn('network_type', text)
        .addColumn('next_attempt_at', text)
        .addColumn('claimed_at', text)
        .addColumn('last_attempt_at', text)
        .addColumn('synced_at', text)
        .addColumn('failed_at', text)
        .addColumn('created_at', text, notNull)
        .addColumn('updated_at', text, notNull);
      if (pg)
        operations = operations.addPrimaryKeyConstraint('offline_operations_pk', ['tenant', 'id']);
      await operations.execute();
      await schema
        .createIndex('offline_operations_key_uq')
        .on('offline_operations')
        .columns(['tenant', 'device_id', 'operation_id'])
        .unique()
        .execute();
      await schema
        .createIndex('offline_operations_status_idx')
        .on('offline_operations')
        .columns(['tenant', 'status', 'id'])
        .execute();
      await schema
        .createIndex('offline_operations_user_idx')
        .on('offline_operations')
        .columns(['tenant', 'user_id', 'status'])
        .execute();
      // The automatic replay looks across businesses for what is due.
      await schema
        .createIndex('offline_operations_due_idx')
        .on('offline_operations')
        .columns(['status', 'next_attempt_at'])
        .execute();

      let history = withId('offline_sync_history')
        .addColumn('tenant', text, notNull)
        .addColumn('queue_id', 'bigint', notNull)
        .addColumn('user_id', text, notNull)
        .addColumn('device_id', text)
        .addColumn('attempt', 'integer', notNull)
        .addColumn('status', text, notNull)
        .addColumn('status_code', 'integer')
        .addColumn('duration_ms', 'integer', notNull)
        .addColumn('network_type', text)
        .addColumn('error_category', text)
        .addColumn('error_message', text)
        .addColumn('created_at', text, notNull);
      if (pg)
        history = history.addPrimaryKeyConstraint('offline_sync_history_pk', ['tenant', 'id']);
      await history.execute();
      await schema
        .createIndex('offline_sync_history_queue_idx')
        .on('offline_sync_history')
        .columns(['tenant', 'queue_id', 'id'])
        .execute();

      await schema
        .createTable('offline_configs')
        .addColumn('tenant', text, (c) => c.primaryKey())
        .addColumn('config', text, notNull)
        .addColumn('updated_at', text)
        .addColumn('updated_by', text)
        .execute();
    },

    async down(db: Kysely<unknown>) {
      for (const table of ['offline_configs', 'offline_sync_history', 'offline_operations']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
