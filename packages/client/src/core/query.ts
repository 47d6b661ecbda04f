// Queries over indexed fields: the query a collection's find() takes, checked and normalized once
// into the StorageQuery every LocalStore adapter answers from its indexes, and the reference
// semantics (matching, ordering) that the adapters, the conformance suite and the live queries
// share. Imports nothing but the ports.
import type {
  CompoundIndex,
  EntityRow,
  IndexValue,
  StorageCondition,
  StorageQuery,
} from './ports.js';

/** One field's condition: a value (equality), `in`, or a range of numbers or of strings. */
export type FieldCondition =
  | IndexValue
  | { eq: IndexValue }
  | { in: readonly IndexValue[] }
  | { gt?: number | string; gte?: number | string; lt?: number | string; lte?: number | string };

export type OrderBy = string | { field: string; direction?: 'asc' | 'desc' };

export interface Query {
  /** Every condition must hold; each names a field the collection declares in `indexes`. */
  where?: Record<string, FieldCondition>;
  /** An indexed field; ties are broken by id in the same direction. Else id order. */
  orderBy?: OrderBy;
  limit?: number;
  offset?: number;
}

export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(
    readonly code: 'FIELD_NOT_INDEXED' | 'INVALID_QUERY',
    message: string,
  ) {
    super(message);
  }
}

const queryKeys = new Set(['where', 'orderBy', 'limit', 'offset']);

/**
 * Whether find()'s argument is a Query rather than the older field-equality filter: a plain
 * object with at least one of where/orderBy/limit/offset and no other key.
 */
export function isQuery(value: unknown): value is Query {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => queryKeys.has(key));
}

// ---- values and their order ---------------------------------------------------------------

/** null < false < true < numbers < strings: one total order, the same in every adapter. */
export function indexTag(value: IndexValue): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'number') return 2;
  return 3;
}

const isIndexValue = (value: unknown): value is IndexValue =>
  value === null ||
  typeof value === 'boolean' ||
  typeof value === 'string' ||
  (typeof value === 'number' && Number.isFinite(value));

/** Strings compare by UTF-16 code units, as IndexedDB keys do. */
export function compareIndexValues(a: IndexValue, b: IndexValue): number {
  const ta = indexTag(a);
  const tb = indexTag(b);
  if (ta !== tb) return ta - tb;
  if (a === b || ta === 0) return 0;
  return (a as number | string | boolean) < (b as number | string | boolean) ? -1 : 1;
}

/**
 * The indexed values of an entity's data: a missing field, or one holding an object, an array or
 * a non-finite number, is indexed as null.
 */
export function indexFields(
  data: Record<string, unknown>,
  indexes: readonly string[],
): Record<string, IndexValue> {
  const fields: Record<string, IndexValue> = {};
  for (const field of indexes) {
    const value = Object.hasOwn(data, field) ? data[field] : null;
    fields[field] = isIndexValue(value) ? value : null;
  }
  return fields;
}

// ---- normalizing ----------------------------------------------------------------------------

const rangeOps = ['gt', 'gte', 'lt', 'lte'] as const;

