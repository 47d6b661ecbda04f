import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
console.log(`canonicalJson properties: fast-check seed ${seed}`);

/** The definition: keys sorted, undefined members left out, JSON.stringify for the rest. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`);
  return `{${entries.join(',')}}`;
}

const withUndefined = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 5 }),
    // Past the size that is sorted by insertion.
    fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { minKeys: 20, maxKeys: 60 }),
  ),
})).value;

describe('canonicalJson', () => {
  it('writes what its definition writes', () => {
    fc.assert(
      fc.property(withUndefined, (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { seed, numRuns: 2_000 },
    );
  });

  it('sorts keys, drops undefined members and keeps array holes empty', () => {
    expect(canonicalJson({ b: 1, a: [true, null], c: undefined, é: 'x', Z: 0 })).toBe(
      '{"Z":0,"a":[true,null],"b":1,"é":"x"}',
    );
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalJson([1, , 2, undefined])).toBe('[1,,2,null]');
    expect(canonicalJson(undefined)).toBe('null');
  });
});
