// Indexed queries for the SQLite store. Each confirmed row's indexed values are rows of
// entity_fields (type, id, field, tag, value), indexed by (type, field, tag, value, id): a
// condition is a range of that index, the order is a walk along it. `tag` keeps the order of the
// kinds (null < booleans < numbers < strings) that IndexedDB keys and the memory store share.
// A compound index [a, b] its collection declares is a row of entity_pairs per entity, indexed by
// (type, a, b, tag_a, value_a, tag_b, value_b, id): an equality on a ordered by b walks it from the
// value's first row, in the query's order, and stops at the page. The tables are added beside the
// schema, idempotently, so a file of any earlier version gains them on open.
import type BetterSqlite3 from 'better-sqlite3';
import { hasCompound, indexTag } from '../../core/query.js';
import type {
  CompoundIndex,
  EntityRow,
  IndexValue,
  StorageCondition,
  StorageQuery,
} from '../../core/ports.js';

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
  CREATE TABLE IF NOT EXISTS entity_pairs (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    tag_a INTEGER NOT NULL,
    value_a ANY,
    tag_b INTEGER NOT NULL,
    value_b ANY,
    PRIMARY KEY (type, id, a, b)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS entity_pairs_by_value
    ON entity_pairs (type, a, b, tag_a, value_a, tag_b, value_b, id);
`;

/** Adds the query tables and the entities.fields column where they are missing. */
export function ensureQueryTables(db: BetterSqlite3.Database): void {
  const hasFields = () =>
    (db.pragma('table_info(entities)') as Array<{ name: string }>).some((c) => c.name === 'fields');
  const hasTable = () =>
    db
      .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)")
      .pluck()
      .get('entity_fields', 'entity_pairs') === 2;
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
  const insertPair = db.prepare(
    'INSERT INTO entity_pairs (type, id, a, b, tag_a, value_a, tag_b, value_b) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const removeOne = db.prepare('DELETE FROM entity_fields WHERE type = ? AND id = ?');
  const removePairs = db.prepare('DELETE FROM entity_pairs WHERE type = ? AND id = ?');
  const removeAll = db.prepare('DELETE FROM entity_fields');
  const removeAllPairs = db.prepare('DELETE FROM entity_pairs');
  const remove = (type: string, id: string) => {
    removeOne.run(type, id);
    removePairs.run(type, id);
  };
  return {
    /** Adds the indexed values of one row whose old ones are gone (a tombstone has none), and its compounds'. */
    add(row: EntityRow, compounds: readonly CompoundIndex[] = []): void {
      const { fields } = row;
      if (row.deleted || !fields) return;
      for (const [field, value] of Object.entries(fields)) {
        insert.run(row.type, row.id, field, indexTag(value), storedValue(value));
      }
      for (const [a, b] of compounds) {
        if (!Object.hasOwn(fields, a) || !Object.hasOwn(fields, b)) continue;
        const [va, vb] = [fields[a]!, fields[b]!];
        insertPair.run(
          row.type,
          row.id,
          a,
          b,
          indexTag(va),
          storedValue(va),
          indexTag(vb),
          storedValue(vb),
        );
      }
    },
    /** Replaces the indexed values of one row, and its compounds'. */
    put(row: EntityRow, compounds: readonly CompoundIndex[] = []): void {
      remove(row.type, row.id);
      this.add(row, compounds);
    },
    remove,
    clear: () => {
      removeAll.run();
      removeAllPairs.run();
    },
  };
}

/** A condition on the columns `tag` and `value` (of entity_fields, or one side of a pair). */
function conditionSql(
  alias: string,
  condition: StorageCondition,
  params: unknown[],
  side = '',
): string {
  const tag = `${alias}.tag${side}`;
  const val = `${alias}.value${side}`;
  if (condition.in) {
    if (condition.in.length === 0) return '0';
    const alternatives = condition.in.map((value) => {
      params.push(indexTag(value));
      if (value === null) return `(${tag} = ?)`;
      params.push(storedValue(value));
      return `(${tag} = ? AND ${val} = ?)`;
    });
    return `(${alternatives.join(' OR ')})`;
  }
  const { kind, lower, upper } = condition.range;
  params.push(kind === 'number' ? 2 : 3);
  let sql = `${tag} = ?`;
  if (lower) {
    sql += ` AND ${val} ${lower.open ? '>' : '>='} ?`;
    params.push(lower.value);
  }
  if (upper) {
    sql += ` AND ${val} ${upper.open ? '<' : '<='} ?`;
    params.push(upper.value);
  }
  return `(${sql})`;
}

/** The SELECT answering `query` over `type`, and its parameters. */
export function querySql(type: string, query: StorageQuery): { sql: string; params: unknown[] } {
  const order = query.orderBy;
  // One value only: its pair rows are already in the query's order, and the walk stops at the
  // page. For several, SQLite would read every match of each to sort them, which costs more than
  // walking the orderBy field's index whenever the values match often.
  const paired =
    order &&
    query.where.find(
      (c) =>
        c.in?.length === 1 &&
        c.field !== order.field &&
        hasCompound(query.compounds, c.field, order.field),
    );
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
  const paging = () => {
    if (query.limit === undefined && query.offset === undefined) return '';
    params.push(query.limit ?? -1, query.offset ?? 0);
    return ' LIMIT ? OFFSET ?';
  };
  const dir = order?.direction === 'desc' ? 'DESC' : 'ASC';
  if (order && paired) {
    // The declared pair drives, from the equality's first row in the query's order: CROSS JOIN
    // keeps SQLite from starting elsewhere. Other conditions join entity_fields as below.
    const others = query.where.filter((c) => c !== paired && c.field !== order.field);
    for (const condition of others) aliasOf(condition.field);
    params.push(type, paired.field, order.field);
    const conditions = [conditionSql('p', paired, params, '_a')];
    const onOrder = query.where.find((c) => c.field === order.field);
    if (onOrder) conditions.push(conditionSql('p', onOrder, params, '_b'));
    for (const c of others) conditions.push(conditionSql(aliasOf(c.field), c, params));
    const sql =
      'SELECT e.type, e.id, e.version, e.deleted, e.body, e.fields FROM entity_pairs p' +
      ` CROSS JOIN entities e ON e.type = p.type AND e.id = p.id ${joins.join(' ')}` +
      ` WHERE p.type = ? AND p.a = ? AND p.b = ? AND e.deleted = 0` +
      conditions.map((c) => ` AND ${c}`).join('') +
      ` ORDER BY p.tag_b ${dir}, p.value_b ${dir}, p.id ${dir}`;
    return { sql: sql + paging(), params };
  }
  if (order) aliasOf(order.field);
  for (const condition of query.where) aliasOf(condition.field);
  // Parameters in the order of the text: the joins' fields, the type, then the conditions.
  params.push(type);
  const conditions = query.where.map((c) => conditionSql(aliasOf(c.field), c, params));
  const orderSql = order
    ? `${aliasOf(order.field)}.tag ${dir}, ${aliasOf(order.field)}.value ${dir}, e.id ${dir}`
    : `e.id ${dir}`;
  const sql =
    `SELECT e.type, e.id, e.version, e.deleted, e.body, e.fields FROM entities e ${joins.join(' ')}` +
    ` WHERE e.type = ? AND e.deleted = 0${conditions.map((c) => ` AND ${c}`).join('')}` +
    ` ORDER BY ${orderSql}`;
  return { sql: sql + paging(), params };
}
