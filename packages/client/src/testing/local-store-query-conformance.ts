// The query part of the LocalStore conformance suite: queryEntities over rows' indexed `fields`
// (equality, `in`, ranges, order with ties by id, paging, tombstones and other types left out,
// the index following puts, removes and clears), and a property: for any rows and any query the
// adapter answers what referenceQuery computes the slow way. All of it twice: with single-field
// indexes only, and with compound indexes declared (on the puts and the queries, as the core
// passes them), which must change how fast an adapter answers, never what.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  CompoundIndex,
  EntityRow,
  IndexValue,
  LocalStore,
  StorageCondition,
  StorageQuery,
  StorageWrite,
} from '../core/ports.js';
import { referenceQuery } from '../core/query.js';

const row = (id: string, fields: Record<string, IndexValue> | undefined, type = 'patient') => {
  const made: EntityRow = { type, id, version: 1, deleted: false, body: JSON.stringify({ id }) };
  if (fields) made.fields = fields;
  return made;
};
const tombstone = (id: string, type = 'patient'): EntityRow => ({
  type,
  id,
  version: 2,
  deleted: true,
  body: null,
});

/** Patients of three facilities, with ages, a flag, and a few odd kinds of value. */
const rows: EntityRow[] = [
  row('p01', { facility: 'north', age: 34, active: true }),
  row('p02', { facility: 'south', age: 71, active: false }),
  row('p03', { facility: 'north', age: 5, active: true }),
  row('p04', { facility: 'east', age: 34, active: null }),
  row('p05', { facility: 'south', age: 18.5, active: true }),
  row('p06', { facility: null, age: -1, active: false }),
  row('p07', { facility: 'north', age: 90, active: true }),
  row('p08', { facility: 'north', age: '34', active: true }),
  row('p09', undefined),
  row('p10', { facility: 'east' }),
  tombstone('p11'),
  row('v01', { facility: 'north', age: 34 }, 'visit'),
];

const ids = (found: EntityRow[]) => found.map((r) => r.id);
const eq = (field: string, ...values: IndexValue[]): StorageCondition => ({ field, in: values });
const range = (
  field: string,
  kind: 'number' | 'string',
  lower?: [number | string, boolean],
  upper?: [number | string, boolean],
): StorageCondition => ({
  field,
  range: {
    kind,
    ...(lower ? { lower: { value: lower[0], open: lower[1] } } : {}),
    ...(upper ? { upper: { value: upper[0], open: upper[1] } } : {}),
  },
});

/** Compounds over the fixed rows' fields and over the property's f and g, both ways round. */
const declaredCompounds: readonly CompoundIndex[] = [
  ['facility', 'age'],
  ['active', 'facility'],
  ['age', 'facility'],
  ['f', 'g'],
  ['g', 'f'],
];

export function runQueryConformance(
  fresh: () => Promise<LocalStore>,
  open: () => Promise<LocalStore>,
  again?: () => Promise<LocalStore>,
): void {
  describe('indexed queries, single-field indexes', () => {
    runQueryCases(fresh, open, again, undefined);
  });
  describe('indexed queries, compound indexes declared', () => {
    runQueryCases(fresh, open, again, declaredCompounds);
  });
}

