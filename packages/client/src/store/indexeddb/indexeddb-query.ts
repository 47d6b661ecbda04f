// Indexed queries for the IndexedDB store. Each confirmed row is stored with `ix`, one key per
// indexed field, [type, field, tag, value], under one multiEntry index ('fields'): every field of
// every collection is a contiguous key range of that one real index, so declaring a new indexed
// field needs no database upgrade. `tag` orders the kinds (null < booleans < numbers < strings),
// as in the memory and SQLite stores. Within one key the index walks rows in [type, id] order, so
// ties come by id, reversed for 'prev'.
//
// A query walks one range list of that index: the orderBy field's (stopping once the page is
// full), or, when the query has an equality or `in` on another field, that field's values (all
// of them, then sorted). The other conditions are checked on each row's own indexed values.
import {
  compareForQuery,
  compareIndexValues,
  indexTag,
  page,
  rowQualifies,
} from '../../core/query.js';
import type { EntityRow, IndexValue, StorageCondition, StorageQuery } from '../../core/ports.js';

/** The stored record: the row, plus its index keys. */
export type EntityRecord = EntityRow & { ix?: IndexKey[] };
export type IndexKey = [string, string, number, number | string];

export const fieldsIndex = 'fields';

const keyValue = (value: IndexValue): number | string =>
  value === null ? 0 : typeof value === 'boolean' ? (value ? 1 : 0) : value;

/** The record to store for a row: its index keys beside it (a tombstone has none). */
export function toRecord(row: EntityRow): EntityRecord {
  if (row.deleted || !row.fields) return row;
  const ix = Object.entries(row.fields).map(([field, value]): IndexKey => [
    row.type,
    field,
    indexTag(value),
    keyValue(value),
  ]);
  return { ...row, ix };
}

/** The key ranges of the 'fields' index a condition covers, in ascending order. */
function rangesOf(type: string, field: string, condition?: StorageCondition): IDBKeyRange[] {
  if (!condition) return [IDBKeyRange.bound([type, field], [type, field, []], false, true)];
  if (condition.in) {
    return condition.in.map((v) => IDBKeyRange.only([type, field, indexTag(v), keyValue(v)]));
  }
  const { kind, lower, upper } = condition.range;
  const tag = kind === 'number' ? 2 : 3;
  if (lower && upper) {
    // IDBKeyRange refuses an empty range; it matches nothing.
    const c = compareIndexValues(lower.value, upper.value);
    if (c > 0 || (c === 0 && (lower.open || upper.open))) return [];
  }
  // [type, field, tag] sorts before every value of the tag, [type, field, tag, []] after them.
  return [
    IDBKeyRange.bound(
      lower ? [type, field, tag, lower.value] : [type, field, tag],
      upper ? [type, field, tag, upper.value] : [type, field, tag, []],
      lower?.open ?? false,
      upper ? upper.open : true,
    ),
  ];
}

/** The part of idb's store and index this module uses, declared structurally. */
interface CursorLike {
  value: EntityRecord;
  continue(): Promise<CursorLike | null>;
}
interface RecordSource {
  getAll(range: IDBKeyRange, count?: number): Promise<EntityRecord[]>;
  openCursor(range: IDBKeyRange, direction: IDBCursorDirection): Promise<CursorLike | null>;
}
export interface EntityStore extends RecordSource {
  index(name: typeof fieldsIndex): RecordSource;
}

/** Walks ranges in the query's direction, keeping qualifying rows, until `want` are kept. */
async function walk(
  source: RecordSource,
  ranges: IDBKeyRange[],
  query: StorageQuery,
  want: number,
  filtered: boolean,
): Promise<EntityRecord[]> {
  const desc = query.orderBy?.direction === 'desc';
  const kept: EntityRecord[] = [];
  for (const range of desc ? [...ranges].reverse() : ranges) {
    if (kept.length >= want) break;
    if (!desc && !filtered) {
      // Nothing to check row by row: one bulk read of as many as the page still needs.
      const left = want - kept.length;
      kept.push(...(await source.getAll(range, Number.isFinite(left) ? left : undefined)));
      continue;
    }
    let cursor = await source.openCursor(range, desc ? 'prev' : 'next');
    while (cursor && kept.length < want) {
      if (rowQualifies(cursor.value, query)) kept.push(cursor.value);
      cursor = await cursor.continue();
    }
  }
  return kept;
}

/** Answers a StorageQuery from the entities store and its 'fields' index (see above). */
export async function queryIndexedEntities(
  store: EntityStore,
  type: string,
  query: StorageQuery,
): Promise<EntityRecord[]> {
  const offset = query.offset ?? 0;
  const want = query.limit === undefined ? Infinity : offset + query.limit;
  if (want === 0) return [];
  const index = store.index(fieldsIndex);
  const order = query.orderBy?.field;
  const equality = query.where.find((c) => c.in && c.field !== order);
  if (equality || (!order && query.where.length > 0)) {
    // A selective condition drives: read all its rows, check the rest, sort, page.
    const driver = equality ?? query.where[0]!;
    const rows: EntityRecord[] = [];
    for (const range of rangesOf(type, driver.field, driver))
      rows.push(...(await index.getAll(range)));
    const kept = rows.filter((row) => rowQualifies(row, query));
    return page(
      kept.sort((a, b) => compareForQuery(query, a, b)),
      query,
    );
  }
  if (!order) {
    // No conditions and id order: the type's key range of the store, tombstones skipped.
    const range = IDBKeyRange.bound([type], [type, []]);
    return page(await walk(store, [range], query, want, true), query);
  }
  const onOrder = query.where.find((c) => c.field === order);
  const filtered = query.where.some((c) => c.field !== order);
  const rows = await walk(index, rangesOf(type, order, onOrder), query, want, filtered);
  return page(rows, query);
}
