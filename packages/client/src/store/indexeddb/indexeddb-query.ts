// Indexed queries for the IndexedDB store. Each confirmed row is stored with `ix`, its keys in
// one multiEntry index ('fields'): one per indexed field, and one per compound index its
// collection declares ([a, b]: an equality on a ordered by b), each a string (an array key costs
// many times more to decode on every row read):
//   field: type ␀ f field ␀ value          pair: type ␀ p a ␀ b ␀ valueA ␀ valueB
// where a value is its kind's tag (0 null < 1 booleans < 2 numbers < 3 strings, as in the memory
// and SQLite stores) and an order-keeping text: 0/1 for a boolean, 16 hex digits for a number's
// float64 bits (sign flipped, negatives inverted), the string itself for a string. Texts escape
// ␀ and U+0001 (as U+0001 U+0001, U+0001 U+0002) and U+FFFE and U+FFFF (as U+FFFE U+FFFE,
// U+FFFE U+FFFF), so ␀ ends a part and no key holds U+FFFF, which closes a prefix's range. Every
// field and pair of every collection is a contiguous key range of that one real index, so
// declaring a new indexed field or compound needs no database upgrade (the core writes the rows
// again with their keys). Within one key the index walks rows in [type, id] order, so ties come
// by id, reversed for 'prev'. Pairs are opt-in: each costs every row one more key on write.
//
// A query reads as few rows as it can, in bulk (one getAll per step: a cursor pays a round trip
// per row, and every row read is a row decoded):
// - an equality or `in` on one field with an orderBy on another, where the pair is declared,
//   walks the pair's ranges, one per value, each already in the query's order: the first rows of
//   each, merged (an `in` of many values that match often walks the order instead, as below: it
//   reads fewer rows);
// - else with an orderBy field, its key ranges are read from the start in the query's
//   direction, a page's worth at first and more (sized by how many rows matched so far) until
//   the page is full; the other conditions are checked on each row's indexed values;
// - in id order with an equality or `in`, each value's key range is already in id order: read
//   the same way, the ranges' first rows merged;
// - in id order with ranges only, the first condition's rows are read, checked, sorted, paged.
import {
  compareForQuery,
  compareIndexValues,
  hasCompound,
  page,
  rowQualifies,
} from '../../core/query.js';
import type {
  CompoundIndex,
  EntityRow,
  IndexValue,
  StorageCondition,
  StorageQuery,
} from '../../core/ports.js';

/** The stored record: the row, plus its index keys. */
export type EntityRecord = EntityRow & { ix?: string[] };

export const fieldsIndex = 'fields';

const end = '\u0000';
/** Escapes U+0001 before ␀ (whose escape brings new U+0001s), U+FFFE before U+FFFF alike. */
const text = (value: string) =>
  value
    .replaceAll('\u0001', '\u0001\u0002')
    .replaceAll('\u0000', '\u0001\u0001')
    .replaceAll('\ufffe', '\ufffe\ufffe')
    .replaceAll('\uffff', '\ufffe\uffff');

const bits = new DataView(new ArrayBuffer(8));
/** A finite number as 16 hex digits that sort as the numbers do. */
function numberText(value: number): string {
  bits.setFloat64(0, value === 0 ? 0 : value); // -0 is 0
  let high = bits.getUint32(0);
  let low = bits.getUint32(4);
  if (high >= 0x80000000) {
    high = ~high >>> 0;
    low = ~low >>> 0;
  } else {
    high = (high | 0x80000000) >>> 0;
  }
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
}

/** A value as its tag and order-keeping text. */
function valueText(value: IndexValue): string {
  if (value === null) return '0';
  if (typeof value === 'boolean') return value ? '11' : '10';
  if (typeof value === 'number') return `2${numberText(value)}`;
  return `3${text(value)}`;
}

const fieldPrefix = (type: string, field: string) => `${text(type)}${end}f${text(field)}${end}`;
const pairPrefix = (type: string, a: string, b: string, value: IndexValue) =>
  `${text(type)}${end}p${text(a)}${end}${text(b)}${end}${valueText(value)}${end}`;

