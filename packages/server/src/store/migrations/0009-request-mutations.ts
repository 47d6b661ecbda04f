// Seed 003's queued requests become mutations of kind `request`, beside the sync engine's changes
// (kind `change`) in the one idempotency record. What a request shares with a change is stored in
// the change's columns (the device's operation id as mutation_id, the operation type as
// entity_type, the body as payload, the upstream answer as result, the canonical statuses, the
// tenant's arrival order); what is seed 003's own goes into `request` (JSON), except the queue id
// and the two times the replay scans by. `kind` is part of the key, so a request and a change may
// carry the same id from one device. Every new index is partial (`kind = 'request'`): change rows,
// written on the push path, pay for none of them. offline_operations goes; offline_sync_history
// and offline_counters stay, their queue ids now naming request mutations.
import { sql, type CreateTableBuilder, type Kysely, type Migration, type RawBuilder } from 'kysely';
import type { StoreDialect } from '../schema.js';
import { rebuildSqliteTable } from './sqlite-rebuild.js';

const changeKey = '("tenant", "device_id", "mutation_id")';
const kindKey = '("tenant", "device_id", "kind", "mutation_id")';

/** Seed 003's fields kept in `request`, by their offline_operations column; JSON ones marked. */
const requestFields = [
  ['idempotency_key', 'text'],
  ['endpoint', 'text'],
  ['method', 'text'],
  ['attempt_limit', 'int'],
  ['status_code', 'int'],
  ['server_id', 'text'],
  ['conflict_type', 'text'],
  ['conflict_data', 'json'],
  ['resolution_strategy', 'text'],
  ['overwrite_key', 'text'],
  ['resolved_at', 'text'],
  ['resolved_by', 'text'],
  ['error_category', 'text'],
  ['error_message', 'text'],
  ['network_type', 'text'],
  ['last_attempt_at', 'text'],
  ['synced_at', 'text'],
  ['failed_at', 'text'],
] as const;

const requestIndexes = [
  // The device's queue id (GET /api/offline/history/:id and every lookup by id).
  ['mutations_request_queue_uq', ['tenant', 'queue_id'], true],
  // Listings and counts by status, oldest first.
  ['mutations_request_status_idx', ['tenant', 'status', 'queue_id'], false],
  ['mutations_request_user_idx', ['tenant', 'user_id', 'status'], false],
  // The automatic replay looks across businesses for what is due.
  ['mutations_request_due_idx', ['status', 'next_attempt_at'], false],
] as const;

export function requestMutationsMigration(dialect: StoreDialect): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql`text collate "C"` : sql`text`;
  const int8 = pg ? 'bigint' : 'integer';
  const newColumns = [
    ['queue_id', int8],
    ['next_attempt_at', text],
    ['claimed_at', text],
    ['request', text],
  ] as const;

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('mutations')
        .addColumn('kind', text, (c) => c.notNull().defaultTo('change'))
        .execute();
      for (const [name, type] of newColumns) {
        await db.schema.alterTable('mutations').addColumn(name, type).execute();
      }
      await setKey(db, pg, changeKey, kindKey);
      for (const [name, columns, unique] of requestIndexes) {
        let index = db.schema
          .createIndex(name)
          .on('mutations')
          .columns([...columns])
          .where(sql.ref('kind'), '=', sql.lit('request'));
        if (unique) index = index.unique();
        await index.execute();
      }

      // Each business's requests take arrivals after its changes, in queue order.
      const fields = requestFields.flatMap(([name, type]) => [
        sql.lit(name),
        type !== 'json'
          ? sql.ref(`o.${name}`)
          : pg
            ? sql`${sql.ref(`o.${name}`)}::json`
            : sql`json(${sql.ref(`o.${name}`)})`,
      ]);
      const request = pg
        ? sql`json_build_object(${sql.join(fields)})::text`
        : sql`json_object(${sql.join(fields)})`;
      await sql`
        insert into mutations (tenant, device_id, kind, mutation_id, user_id, entity_type,
          entity_id, operation, payload, client_version, client_timestamp, status, attempts,
          result, arrival, created_at, updated_at, queue_id, next_attempt_at, claimed_at, request)
        select o.tenant, o.device_id, 'request', o.operation_id, o.user_id, o.operation_type,
          o.operation_id, ${operationOf(sql.ref('o.method'))}, o.request_body, 0, o.created_at,
          upper(o.status), o.sync_attempts, o.server_response,
          coalesce(b.arrival, 0) + row_number() over (partition by o.tenant order by o.id),
          o.created_at, o.updated_at, o.id, o.next_attempt_at, o.claimed_at, ${request}
        from offline_operations o
        left join (select tenant, max(arrival) as arrival from mutations group by tenant) b
          on b.tenant = o.tenant`.execute(db);
      await db.schema.dropTable('offline_operations').execute();
    },

    async down(db: Kysely<unknown>) {
      await createOfflineOperations(db, pg, text);
      const field = (name: string, type: 'text' | 'int' | 'json') => {
        if (type === 'json') {
          return pg
            ? sql`nullif((m.request::json -> ${sql.lit(name)})::text, 'null')`
            : sql`nullif(m.request -> ${sql.lit(`$.${name}`)}, 'null')`;
        }
        if (!pg) return sql`json_extract(m.request, ${sql.lit(`$.${name}`)})`;
        const value = sql`(m.request::json ->> ${sql.lit(name)})`;
        return type === 'int' ? sql`${value}::int` : value;
      };
      const names = requestFields.map(([name]) => sql.ref(name));
      const values = requestFields.map(([name, type]) => field(name, type));
      await sql`
        insert into offline_operations (tenant, id, user_id, device_id, operation_type,
          operation_id, request_body, status, sync_attempts, server_response, next_attempt_at,
          claimed_at, created_at, updated_at, ${sql.join(names)})
        select m.tenant, m.queue_id, m.user_id, m.device_id, m.entity_type, m.mutation_id,
          m.payload, lower(m.status), m.attempts, m.result, m.next_attempt_at, m.claimed_at,
          m.created_at, m.updated_at, ${sql.join(values)}
        from mutations m where m.kind = 'request'`.execute(db);
      await sql`delete from mutations where kind = 'request'`.execute(db);

      for (const [name] of requestIndexes) await db.schema.dropIndex(name).execute();
      await setKey(db, pg, kindKey, changeKey);
      for (const name of [...newColumns.map(([n]) => n), 'kind']) {
        await db.schema.alterTable('mutations').dropColumn(name).execute();
      }
    },
  };
}

