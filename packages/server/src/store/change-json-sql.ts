// A feed row rendered as a ServerChange's JSON text by the database itself, in the key order of
// engine/change-json.ts. A pull page of a thousand rows then reaches the server as one string a
// row instead of a dozen column values it would quote and concatenate again: that per-row
// garbage, not the query, was most of a pull's server time. The stored payload text is spliced
// in as it is (it is JSON.stringify output of a validated payload, one JSON value).
import { sql, type RawBuilder } from 'kysely';
import type { StoreDialect } from './schema.js';

/** A column (or NULL) as a JSON string literal, or `null`. */
function quoted(dialect: StoreDialect, column: string): RawBuilder<string> {
  const ref = sql.ref(column);
  // SQLite's json_quote answers `null` for NULL; PostgreSQL's to_json answers NULL.
  return dialect === 'sqlite'
    ? sql`json_quote(${ref})`
    : sql`coalesce(to_json(${ref})::text, 'null')`;
}

/** The `entity_history` row as the JSON object serverChangeSchema describes (never `revoked`). */
export function changeJsonSql(dialect: StoreDialect): RawBuilder<string> {
  const q = (column: string) => quoted(dialect, column);
  // Integers: SQLite's || writes an INTEGER as its decimal text; PostgreSQL casts explicitly.
  const int = (column: string) =>
    dialect === 'sqlite' ? sql.ref(column) : sql`${sql.ref(column)}::text`;
  return sql<string>`'{"entityType":' || ${q('entity_type')}
    || ',"entityId":' || ${q('entity_id')}
    || ',"operation":' || ${q('operation')}
    || ',"payload":' || coalesce(${sql.ref('payload')}, 'null')
    || ',"version":' || ${int('version')}
    || ',"clientVersion":' || ${int('version')}
    || ',"timestamp":' || ${q('updated_at')}
    || ',"updatedBy":' || ${q('updated_by')}
    || ',"deviceId":' || ${q('device_id')}
    || ',"checksum":' || ${q('checksum')}
    || ',"deletedAt":' || ${q('deleted_at')}
    || ',"seq":' || ${int('seq')} || '}'`;
}
