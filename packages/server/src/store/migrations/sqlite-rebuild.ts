// SQLite cannot change a table's primary key or its storage in place: such a migration recreates
// the table from its own definition with one edit made to it, copies the rows and makes the
// indexes again. Read from sqlite_master, so whatever columns and indexes earlier migrations gave
// the table come through unchanged.
import { sql, type Kysely } from 'kysely';

/**
 * Recreates `table` from `edit(definition)`, its CREATE TABLE text as stored. Resolves to false,
 * doing nothing, when the edit leaves the definition as it is (the table already has the shape).
 * The edit must keep the columns and their order: rows are copied as they are.
 */
export async function rebuildSqliteTable(
  db: Kysely<unknown>,
  table: string,
  edit: (definition: string) => string,
): Promise<boolean> {
  const { rows } = await sql<{ type: string; name: string; sql: string | null }>`
    select type, name, sql from sqlite_master where tbl_name = ${table}`.execute(db);
  const definition = rows.find((r) => r.type === 'table')?.sql;
  if (!definition) throw new Error(`no table ${table}`);
  const edited = edit(definition);
  if (edited === definition) return false;
  const next = `${table}_rebuilt`;
  const create = edited.replace(/^create\s+table\s+("?)[\w]+\1/i, `create table "${next}"`);
  if (create === edited) throw new Error(`cannot read the definition of ${table}`);
  await sql.raw(create).execute(db);
  await sql.raw(`insert into "${next}" select * from "${table}"`).execute(db);
  await sql.raw(`drop table "${table}"`).execute(db);
  await sql.raw(`alter table "${next}" rename to "${table}"`).execute(db);
  // Explicit indexes only: a primary key's or unique constraint's index (sql null) comes back
  // with the table definition.
  for (const index of rows) {
    if (index.type === 'index' && index.sql) await sql.raw(index.sql).execute(db);
  }
  return true;
}

/** `edit` for rebuildSqliteTable: the definition with WITHOUT ROWID added (or removed). */
export function withoutRowid(clustered: boolean): (definition: string) => string {
  return (definition) => {
    const body = definition.replace(/\s*without\s+rowid\s*$/i, '');
    return clustered ? `${body} without rowid` : body;
  };
}
