// Indexed queries for the SQLite store. Each confirmed row's indexed values are rows of
// entity_fields (type, id, field, tag, value), indexed by (type, field, tag, value, id): a
// condition is a range of that index, the order is a walk along it. `tag` keeps the order of the
// kinds (null < booleans < numbers < strings) that IndexedDB keys and the memory store share.
// The tables are added beside the schema, idempotently, so a file of any earlier version gains
// them on open.
import type BetterSqlite3 from 'better-sqlite3';
import { indexTag } from '../../core/query.js';
import type { EntityRow, IndexValue, StorageCondition, StorageQuery } from '../../core/ports.js';

export const queryTables = `
  CREATE TABLE IF NOT EXISTS entity_fields (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    field TEXT NOT NULL,
    tag INTEGER NOT NULL,
    value ANY,
    PRIMARY KEY (type, id, field)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS entity_fields_by_value ON entity_fields (type, field, tag, value, id);
`;

/** Adds the query tables and the entities.fields column where they are missing. */
export function ensureQueryTables(db: BetterSqlite3.Database): void {
  const hasFields = () =>
    (db.pragma('table_info(entities)') as Array<{ name: string }>).some((c) => c.name === 'fields');
  const hasTable = () =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entity_fields'").get();
  if (hasFields() && hasTable()) return;
  db.transaction(() => {
    if (!hasFields()) db.exec('ALTER TABLE entities ADD COLUMN fields TEXT');
    db.exec(queryTables);
  }).immediate();
}

/** The stored form of an indexed value: booleans as 0/1 under their own tag. */
export const storedValue = (value: IndexValue): number | string | null =>
  typeof value === 'boolean' ? (value ? 1 : 0) : value;

export function indexStatements(db: BetterSqlite3.Database) {
  const insert = db.prepare(
    'INSERT INTO entity_fields (type, id, field, tag, value) VALUES (?, ?, ?, ?, ?)',
  );
  const removeOne = db.prepare('DELETE FROM entity_fields WHERE type = ? AND id = ?');
  const removeAll = db.prepare('DELETE FROM entity_fields');
  return {
    /** Adds the indexed values of one row whose old ones are gone (a tombstone has none). */
    add(row: EntityRow): void {
      if (row.deleted || !row.fields) return;
      for (const [field, value] of Object.entries(row.fields)) {
        insert.run(row.type, row.id, field, indexTag(value), storedValue(value));
      }
    },
    remove: (type: string, id: string) => removeOne.run(type, id),
    clear: () => removeAll.run(),
  };
}

function conditionSql(alias: string, condition: StorageCondition, params: unknown[]): string {
  if (condition.in) {
    if (condition.in.length === 0) return '0';
    const alternatives = condition.in.map((value) => {
      params.push(indexTag(value));
      if (value === null) return `(${alias}.tag = ?)`;
      params.push(storedValue(value));
      return `(${alias}.tag = ? AND ${alias}.value = ?)`;
    });
    return `(${alternatives.join(' OR ')})`;
  }
  const { kind, lower, upper } = condition.range;
  params.push(kind === 'number' ? 2 : 3);
  let sql = `${alias}.tag = ?`;
  if (lower) {
    sql += ` AND ${alias}.value ${lower.open ? '>' : '>='} ?`;
    params.push(lower.value);
  }
  if (upper) {
    sql += ` AND ${alias}.value ${upper.open ? '<' : '<='} ?`;
    params.push(upper.value);
  }
  return `(${sql})`;
}

/** The SELECT answering `query` over `type`, and its parameters. */
export function querySql(type: string, query: StorageQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const joins: string[] = [];
  const aliases = new Map<string, string>();
  const aliasOf = (field: string) => {
    let alias = aliases.get(field);
    if (!alias) {
      alias = `f${aliases.size}`;
      aliases.set(field, alias);
      joins.push(
        `JOIN entity_fields ${alias} ON ${alias}.type = e.type AND ${alias}.id = e.id AND ${alias}.field = ?`,
      );
      params.push(field);
    }
    return alias;
  };
  const order = query.orderBy;
  if (order) aliasOf(order.field);
  for (const condition of query.where) aliasOf(condition.field);
  // Parameters in the order of the text: the joins' fields, the type, then the conditions.
  params.push(type);
  const conditions = query.where.map((c) => conditionSql(aliasOf(c.field), c, params));
  const dir = order?.direction === 'desc' ? 'DESC' : 'ASC';
  const orderSql = order
    ? `${aliasOf(order.field)}.tag ${dir}, ${aliasOf(order.field)}.value ${dir}, e.id ${dir}`
    : `e.id ${dir}`;
  let sql =
    `SELECT e.type, e.id, e.version, e.deleted, e.body, e.fields FROM entities e ${joins.join(' ')}` +
    ` WHERE e.type = ? AND e.deleted = 0${conditions.map((c) => ` AND ${c}`).join('')}` +
    ` ORDER BY ${orderSql}`;
  if (query.limit !== undefined || query.offset !== undefined) {
    sql += ' LIMIT ? OFFSET ?';
    params.push(query.limit ?? -1, query.offset ?? 0);
  }
  return { sql, params };
}
