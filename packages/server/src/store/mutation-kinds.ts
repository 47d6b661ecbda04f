// The two kinds of row in `mutations` (migration 0009): the sync engine's changes and seed 003's
// replayed requests. Every reader of the table names the kind it reads. The kind is written into
// the SQL as a literal, never bound: only then may SQLite (and PostgreSQL's generic plans) use
// the partial indexes that hold requests alone.
import { sql, type SqlBool } from 'kysely';

export const MutationKind = { CHANGE: 'change', REQUEST: 'request' } as const;
export type MutationKind = (typeof MutationKind)[keyof typeof MutationKind];

/** `kind = 'change'`: the sync engine's idempotency records. */
export const changesOnly = sql<SqlBool>`kind = ${sql.lit(MutationKind.CHANGE)}`;
/** `kind = 'request'`: seed 003's queued requests. */
export const requestsOnly = sql<SqlBool>`kind = ${sql.lit(MutationKind.REQUEST)}`;
