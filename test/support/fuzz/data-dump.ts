// Everything a server's database holds, table by table, read from outside the server (SQLite file
// or PostgreSQL schema): compared before and after requests that must change nothing.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

/** Table → its rows as canonical JSON lines, sorted. */
export type DataDump = Record<string, string[]>;

const canonical = (row: Record<string, unknown>) =>
  JSON.stringify(
    Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b))),
    (_key, value: unknown) =>
      typeof value === 'bigint'
        ? value.toString()
        : value instanceof Date
          ? value.toISOString()
          : value,
  );

export function dumpSqlite(dataDir: string): DataDump {
  const db = new Database(join(dataDir, 'syncline.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as Array<{ name: string }>;
    const dump: DataDump = {};
    for (const { name } of tables) {
      const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>;
      dump[name] = rows.map(canonical).sort();
    }
    return dump;
  } finally {
    db.close();
  }
}

export async function dumpPostgres(url: string, schema: string): Promise<DataDump> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
      [schema],
    );
    const dump: DataDump = {};
    for (const { table_name: name } of tables.rows) {
      const rows = await client.query<Record<string, unknown>>(
        `SELECT * FROM "${schema}"."${name}"`,
      );
      dump[name] = rows.rows.map(canonical).sort();
    }
    return dump;
  } finally {
    await client.end();
  }
}

/** What differs between two dumps, briefly: the tables and a few rows each way. */
export function describeDifference(before: DataDump, after: DataDump): string[] {
  const lines: string[] = [];
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = new Set(before[table] ?? []);
    const now = new Set(after[table] ?? []);
    const gone = [...was].filter((row) => !now.has(row));
    const added = [...now].filter((row) => !was.has(row));
    if (gone.length === 0 && added.length === 0) continue;
    lines.push(`${table}: ${gone.length} rows gone, ${added.length} rows added`);
    for (const row of gone.slice(0, 3)) lines.push(`  - ${row.slice(0, 400)}`);
    for (const row of added.slice(0, 3)) lines.push(`  + ${row.slice(0, 400)}`);
  }
  return lines;
}
