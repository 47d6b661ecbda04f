// A feed row rendered as a ServerChange's JSON text by the database itself, in the key order of
// engine/change-json.ts. A pull page of a thousand rows then reaches the server as one string a
// row instead of a dozen column values it would quote and concatenate again: that per-row
// garbage, not the query, was most of a pull's server time. The stored payload text is spliced
// in as it is (it is JSON.stringify output of a validated payload, one JSON value).
import { sql, type RawBuilder } from 'kysely';
import type { StoreDialect } from './schema.js';

/** The keys in serverChangeSchema's order, each with how its column is written. */
const fields = [
  ['entityType', 'text', 'entity_type'],
  ['entityId', 'text', 'entity_id'],
  ['operation', 'text', 'operation'],
  ['payload', 'json', 'payload'],
  ['version', 'int', 'version'],
  ['clientVersion', 'int', 'version'],
  ['timestamp', 'text', 'updated_at'],
  ['updatedBy', 'text', 'updated_by'],
  ['deviceId', 'text', 'device_id'],
  ['checksum', 'text', 'checksum'],
  ['deletedAt', 'text', 'deleted_at'],
  ['seq', 'int', 'seq'],
] as const;

type Kind = (typeof fields)[number][1];

/** A column as JSON: a string literal (or `null`), the stored JSON text, or an integer. */
function jsonOf(dialect: StoreDialect, kind: Kind, column: string): RawBuilder<unknown> {
  const ref = sql.ref(column);
  if (kind === 'json') return sql`coalesce(${ref}, 'null')`;
  if (kind === 'int') return dialect === 'sqlite' ? sql`${ref}` : sql`${ref}::text`;
  // SQLite's json_quote answers `null` for NULL; PostgreSQL's to_json answers NULL.
  return dialect === 'sqlite'
    ? sql`json_quote(${ref})`
    : sql`coalesce(to_json(${ref})::text, 'null')`;
}

/**
 * The `entity_history` row as the JSON object serverChangeSchema describes (never `revoked`):
 * one format() call (SQLite's printf) rather than two dozen concatenations, each of which would
 * copy the growing text again.
 */
export function changeJsonSql(dialect: StoreDialect): RawBuilder<string> {
  const template = `{${fields.map(([key]) => `"${key}":%s`).join(',')}}`;
  const values = fields.map(([, kind, column]) => jsonOf(dialect, kind, column));
  return sql<string>`${sql.raw(dialect === 'sqlite' ? 'printf' : 'format')}(${sql.lit(template)}, ${sql.join(values)})`;
}