/** Swaps the mutations primary key's columns (SQLite: by rebuilding the table). */
async function setKey(db: Kysely<unknown>, pg: boolean, from: string, to: string) {
  if (pg) {
    await sql
      .raw(
        `alter table mutations drop constraint mutations_pk, add constraint mutations_pk primary key ${to}`,
      )
      .execute(db);
    return;
  }
  await rebuildSqliteTable(db, 'mutations', (definition) => {
    const edited = definition.replace(`primary key ${from}`, `primary key ${to}`);
    if (edited === definition) throw new Error(`mutations has no primary key ${from}`);
    return edited;
  });
}

/** The canonical operation a request's HTTP method stands for. */
function operationOf(method: RawBuilder<unknown> | ReturnType<typeof sql.ref>) {
  return sql`case ${method} when 'POST' then 'CREATE' when 'DELETE' then 'DELETE' else 'UPDATE' end`;
}

/** offline_operations as 0003 and 0005 left it: keyed by (tenant, id), ids from the counters. */
async function createOfflineOperations(
  db: Kysely<unknown>,
  pg: boolean,
  text: RawBuilder<unknown>,
) {
  const columns: [string, RawBuilder<unknown> | 'integer' | 'bigint', boolean][] = [
    ['id', pg ? 'bigint' : 'integer', true],
    ['tenant', text, true],
    ['user_id', text, true],
    ['device_id', text, true],
    ['operation_type', text, true],
    ['operation_id', text, true],
    ['idempotency_key', text, true],
    ['endpoint', text, true],
    ['method', text, true],
    ['request_body', text, false],
    ['status', text, true],
    ['sync_attempts', 'integer', true],
    ['attempt_limit', 'integer', true],
    ['status_code', 'integer', false],
    ['server_response', text, false],
    ['server_id', text, false],
    ['conflict_type', text, false],
    ['conflict_data', text, false],
    ['resolution_strategy', text, false],
    ['error_category', text, false],
    ['error_message', text, false],
    ['network_type', text, false],
    ['next_attempt_at', text, false],
    ['claimed_at', text, false],
    ['last_attempt_at', text, false],
    ['synced_at', text, false],
    ['failed_at', text, false],
    ['created_at', text, true],
    ['updated_at', text, true],
    ['overwrite_key', text, false],
    ['resolved_at', text, false],
    ['resolved_by', text, false],
  ];
  let table: CreateTableBuilder<string, string> = db.schema.createTable('offline_operations');
  for (const [name, type, notNull] of columns) {
    table = table.addColumn(name, type, (c) => (notNull ? c.notNull() : c));
  }
  await table.addPrimaryKeyConstraint('offline_operations_pk', ['tenant', 'id']).execute();
  const indexes = [
    ['offline_operations_key_uq', ['tenant', 'device_id', 'operation_id'], true],
    ['offline_operations_status_idx', ['tenant', 'status', 'id'], false],
    ['offline_operations_user_idx', ['tenant', 'user_id', 'status'], false],
    ['offline_operations_due_idx', ['status', 'next_attempt_at'], false],
  ] as const;
  for (const [name, cols, unique] of indexes) {
    let index = db.schema
      .createIndex(name)
      .on('offline_operations')
      .columns([...cols]);
    if (unique) index = index.unique();
    await index.execute();
  }
}