function runQueryCases(
  fresh: () => Promise<LocalStore>,
  open: () => Promise<LocalStore>,
  again: (() => Promise<LocalStore>) | undefined,
  compounds: readonly CompoundIndex[] | undefined,
): void {
  const declared = compounds ? { compounds } : {};
  const put = (r: EntityRow): StorageWrite => ({ kind: 'putEntity', row: r, ...declared });
  const seeded = async () => {
    const store = await fresh();
    await store.write(rows.map(put));
    return store;
  };
  const withDeclared = (q: StorageQuery): StorageQuery => ({ ...q, ...declared });
  const query = (store: LocalStore, q: Partial<StorageQuery>) =>
    store.queryEntities('patient', withDeclared({ where: [], ...q }));

  it('keeps indexed fields through put and read', async () => {
    const store = await seeded();
    expect(await store.getEntity('patient', 'p01')).toStrictEqual(rows[0]);
    expect(await store.getEntity('patient', 'p09')).toStrictEqual(rows[8]);
    expect(await store.listEntities('patient')).toStrictEqual(
      rows.filter((r) => r.type === 'patient'),
    );
  });

  it('finds by equality and by in, without tombstones or other types', async () => {
    const store = await seeded();
    expect(ids(await query(store, { where: [eq('facility', 'north')] }))).toEqual([
      'p01',
      'p03',
      'p07',
      'p08',
    ]);
    expect(ids(await query(store, { where: [eq('facility', 'south', 'east')] }))).toEqual([
      'p02',
      'p04',
      'p05',
      'p10',
    ]);
    expect(ids(await query(store, { where: [eq('facility', null)] }))).toEqual(['p06']);
    expect(ids(await query(store, { where: [eq('active', false)] }))).toEqual(['p02', 'p06']);
    expect(ids(await query(store, { where: [eq('age', 34)] }))).toEqual(['p01', 'p04']);
    expect(ids(await query(store, { where: [eq('age', '34')] }))).toEqual(['p08']);
    expect(ids(await query(store, { where: [eq('facility', 'west')] }))).toEqual([]);
    expect(await query(store, { where: [eq('facility', 'north')] })).toContainEqual(rows[0]);
  });

  it('finds ranges of one kind of value, bounds open or closed', async () => {
    const store = await seeded();
    const ages = (lower?: [number, boolean], upper?: [number, boolean]) =>
      query(store, { where: [range('age', 'number', lower, upper)] }).then(ids);
    expect(await ages([34, false])).toEqual(['p01', 'p02', 'p04', 'p07']);
    expect(await ages([34, true])).toEqual(['p02', 'p07']);
    expect(await ages(undefined, [18.5, false])).toEqual(['p03', 'p05', 'p06']);
    expect(await ages(undefined, [18.5, true])).toEqual(['p03', 'p06']);
    expect(await ages([5, false], [34, true])).toEqual(['p03', 'p05']);
    // The string '34' is in no range of numbers, and numbers in no range of strings.
    expect(await ages()).toEqual(['p01', 'p02', 'p03', 'p04', 'p05', 'p06', 'p07']);
    expect(ids(await query(store, { where: [range('age', 'string', ['0', false])] }))).toEqual([
      'p08',
    ]);
    expect(
      ids(await query(store, { where: [range('facility', 'string', ['m', false], ['t', true])] })),
    ).toEqual(['p01', 'p02', 'p03', 'p05', 'p07', 'p08']);
    // Below the smallest string, open: an empty range, not an error.
    expect(
      await query(store, { where: [range('facility', 'string', undefined, ['', true])] }),
    ).toEqual([]);
  });

  it('combines conditions on several fields', async () => {
    const store = await seeded();
    expect(
      ids(
        await query(store, {
          where: [eq('facility', 'north'), range('age', 'number', [10, false])],
        }),
      ),
    ).toEqual(['p01', 'p07']);
    expect(
      ids(await query(store, { where: [range('age', 'number', [0, false]), eq('active', true)] })),
    ).toEqual(['p01', 'p03', 'p05', 'p07']);
  });

  it('orders by a field, ties by id, desc reversing the whole order, and pages', async () => {
    const store = await seeded();
    const byAge = await query(store, { orderBy: { field: 'age', direction: 'asc' } });
    // null < booleans < numbers < strings; p09 and p10 hold no age and take no part.
    expect(ids(byAge)).toEqual(['p06', 'p03', 'p05', 'p01', 'p04', 'p02', 'p07', 'p08']);
    const desc = await query(store, { orderBy: { field: 'age', direction: 'desc' } });
    expect(ids(desc)).toEqual(ids(byAge).reverse());
    expect(
      ids(await query(store, { orderBy: { field: 'age', direction: 'asc' }, offset: 2, limit: 3 })),
    ).toEqual(['p05', 'p01', 'p04']);
    expect(
      ids(
        await query(store, {
          where: [eq('facility', 'north')],
          orderBy: { field: 'age', direction: 'desc' },
          limit: 2,
        }),
      ),
    ).toEqual(['p08', 'p07']);
    expect(
      ids(
        await query(store, {
          where: [range('age', 'number', [18, false])],
          orderBy: { field: 'age', direction: 'desc' },
          limit: 2,
        }),
      ),
    ).toEqual(['p07', 'p02']);
    expect(
      ids(
        await query(store, {
          where: [eq('active', true)],
          orderBy: { field: 'facility', direction: 'asc' },
        }),
      ),
    ).toEqual(['p01', 'p03', 'p07', 'p08', 'p05']);
    // An `in` on the orderBy field whose values come in any order.
    expect(
      ids(
        await query(store, {
          where: [eq('facility', 'south', null, 'east')],
          orderBy: { field: 'facility', direction: 'asc' },
        }),
      ),
    ).toEqual(['p06', 'p04', 'p10', 'p02', 'p05']);
    expect(ids(await query(store, { limit: 2, offset: 10 }))).toEqual([]);
    expect(ids(await query(store, { limit: 0 }))).toEqual([]);
    expect(ids(await query(store, {}))).toEqual(
      rows.filter((r) => r.type === 'patient' && !r.deleted).map((r) => r.id),
    );
  });

  it('follows puts, removes and clears', async () => {
    const store = await seeded();
    await store.write([
      put(row('p01', { facility: 'south', age: 35, active: true })),
      { kind: 'removeEntity', type: 'patient', id: 'p03' },
      put(tombstone('p07')),
      put(row('p12', { facility: 'north', age: 1, active: false })),
    ]);
    expect(ids(await query(store, { where: [eq('facility', 'north')] }))).toEqual(['p08', 'p12']);
    expect(ids(await query(store, { where: [eq('age', 34)] }))).toEqual(['p04']);
    // A put without fields leaves the row out of every condition.
    await store.write([put(row('p08', undefined))]);
    expect(ids(await query(store, { where: [eq('facility', 'north')] }))).toEqual(['p12']);
    await store.write([{ kind: 'clearEntities' }]);
    expect(await query(store, { where: [eq('facility', 'south')] })).toEqual([]);
    expect(await query(store, {})).toEqual([]);
  });

  it('keeps the last of a key put several times in one long write, its old values gone', async () => {
    const store = await seeded();
    const many = Array.from({ length: 250 }, (_, i) =>
      row(`m${String(i).padStart(3, '0')}`, { facility: 'west', age: i }),
    );
    await store.write([
      ...many.slice(0, 50).map((r) => put(r)),
      // m003 put again among rows of the same run, p01 (north) and m005 after it, and m010
      // removed then put back.
      put(row('m003', { facility: 'east', age: 3 })),
      ...many.slice(50, 120).map((r) => put(r)),
      put(row('p01', { facility: 'west', age: 1000 })),
      put(row('m005', { facility: 'east', age: 5 })),
      { kind: 'removeEntity', type: 'patient', id: 'm010' },
      put(row('m010', { facility: 'east', age: 10 })),
      ...many.slice(120).map((r) => put(r)),
      put(row('p01', { facility: 'east', age: 1001 })),
    ]);
    const east = await query(store, { where: [eq('facility', 'east')] });
    expect(ids(east)).toEqual(['m003', 'm005', 'm010', 'p01', 'p04', 'p10']);
    expect((await store.getEntity('patient', 'p01'))?.fields).toEqual({
      facility: 'east',
      age: 1001,
    });
    expect(await query(store, { where: [eq('age', 1000)] })).toEqual([]);
    const west = await query(store, { where: [eq('facility', 'west')] });
    expect(west).toHaveLength(247);
    expect((await store.listEntities('patient')).length).toBe(
      rows.filter((r) => r.type === 'patient').length + 250,
    );
  });

  it('answers through a second instance on the same storage', async () => {
    await seeded();
    const twin = await open();
    try {
      expect(
        ids(
          await twin.queryEntities('patient', withDeclared({ where: [eq('facility', 'north')] })),
        ),
      ).toEqual(['p01', 'p03', 'p07', 'p08']);
    } finally {
      await twin.close();
    }
  });

  if (again) {
    it('keeps its indexes after close and reopen', async () => {
      const store = await seeded();
      await store.close();
      const reopened = await again();
      expect(
        ids(
          await reopened.queryEntities(
            'patient',
            withDeclared({
              where: [range('age', 'number', [30, false])],
              orderBy: { field: 'age', direction: 'desc' },
            }),
          ),
        ),
      ).toEqual(['p07', 'p02', 'p04', 'p01']);
    });
  }

  it('answers any query over any rows as referenceQuery does', async () => {
    const value: fc.Arbitrary<IndexValue> = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -3, max: 3 }),
      fc.constantFrom(0.5, -2.5, -0, 1e300, -1e-300),
      fc.constantFrom('', 'a', 'b', 'ab', 'B', 'é'),
      // The edges of a key encoding: NUL, U+0001, the top code units, each inside text too.
      fc.constantFrom('\u0000', 'a\u0000', '\u0001', 'a\u0001b', '\ufffe', '\uffff', 'a\uffff'),
    );
    const fieldNames = ['f', 'g'];
    const fields = fc.option(fc.record({ f: value, g: value }, { requiredKeys: [] }), {
      nil: undefined,
    });
    const storedRow = fc.record({
      id: fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `r${i}`)),
      fields,
      deleted: fc.boolean(),
    });
    const bound = fc.oneof(
      fc.tuple(fc.constant('number' as const), fc.integer({ min: -3, max: 3 })),
      fc.tuple(
        fc.constant('string' as const),
        fc.constantFrom('', 'a', 'ab', 'b', 'a\u0000', '\u0001', '\uffff'),
      ),
    );
    const condition: fc.Arbitrary<StorageCondition> = fc.oneof(
      fc
        .record({
          field: fc.constantFrom(...fieldNames),
          values: fc.uniqueArray(value, {
            maxLength: 3,
            selector: (v) => `${typeof v}:${String(v)}`,
          }),
        })
        .map(({ field, values }) => ({ field, in: values })),
      fc
        .record({
          field: fc.constantFrom(...fieldNames),
          bound,
          lowerOpen: fc.option(fc.boolean(), { nil: undefined }),
          upperOpen: fc.option(fc.boolean(), { nil: undefined }),
          width: fc.integer({ min: 0, max: 3 }),
        })
        .map(({ field, bound: b, lowerOpen, upperOpen, width }) => {
          const kind = b[0];
          const at: number | string = b[1];
          const upper =
            kind === 'number' ? (at as number) + width : `${at as string}${'z'.repeat(width)}`;
          return range(
            field,
            kind,
            lowerOpen === undefined ? undefined : [at, lowerOpen],
            upperOpen === undefined ? undefined : [upper, upperOpen],
          );
        }),
    );
    const storageQuery: fc.Arbitrary<StorageQuery> = fc
      .record(
        {
          where: fc.uniqueArray(condition, { maxLength: 2, selector: (c) => c.field }),
          orderBy: fc.record({
            field: fc.constantFrom(...fieldNames),
            direction: fc.constantFrom('asc' as const, 'desc' as const),
          }),
          limit: fc.integer({ min: 0, max: 6 }),
          offset: fc.integer({ min: 0, max: 4 }),
        },
        { requiredKeys: ['where'] },
      )
      .map((q) => q as StorageQuery);
    await fc.assert(
      fc.asyncProperty(
        fc.array(storedRow, { maxLength: 14 }),
        fc.array(storageQuery, { minLength: 1, maxLength: 4 }),
        async (made, queries) => {
          const store = await fresh();
          const latest = new Map<string, EntityRow>();
          for (const { id, fields: f, deleted } of made) {
            const r = deleted ? tombstone(id) : row(id, f);
            if (!deleted && f === undefined) delete r.fields;
            latest.set(id, r);
          }
          await store.write(made.map(({ id }) => put(latest.get(id)!)));
          for (const q of queries) {
            expect(ids(await store.queryEntities('patient', withDeclared(q)))).toEqual(
              ids(referenceQuery([...latest.values()], q)),
            );
          }
          await store.close();
        },
      ),
      { numRuns: 40 },
    );
  });
}
