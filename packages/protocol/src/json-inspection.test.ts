// What a body may not hold, found in one walk, with its path; and underflowing literals, found in
// the text, never in what JSON.stringify writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forbiddenKeys } from './canonical-json.js';
import { findJsonProblem, findUnderflow, maxJsonNumber } from './json-inspection.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647);
console.log(`json-inspection properties: fast-check seed ${seed}`);
const params = { seed, numRuns: 200 };

describe('findJsonProblem', () => {
  it('names the path of a NUL in a string, or in a key', () => {
    expect(findJsonProblem({ changes: [{ payload: { name: 'a\u0000b' } }] }, 10)).toMatchObject({
      kind: 'nul',
      path: '$.changes[0].payload.name',
    });
    expect(findJsonProblem({ a: { 'x\u0000y': 1 } }, 10)).toMatchObject({
      kind: 'nul',
      path: '$.a.x\\u0000y',
    });
    expect(findJsonProblem({ userId: '\u0000' }, 4, '$query')?.path).toBe('$query.userId');
  });

  it('refuses numbers a double does not hold exactly, and keeps those it does', () => {
    for (const n of [Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e20, 1.5e300]) {
      expect(findJsonProblem({ ids: [1, n] }, 10)).toMatchObject({
        kind: 'number',
        path: '$.ids[1]',
      });
    }
    for (const n of [0, -0, maxJsonNumber, -maxJsonNumber, 0.1, 1e-300, 5e-324, 123.456]) {
      expect(findJsonProblem({ n }, 10)).toBeUndefined();
    }
  });

  it('finds forbidden keys and too deep a nesting', () => {
    expect(findJsonProblem(JSON.parse('{"a":[{"__proto__":{}}]}'), 10)).toMatchObject({
      kind: 'forbidden-key',
      path: '$.a[0].__proto__',
    });
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findJsonProblem(deep, 40)?.kind).toBe('depth');
  });

  it('finds nothing in JSON without NUL and with safe numbers', () => {
    const holdsOnlySafe = (v: unknown): boolean =>
      typeof v === 'number'
        ? Math.abs(v) <= maxJsonNumber
        : typeof v === 'string'
          ? !v.includes('\u0000')
          : v !== null && typeof v === 'object'
            ? Object.entries(v).every(
                ([k, x]) => !k.includes('\u0000') && !forbiddenKeys.has(k) && holdsOnlySafe(x),
              )
            : true;
    const safe = fc.jsonValue().filter(holdsOnlySafe);
    fc.assert(
      fc.property(safe, (value) => {
        expect(findJsonProblem(value, 1000)).toBeUndefined();
      }),
      params,
    );
  });
});

describe('findUnderflow', () => {
  it('names the path of a literal that parses as 0 but is not zero', () => {
    expect(findUnderflow('{"a":[1,{"b":1e-400}]}')).toBe('$.a[1].b');
    expect(findUnderflow('{"x":-2.5E-0330}')).toBe('$.x');
    expect(findUnderflow(`{"y":0.${'0'.repeat(400)}1}`)).toBe('$.y');
  });

  it('does not flag zeros, small doubles or look-alikes inside strings', () => {
    expect(
      findUnderflow('{"a":0,"b":0e-999,"c":0.000e-400,"d":1e-300,"e":5e-324}'),
    ).toBeUndefined();
    expect(findUnderflow('{"note":"1e-400 \\" 1e-999","k\\"ey-100":2}')).toBeUndefined();
  });

  it('never flags what JSON.stringify writes', () => {
    const numbers = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), numbers)), (pairs) => {
        const text = JSON.stringify(Object.fromEntries(pairs));
        expect(findUnderflow(text)).toBeUndefined();
      }),
      params,
    );
  });
});
