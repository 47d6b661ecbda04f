// The hot path on SQLite: better-sqlite3 statements prepared once per database and run directly.
// SQLite runs in process, so a prepared single-row statement run N times costs what one N-row
// statement would; the lookups take their keys as one JSON array (json_each), one statement for
// any batch size. Only called inside a transaction, which holds Kysely's only connection.
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

/** The part of a better-sqlite3 statement the hot path uses. */
export interface SqliteStatement {
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

const insertSql = (table: string, columns: readonly string[]) =>
  `insert into ${table} (tenant, ${columns.join(', ')}) values (${placeholders(columns.length + 1)})`;

const statements = {
  getMutations: `select ${mutationColumns.join(', ')} from mutations where tenant = ? and device_id = ? and kind = 'change' and mutation_id in (select value from json_each(?))`,
  // The keys drive the loop, each one a primary-key lookup.
  getEntities: `select ${entityColumns.map((c) => `e.${c}`).join(', ')} from json_each(?) as k cross join entities as e on e.tenant = ? and e.entity_type = json_extract(k.value, '$[0]') and e.entity_id = json_extract(k.value, '$[1]')`,
  advanceSeq: 'update tenants set seq = seq + ? where tenant = ? returning seq',
  maxArrival: 'select max(arrival) as arrival from mutations where tenant = ?',
  insertHistory: insertSql('entity_history', historyColumns),
  upsertEntity: `${insertSql('entities', entityColumns)} on conflict (tenant, entity_type, entity_id) do update set ${entityUpdateColumns.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  insertMutation: insertSql('mutations', mutationColumns),
} as const;

export function createSqliteHotPath(prepare: (sql: string) => SqliteStatement): HotPath {
  const prepared = new Map<keyof typeof statements, SqliteStatement>();
  const statement = (name: keyof typeof statements): SqliteStatement => {
    let found = prepared.get(name);
    if (!found) {
      found = prepare(statements[name]);
      prepared.set(name, found);
    }
    return found;
  };

  return {
    async getMutations(tenant, deviceId, mutationIds) {
      if (mutationIds.length === 0) return [];
      const rows = statement('getMutations').all(tenant, deviceId, JSON.stringify(mutationIds));
      return rows as Row[];
    },
    async getEntities(tenant, keys) {
      if (keys.length === 0) return [];
      const list = JSON.stringify(keys.map((k) => [k.entityType, k.entityId]));
      return statement('getEntities').all(list, tenant) as Row[];
    },
    async advanceSeq(tenant, count) {
      const [row] = statement('advanceSeq').all(count, tenant) as Array<{ seq: number }>;
      if (!row) throw new Error(`no tenant row for ${tenant}`);
      return Number(row.seq);
    },
    async maxArrival(tenant) {
      const [row] = statement('maxArrival').all(tenant) as Array<{ arrival: number | null }>;
      return Number(row?.arrival ?? 0);
    },
    async insertHistory(tenant, records, json = new WeakMap<object, string>()) {
      const insert = statement('insertHistory');
      for (const record of records) insert.run(tenant, ...historyValues(record, json));
    },
    async upsertEntities(tenant, records, json = new WeakMap<object, string>()) {
      const upsert = statement('upsertEntity');
      for (const record of records) upsert.run(tenant, ...entityValues(record, json));
    },
    async insertMutations(tenant, records, firstArrival, json = new WeakMap<object, string>()) {
      const insert = statement('insertMutation');
      let arrival = firstArrival;
      for (const record of records) insert.run(tenant, ...mutationValues(record, arrival++, json));
    },
  };
}
