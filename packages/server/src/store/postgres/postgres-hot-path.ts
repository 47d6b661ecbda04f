// The hot path on PostgreSQL: each statement has a fixed text whatever the batch size, a batch's
// keys travelling as one array per column (`unnest`) and its writes as one JSON text per table in
// one statement, so a batch is a handful of round trips; the pool runs these texts as named
// statements, parsed and planned once per connection.
import { CompiledQuery, type Kysely } from 'kysely';
import {
  entityColumns,
  entityUpdateColumns,
  entityValues,
  historyColumns,
  historyValues,
  mutationColumns,
  mutationValues,
  type HotPath,
  type Row,
} from '../hot-path.js';
import type { Database } from '../schema.js';

const historyTypes: Record<(typeof historyColumns)[number], string> = {
  seq: 'int8',
  entity_type: 'text',
  entity_id: 'text',
  version: 'int4',
  operation: 'text',
  payload: 'text',
  checksum: 'text',
  created_by: 'text',
  updated_by: 'text',
  device_id: 'text',
  mutation_id: 'text',
  updated_at: 'text',
  deleted_at: 'text',
  committed_at: 'text',
};

const entityTypes: Record<(typeof entityColumns)[number], string> = {
  entity_type: 'text',
  entity_id: 'text',
  version: 'int4',
  payload: 'text',
  checksum: 'text',
  created_by: 'text',
  updated_by: 'text',
  device_id: 'text',
  updated_at: 'text',
  deleted_at: 'text',
  seq: 'int8',
};

const mutationTypes: Record<(typeof mutationColumns)[number], string> = {
  device_id: 'text',
  mutation_id: 'text',
  user_id: 'text',
  entity_type: 'text',
  entity_id: 'text',
  operation: 'text',
  payload: 'text',
  client_version: 'int4',
  client_timestamp: 'text',
  status: 'text',
  attempts: 'int4',
  result: 'text',
  error: 'text',
  conflict_id: 'text',
  conflict_strategy: 'text',
  arrival: 'int8',
  created_at: 'text',
  updated_at: 'text',
};

/** `insert into t (tenant, a, b) select $1, * from unnest($2::int8[], $3::text[])`. */
function insertUnnest(table: string, columns: readonly string[], types: Record<string, string>) {
  const arrays = columns.map((c, i) => `$${i + 2}::${types[c]}[]`).join(', ');
  return `insert into ${table} (tenant, ${columns.join(', ')}) select $1, * from unnest(${arrays})`;
}

const upsertEntitiesTail = `on conflict (tenant, entity_type, entity_id) do update set ${entityUpdateColumns.map((c) => `${c} = excluded.${c}`).join(', ')}`;

/** The mutation columns a batch sends; `arrival` is numbered by the statement itself. */
const sentMutationColumns = mutationColumns.filter((c) => c !== 'arrival');

/** `json_to_recordset($3::json) as r(seq int8, entity_type text, …)`. */
function recordset(param: number, columns: readonly string[], types: Record<string, string>) {
  const defs = columns.map((c) => `${c} ${types[c]}`).join(', ');
  return `json_to_recordset($${param}::json) as r(${defs})`;
}

/**
 * One push batch's writes as one statement (data-modifying CTEs): the counter advanced by the
 * history's length ($2), the history rows, the entity upserts, and the mutations numbered on from
 * the tenant's highest arrival (`n` is each one's place in the batch). Answers the counter and
 * the last arrival. Every CTE sees the snapshot from before the statement, so the arrival base is
 * the one the inserts continue.
 *
 * The rows travel as JSON (one text per table, read in one pass) rather than an array per column:
 * pg escapes every element of a text array in JavaScript, about 6–25 ms of a 1,000-change push
 * with its garbage, where JSON.stringify does the same natively in a third of that.
 */
function writeBatchStatement(): string {
  const history = historyColumns.join(', ');
  const entity = entityColumns.join(', ');
  const sent = sentMutationColumns.join(', ');
  return [
    'with bump as (update tenants set seq = seq + $2 where tenant = $1 returning seq),',
    `history as (insert into entity_history (tenant, ${history})`,
    `select $1, ${history} from ${recordset(3, historyColumns, historyTypes)}),`,
    `entity as (insert into entities (tenant, ${entity})`,
    `select $1, ${entity} from ${recordset(4, entityColumns, entityTypes)} ${upsertEntitiesTail}),`,
    'base as (select coalesce(max(arrival), 0) as arrival from mutations where tenant = $1),',
    `mutation as (insert into mutations (tenant, ${sent}, arrival)`,
    `select $1, ${sentMutationColumns.map((c) => `r.${c}`).join(', ')}, base.arrival + r.n`,
    `from base, ${recordset(5, [...sentMutationColumns, 'n'], { ...mutationTypes, n: 'int8' })}`,
    'returning arrival)',
    'select (select seq from bump) as seq, (select max(arrival) from mutation) as arrival',
  ].join(' ');
}

/** Rows of values as the JSON text of objects keyed by `columns` (what json_to_recordset reads). */
function recordsetJson(columns: readonly string[], rows: readonly unknown[][]): string {
  return JSON.stringify(
    rows.map((row) => {
      const record: Record<string, unknown> = {};
      for (let c = 0; c < columns.length; c++) record[columns[c] as string] = row[c];
      return record;
    }),
  );
}

