// A reader's access rules as one SQL expression over an entity_history row, so that a pull page
// is judged by the database and only what a reader sees leaves it (engine/pull.ts decides the
// rest). 1: visible; 0: never visible; NULL: undecided, for the engine to settle with the
// version before (see FeedEntry.visible).
import { sql, type RawBuilder } from 'kysely';
import type { FeedCondition, FeedVisibility } from '../engine/ports.js';
import type { StoreDialect } from './schema.js';

type Verdict = RawBuilder<number | null>;

export function feedVisibilitySql(dialect: StoreDialect, visibility: FeedVisibility): Verdict {
  const otherTypes = typeVerdict(dialect, visibility.otherTypes);
  // A type judged as the others are needs no branch: most types share the tenant rule.
  const asOthers = JSON.stringify(visibility.otherTypes);
  const cases = [...visibility.types]
    .filter(([, conditions]) => JSON.stringify(conditions) !== asOthers)
    .map(([type, conditions]) => sql`when ${type} then ${typeVerdict(dialect, conditions)}`);
  if (cases.length === 0) return otherTypes;
  return sql<number | null>`case entity_type ${sql.join(cases, sql` `)} else ${otherTypes} end`;
}

/**
 * The owner parts decide first: a creator is the same in every version, so a reader they refuse
 * never saw any. A tombstone carries no fields, so under a field part it is undecided; so is a
 * version whose fields are not (or cannot be read as) the ones listed.
 */
function typeVerdict(dialect: StoreDialect, conditions: readonly FeedCondition[] | null): Verdict {
  if (conditions === null) return sql<number>`0`;
  const owners: RawBuilder<unknown>[] = [];
  const fields: RawBuilder<unknown>[] = [];
  for (const condition of conditions) {
    if ('owner' in condition) owners.push(sql`created_by = ${condition.owner}`);
    else fields.push(fieldHolds(dialect, condition.field, condition.anyOf));
  }
  const ownerHolds = owners.length > 0 ? sql.join(owners, sql` and `) : undefined;
  if (fields.length === 0) {
    return ownerHolds ? sql<number>`case when ${ownerHolds} then 1 else 0 end` : sql<number>`1`;
  }
  const refusedByOwner = ownerHolds ? sql`when not (${ownerHolds}) then 0 ` : sql``;
  return sql<
    number | null
  >`case ${refusedByOwner}when payload is null then null when ${sql.join(fields, sql` and `)} then 1 end`;
}

/**
 * Whether the payload's field holds one of the listed JSON texts: the field's text as stored,
 * compared as text. SQLite's path quotes the key as a JSON string, which its path syntax reads
 * with the same escapes. PostgreSQL refuses to read a JSON text holding `\u0000` anywhere in it:
 * such a payload is left undecided (NULL), for the engine to read.
 */
function fieldHolds(dialect: StoreDialect, field: string, anyOf: readonly string[]) {
  if (anyOf.length === 0) return sql`0 = 1`;
  return dialect === 'sqlite'
    ? sql`payload -> ${`$.${JSON.stringify(field)}`} in (select value from json_each(${JSON.stringify(anyOf)}))`
    : sql`case when strpos(payload, ${'\\u0000'}) = 0 then (payload::json -> ${field})::text = any(${[...anyOf]}::text[]) end`;
}