/**
 * The record to store for a row: its index keys beside it (a tombstone has none), one per field
 * and one per declared compound whose two fields the row holds.
 */
export function toRecord(row: EntityRow, compounds: readonly CompoundIndex[] = []): EntityRecord {
  const { ix: _old, ...plain } = row as EntityRow & { ix?: unknown };
  const { fields } = plain;
  if (plain.deleted || !fields) return plain;
  const ix = Object.entries(fields).map(
    ([field, value]) => fieldPrefix(plain.type, field) + valueText(value),
  );
  for (const [a, b] of compounds) {
    if (Object.hasOwn(fields, a) && Object.hasOwn(fields, b)) {
      ix.push(pairPrefix(plain.type, a, b, fields[a]!) + valueText(fields[b]!));
    }
  }
  return { ...plain, ix };
}

/** The key ranges of the 'fields' index a condition covers under a prefix, ascending. */
function rangesOf(prefix: string, condition?: StorageCondition): IDBKeyRange[] {
  // No key holds U+FFFF: prefix + U+FFFF is above every key that starts with the prefix.
  if (!condition) return [IDBKeyRange.bound(prefix, `${prefix}\uffff`)];
  if (condition.in) {
    // Ascending, whatever order the list came in: the walks rely on it.
    const values = [...condition.in].sort(compareIndexValues);
    return values.map((v) => IDBKeyRange.only(prefix + valueText(v)));
  }
  const { kind, lower, upper } = condition.range;
  const tag = kind === 'number' ? '2' : '3';
  const from = lower ? prefix + valueText(lower.value) : prefix + tag;
  const to = upper ? prefix + valueText(upper.value) : `${prefix}${tag}\uffff`;
  const [fromOpen, toOpen] = [lower?.open ?? false, upper?.open ?? false];
  // IDBKeyRange refuses an empty range (say, below the smallest string, open); it matches
  // nothing. Keys compare as strings do, by code unit.
  if (from > to || (from === to && (fromOpen || toOpen))) return [];
  return [IDBKeyRange.bound(from, to, fromOpen, toOpen)];
}

/** getAll's options form (IndexedDB 3.0: a direction); older engines take (query, count) only. */
interface GetAllOptions {
  query: IDBKeyRange;
  count?: number;
  direction: IDBCursorDirection;
}

/** The part of idb's store and index this module uses, declared structurally. */
interface CursorLike {
  value: EntityRecord;
  continue(): Promise<CursorLike | null>;
}
interface RecordSource {
  getAll(range: IDBKeyRange | GetAllOptions, count?: number): Promise<EntityRecord[]>;
  openCursor(range: IDBKeyRange, direction: IDBCursorDirection): Promise<CursorLike | null>;
}
export interface EntityStore extends RecordSource {
  index(name: typeof fieldsIndex): RecordSource;
}

/** Whether getAll reads backwards in one request (getAllRecords shipped with that form). */
const getAllTakesDirection = (): boolean =>
  typeof IDBIndex !== 'undefined' && 'getAllRecords' in IDBIndex.prototype;

/** The first `count` records of a range in a direction: one request, or a cursor where it must. */
async function readFirst(
  source: RecordSource,
  range: IDBKeyRange,
  direction: IDBCursorDirection,
  count: number,
): Promise<EntityRecord[]> {
  const limit = Number.isFinite(count) ? count : undefined;
  if (direction === 'next') return source.getAll(range, limit);
  if (getAllTakesDirection()) {
    return source.getAll(
      limit === undefined ? { query: range, direction } : { query: range, count: limit, direction },
    );
  }
  const rows: EntityRecord[] = [];
  let cursor = await source.openCursor(range, direction);
  while (cursor) {
    rows.push(cursor.value);
    if (rows.length >= count) break;
    cursor = await cursor.continue();
  }
  return rows;
}

/**
 * The first `want` qualifying rows of one key range in `direction`: its first rows read at once,
 * more when too few qualified (re-reading from the start costs less than a cursor's round trip
 * per row). Undefined when fewer than `minShare` of the rows read qualify: another way is cheaper.
 */