// Named columns, never `*`: a prepared `select *` fails ("cached plan must not change result
// type") on a connection that outlives a migration adding a column, as in a rolling deploy.
export const postgresHotStatements = {
  // A join on the keys, as getEntities does, rather than `mutation_id = any($3)`: for a 250-key
  // array the planner's custom plans of the `any` form scanned the tenant's mutations (a seq scan
  // at 6,000 rows), which made this lookup take about four times as long on a 1,000-change push.
  //
  // And one lookup per key (lateral, `limit 1` on a unique key, which the planner cannot fold into
  // a join): the plain join's generic plan, with the (tenant, device) estimate of a table not yet
  // analyzed, hashed all of the device's mutations, a cost that grew with every push.
  getMutations: `select ${mutationColumns.map((c) => `m.${c}`).join(', ')} from unnest($3::text[]) as k(mutation_id) cross join lateral (select * from mutations where tenant = $1 and device_id = $2 and kind = 'change' and mutation_id = k.mutation_id limit 1) m`,
  getEntities: `select ${entityColumns.map((c) => `e.${c}`).join(', ')} from unnest($2::text[], $3::text[]) as k(entity_type, entity_id) join entities e on e.tenant = $1 and e.entity_type = k.entity_type and e.entity_id = k.entity_id`,
  advanceSeq: 'update tenants set seq = seq + $1 where tenant = $2 returning seq',
  maxArrival: 'select max(arrival) as arrival from mutations where tenant = $1',
  insertHistory: insertUnnest('entity_history', historyColumns, historyTypes),
  upsertEntities: `${insertUnnest('entities', entityColumns, entityTypes)} ${upsertEntitiesTail}`,
  insertMutations: insertUnnest('mutations', mutationColumns, mutationTypes),
  writeBatch: writeBatchStatement(),
} as const;

/** Statement text → name, for the pool to run them as named (prepared) statements. */
export const postgresHotStatementNames: ReadonlyMap<string, string> = new Map(
  Object.entries(postgresHotStatements).map(([name, text]) => [text, `syncline_${name}`]),
);

/** One array per column from rows of values (the shape `unnest` takes). */
function columnsOf(rows: readonly unknown[][], width: number): unknown[][] {
  const out = Array.from({ length: width }, () => new Array<unknown>(rows.length));
  rows.forEach((row, r) => {
    for (let c = 0; c < width; c++) (out[c] as unknown[])[r] = row[c];
  });
  return out;
}

const arrivalIndex = mutationColumns.indexOf('arrival');

export function createPostgresHotPath(conn: Kysely<Database>): HotPath {
  const query = async (text: string, params: unknown[]): Promise<Row[]> =>
    (await conn.executeQuery<Row>(CompiledQuery.raw(text, params))).rows;
  const s = postgresHotStatements;

  return {
    async getMutations(tenant, deviceId, mutationIds) {
      if (mutationIds.length === 0) return [];
      // Distinct keys: a join answers a key once per time it is asked, `any` once.
      return query(s.getMutations, [tenant, deviceId, [...new Set(mutationIds)]]);
    },
    async getEntities(tenant, keys) {
      if (keys.length === 0) return [];
      return query(s.getEntities, [
        tenant,
        keys.map((k) => k.entityType),
        keys.map((k) => k.entityId),
      ]);
    },
    async advanceSeq(tenant, count) {
      const [row] = await query(s.advanceSeq, [count, tenant]);
      if (!row) throw new Error(`no tenant row for ${tenant}`);
      return Number(row.seq);
    },
    async maxArrival(tenant) {
      const [row] = await query(s.maxArrival, [tenant]);
      return Number(row?.arrival ?? 0);
    },
    async insertHistory(tenant, records, json = new WeakMap<object, string>()) {
      if (records.length === 0) return;
      const rows = records.map((r) => historyValues(r, json));
      await query(s.insertHistory, [tenant, ...columnsOf(rows, historyColumns.length)]);
    },
    async upsertEntities(tenant, records, json = new WeakMap<object, string>()) {
      if (records.length === 0) return;
      const rows = records.map((r) => entityValues(r, json));
      await query(s.upsertEntities, [tenant, ...columnsOf(rows, entityColumns.length)]);
    },
    async insertMutations(tenant, records, firstArrival, json = new WeakMap<object, string>()) {
      if (records.length === 0) return;
      const rows = records.map((r, i) => mutationValues(r, firstArrival + i, json));
      await query(s.insertMutations, [tenant, ...columnsOf(rows, mutationColumns.length)]);
    },
    async writeBatch(tenant, { history, entities, mutations }, json) {
      const historyRows = history.map((r) => historyValues(r, json));
      const entityRows = entities.map((r) => entityValues(r, json));
      // In the arrival's place, the mutation's place in the batch (the statement numbers them).
      const mutationRows = mutations.map((r, i) => {
        const values = mutationValues(r, 0, json);
        values.splice(arrivalIndex, 1);
        values.push(i + 1);
        return values;
      });
      const [row] = await query(s.writeBatch, [
        tenant,
        history.length,
        recordsetJson(historyColumns, historyRows),
        recordsetJson(entityColumns, entityRows),
        recordsetJson([...sentMutationColumns, 'n'], mutationRows),
      ]);
      if (row?.seq === null || row?.seq === undefined)
        throw new Error(`no tenant row for ${tenant}`);
      const arrival = row.arrival;
      return {
        seq: Number(row.seq),
        lastArrival: arrival === null || arrival === undefined ? undefined : Number(arrival),
      };
    },
  };
}