function normalizeCondition(field: string, condition: FieldCondition): StorageCondition {
  if (isIndexValue(condition)) return { field, in: [condition] };
  if (typeof condition !== 'object' || Array.isArray(condition)) {
    throw new QueryError(
      'INVALID_QUERY',
      `The condition on "${field}" is not a value or an object`,
    );
  }
  const keys = Object.keys(condition);
  if (keys.length === 1 && keys[0] === 'eq') {
    const value = (condition as { eq: unknown }).eq;
    if (!isIndexValue(value)) {
      throw new QueryError(
        'INVALID_QUERY',
        `"${field}" eq must be a string, number, boolean or null`,
      );
    }
    return { field, in: [value] };
  }
  if (keys.length === 1 && keys[0] === 'in') {
    const values = (condition as { in: unknown }).in;
    if (!Array.isArray(values) || !values.every(isIndexValue)) {
      throw new QueryError('INVALID_QUERY', `"${field}" in must be a list of scalar values`);
    }
    // Sorted and without repeats: adapters walk them in index order.
    const unique = [...new Map(values.map((v) => [`${indexTag(v)}:${String(v)}`, v])).values()];
    return { field, in: unique.sort(compareIndexValues) };
  }
  if (keys.length === 0 || !keys.every((key) => (rangeOps as readonly string[]).includes(key))) {
    throw new QueryError(
      'INVALID_QUERY',
      `The condition on "${field}" takes eq, in, or gt/gte/lt/lte (found ${keys.join(', ') || 'nothing'})`,
    );
  }
  const range = condition as Partial<Record<(typeof rangeOps)[number], unknown>>;
  const has = (op: string) => keys.includes(op);
  if (has('gt') && has('gte')) {
    throw new QueryError('INVALID_QUERY', `"${field}" takes gt or gte, not both`);
  }
  if (has('lt') && has('lte')) {
    throw new QueryError('INVALID_QUERY', `"${field}" takes lt or lte, not both`);
  }
  let kind: 'number' | 'string' | undefined;
  for (const op of keys) {
    const bound = range[op as (typeof rangeOps)[number]];
    const boundKind =
      typeof bound === 'number' && Number.isFinite(bound)
        ? 'number'
        : typeof bound === 'string'
          ? 'string'
          : undefined;
    if (!boundKind || (kind && kind !== boundKind)) {
      throw new QueryError(
        'INVALID_QUERY',
        `"${field}" range bounds must all be finite numbers or all be strings`,
      );
    }
    kind = boundKind;
  }
  const lowerValue = (range.gt ?? range.gte) as number | string | undefined;
  const upperValue = (range.lt ?? range.lte) as number | string | undefined;
  return {
    field,
    range: {
      kind: kind!,
      ...(lowerValue !== undefined ? { lower: { value: lowerValue, open: has('gt') } } : {}),
      ...(upperValue !== undefined ? { upper: { value: upperValue, open: has('lt') } } : {}),
    },
  };
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Checks a query against the collection's indexed fields and turns it into a StorageQuery.
 * Throws QueryError (FIELD_NOT_INDEXED, INVALID_QUERY) and queries nothing.
 */
export function normalizeQuery(
  type: string,
  query: Query,
  indexes: readonly string[],
): StorageQuery {
  const indexed = (field: string, role: string) => {
    if (!indexes.includes(field)) {
      throw new QueryError(
        'FIELD_NOT_INDEXED',
        `"${field}" (in ${role}) is not an indexed field of ${type}; declare it in collections.${type}.indexes` +
          (indexes.length > 0 ? ` (indexed: ${indexes.join(', ')})` : ''),
      );
    }
  };
  const where: StorageCondition[] = [];
  if (query.where !== undefined) {
    if (typeof query.where !== 'object' || query.where === null || Array.isArray(query.where)) {
      throw new QueryError('INVALID_QUERY', 'where must be an object of field conditions');
    }
    for (const [field, condition] of Object.entries(query.where)) {
      indexed(field, 'where');
      where.push(normalizeCondition(field, condition));
    }
  }
  let orderBy: StorageQuery['orderBy'];
  if (query.orderBy !== undefined) {
    const spec = typeof query.orderBy === 'string' ? { field: query.orderBy } : query.orderBy;
    if (typeof spec !== 'object' || spec === null || typeof spec.field !== 'string') {
      throw new QueryError('INVALID_QUERY', 'orderBy must be a field name or { field, direction }');
    }
    const direction = spec.direction ?? 'asc';
    if (direction !== 'asc' && direction !== 'desc') {
      throw new QueryError('INVALID_QUERY', 'orderBy.direction must be "asc" or "desc"');
    }
    indexed(spec.field, 'orderBy');
    orderBy = { field: spec.field, direction };
  }
  for (const key of ['limit', 'offset'] as const) {
    if (query[key] !== undefined && !isCount(query[key])) {
      throw new QueryError('INVALID_QUERY', `${key} must be a whole number, 0 or more`);
    }
  }
  return {
    where,
    ...(orderBy ? { orderBy } : {}),
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
    ...(query.offset !== undefined ? { offset: query.offset } : {}),
  };
}

// ---- the reference semantics ----------------------------------------------------------------

export function conditionHolds(condition: StorageCondition, value: IndexValue): boolean {
  if (condition.in) return condition.in.some((v) => compareIndexValues(v, value) === 0);
  const { kind, lower, upper } = condition.range;
  if (typeof value !== kind) return false;
  if (lower) {
    const c = compareIndexValues(value, lower.value);
    if (c < 0 || (c === 0 && lower.open)) return false;
  }
  if (upper) {
    const c = compareIndexValues(value, upper.value);
    if (c > 0 || (c === 0 && upper.open)) return false;
  }
  return true;
}

/** Whether indexed values satisfy every condition; a field they do not hold matches nothing. */
export function fieldsMatch(
  fields: Readonly<Record<string, IndexValue>> | undefined,
  where: readonly StorageCondition[],
): boolean {
  return where.every(
    (condition) =>
      fields !== undefined &&
      Object.hasOwn(fields, condition.field) &&
      conditionHolds(condition, fields[condition.field]!),
  );
}

/** Whether a row takes part in a query at all: live, and holding the orderBy field. */
export function rowQualifies(row: EntityRow, query: StorageQuery): boolean {
  if (row.deleted) return false;
  const field = query.orderBy?.field;
  if (field && (row.fields === undefined || !Object.hasOwn(row.fields, field))) return false;
  return fieldsMatch(row.fields, query.where);
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The query's order: the orderBy field, then id; reversed as a whole for desc. */
export function compareForQuery(
  query: Pick<StorageQuery, 'orderBy'>,
  a: { id: string; fields?: Readonly<Record<string, IndexValue>> | undefined },
  b: { id: string; fields?: Readonly<Record<string, IndexValue>> | undefined },
): number {
  const field = query.orderBy?.field;
  let c = field ? compareIndexValues(a.fields?.[field] ?? null, b.fields?.[field] ?? null) : 0;
  if (c === 0) c = byId(a.id, b.id);
  return query.orderBy?.direction === 'desc' ? -c : c;
}

/** Whether a declared compound serves an equality on `first` ordered by `second`. */
export const hasCompound = (
  compounds: readonly CompoundIndex[] | undefined,
  first: string,
  second: string,
): boolean => (compounds ?? []).some(([a, b]) => a === first && b === second);

/** Applies offset and limit to rows already in the query's order. */
export function page<T>(rows: T[], query: Pick<StorageQuery, 'limit' | 'offset'>): T[] {
  const start = query.offset ?? 0;
  return rows.slice(start, query.limit === undefined ? undefined : start + query.limit);
}

/**
 * What every adapter's queryEntities must return, computed the slow way from a type's rows: the
 * live rows (no tombstones) whose indexed fields hold the orderBy field and match every
 * condition, in the query's order, paged.
 */
export function referenceQuery(rows: readonly EntityRow[], query: StorageQuery): EntityRow[] {
  const matching = rows.filter((row) => rowQualifies(row, query));
  return page(
    matching.sort((a, b) => compareForQuery(query, a, b)),
    query,
  );
}