async function walkRange(
  source: RecordSource,
  range: IDBKeyRange,
  direction: IDBCursorDirection,
  want: number,
  qualifies: (row: EntityRecord) => boolean,
  minShare = 0,
): Promise<EntityRecord[] | undefined> {
  let toRead = Number.isFinite(want) ? Math.max(want + 8, Math.ceil(want * 1.5)) : Infinity;
  for (;;) {
    const rows = await readFirst(source, range, direction, toRead);
    const kept = rows.filter(qualifies);
    if (kept.length >= want || rows.length < toRead) return kept.slice(0, want);
    // Read enough for the share that matched so far, at least twice as many as this time.
    const share = kept.length / rows.length;
    if (share < minShare) return undefined;
    const estimate = share > 0 ? Math.ceil((want / share) * 1.25) : rows.length * 4;
    toRead = Math.max(estimate, rows.length * 2);
  }
}

/** Walks ranges one after another (they are in the walk's order) until `want` rows are kept. */
async function walkRanges(
  source: RecordSource,
  ranges: IDBKeyRange[],
  direction: IDBCursorDirection,
  want: number,
  qualifies: (row: EntityRecord) => boolean,
  minShare = 0,
): Promise<EntityRecord[] | undefined> {
  const kept: EntityRecord[] = [];
  for (const range of direction === 'prev' ? [...ranges].reverse() : ranges) {
    if (kept.length >= want) break;
    const rows = await walkRange(source, range, direction, want - kept.length, qualifies, minShare);
    if (!rows) return undefined;
    kept.push(...rows);
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
  const qualifies = (row: EntityRecord) => rowQualifies(row, query);
  const sorted = (rows: EntityRecord[]) =>
    page(
      rows.sort((a, b) => compareForQuery(query, a, b)),
      query,
    );
  const order = query.orderBy?.field;
  const direction: IDBCursorDirection = query.orderBy?.direction === 'desc' ? 'prev' : 'next';
  const onOrder = order ? query.where.find((c) => c.field === order) : undefined;
  const orderRanges = order ? rangesOf(fieldPrefix(type, order), onOrder) : [];
  // With an orderBy, an equality drives the walk only through a declared pair; without one the
  // orderBy field's walk below checks it on each row.
  const equality = query.where.find(
    (c) => c.in && c.field !== order && (!order || hasCompound(query.compounds, c.field, order)),
  );

  if (order && equality?.in && equality.in.length > 1 && Number.isFinite(want)) {
    // The pairs read `want` rows per value; the order's walk about want / share. While a share
    // of at least 1 / values matches, the walk reads less.
    const walked = await walkRanges(
      index,
      orderRanges,
      direction,
      want,
      qualifies,
      1 / equality.in.length,
    );
    if (walked) return page(walked, query);
  }
  if (equality?.in) {
    // One walk per value, over the field's keys (id order) or the pair's (the orderBy's order).
    const rows: EntityRecord[] = [];
    for (const value of equality.in) {
      const ranges = order
        ? rangesOf(pairPrefix(type, equality.field, order, value), onOrder)
        : [IDBKeyRange.only(fieldPrefix(type, equality.field) + valueText(value))];
      rows.push(...(await walkRanges(index, ranges, order ? direction : 'next', want, qualifies))!);
    }
    return equality.in.length > 1 ? sorted(rows) : page(rows, query);
  }
  if (order)
    return page((await walkRanges(index, orderRanges, direction, want, qualifies))!, query);
  if (query.where.length === 0) {
    // No conditions and id order: the type's key range of the store, tombstones skipped.
    const range = IDBKeyRange.bound([type], [type, []]);
    return page((await walkRange(store, range, 'next', want, qualifies))!, query);
  }
  // Ranges only, in id order: no index holds that order, so all of the first one's rows.
  const driver = query.where[0]!;
  const rows: EntityRecord[] = [];
  for (const range of rangesOf(fieldPrefix(type, driver.field), driver)) {
    rows.push(...(await index.getAll(range)));
  }
  return sorted(rows.filter(qualifies));
}
