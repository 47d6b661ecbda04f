import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMergePatch, deepEqual } from './json.js';
import { threeWayMerge } from './merge.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647);
console.log(`merge properties: fast-check seed ${seed}`);
const params = { seed, numRuns: 300 };

const value = fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null));
const record = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), value, { maxKeys: 6 });

describe('threeWayMerge', () => {
  it('takes the server copy when the client changed nothing', () => {
    fc.assert(
      fc.property(record, record, (base, server) => {
        const out = threeWayMerge({
          base,
          server,
          client: base,
          policies: {},
          clientIsLater: true,
        });
        expect(out.overlapping).toEqual([]);
        expect(deepEqual(out.merged, server)).toBe(true);
      }),
      params,
    );
  });

  it('takes the client copy when the server changed nothing', () => {
    fc.assert(
      fc.property(record, record, (base, client) => {
        const out = threeWayMerge({
          base,
          server: base,
          client,
          policies: {},
          clientIsLater: false,
        });
        expect(out.overlapping).toEqual([]);
        expect(deepEqual(out.merged, client)).toBe(true);
      }),
      params,
    );
  });

  it('keeps both sides of disjoint edits', () => {
    const edits = fc.record({ base: record, serverPatch: record, clientPatch: record });
    fc.assert(
      fc.property(edits, ({ base, serverPatch, clientPatch }) => {
        // Make the patches touch disjoint keys: the client's keys win the draw only where the server's don't.
        const clientOnly = Object.fromEntries(
          Object.entries(clientPatch).filter(([k]) => !(k in serverPatch)),
        );
        const server = applyMergePatch(base, serverPatch);
        const client = applyMergePatch(base, clientOnly);
        const out = threeWayMerge({ base, server, client, policies: {}, clientIsLater: true });
        expect(out.overlapping).toEqual([]);
        expect(deepEqual(out.merged, applyMergePatch(server, clientOnly))).toBe(true);
      }),
      params,
    );
  });

  it('reports the same overlapping fields whichever side is the server', () => {
    fc.assert(
      fc.property(record, record, record, (base, a, b) => {
        const ab = threeWayMerge({ base, server: a, client: b, policies: {}, clientIsLater: true });
        const ba = threeWayMerge({ base, server: b, client: a, policies: {}, clientIsLater: true });
        expect([...ab.overlapping].sort()).toEqual([...ba.overlapping].sort());
      }),
      params,
    );
  });

  it('settles an overlap by the field policy and merges nested objects by path', () => {
    const base = { qty: 1, note: 'a', address: { city: 'Kigali', street: 'x' } };
    const server = { qty: 5, note: 'b', address: { city: 'Kigali', street: 'y' } };
    const client = { qty: 3, note: 'c', address: { city: 'Huye', street: 'x' } };
    const out = threeWayMerge({
      base,
      server,
      client,
      policies: { qty: 'MAX' },
      clientIsLater: true,
    });
    expect(out.merged).toEqual({ qty: 5, note: 'b', address: { city: 'Huye', street: 'y' } });
    expect(out.overlapping).toEqual(['note']);
  });

  it('applies UNION, MIN, LATEST, CLIENT and SERVER policies', () => {
    const base = { tags: ['a'], low: 5, t: 'x', c: 1, s: 1 };
    const server = { tags: ['a', 'b'], low: 4, t: 'srv', c: 2, s: 2 };
    const client = { tags: ['a', 'c'], low: 3, t: 'cli', c: 3, s: 3 };
    const policies = { tags: 'UNION', low: 'MIN', t: 'LATEST', c: 'CLIENT', s: 'SERVER' } as const;
    const later = threeWayMerge({ base, server, client, policies, clientIsLater: true });
    expect(later.merged).toEqual({ tags: ['a', 'b', 'c'], low: 3, t: 'cli', c: 3, s: 2 });
    expect(later.overlapping).toEqual([]);
    const earlier = threeWayMerge({ base, server, client, policies, clientIsLater: false });
    expect(earlier.merged.t).toBe('srv');
  });
});

describe('fields named like Object.prototype members', () => {
  it('merge like any other field (regression: a policy lookup found inherited functions)', () => {
    const out = threeWayMerge({
      base: { toString: 'a', valueOf: 1, n: 1 },
      server: { toString: 'b', valueOf: 2, n: 1 },
      client: { toString: 'c', valueOf: 3, n: 2 },
      policies: {},
      clientIsLater: true,
    });
    expect(out.merged).toEqual({ toString: 'b', valueOf: 2, n: 2 });
    expect(out.overlapping.sort()).toEqual(['toString', 'valueOf']);
  });
});

describe('applyMergePatch (RFC 7396)', () => {
  it('follows the RFC examples', () => {
    expect(applyMergePatch({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(applyMergePatch({ a: 'b' }, { b: 'c' })).toEqual({ a: 'b', b: 'c' });
    expect(applyMergePatch({ a: 'b' }, { a: null })).toEqual({});
    expect(applyMergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({
      a: { b: 'd' },
    });
    expect(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(applyMergePatch({ e: null }, { a: 1 })).toEqual({ e: null, a: 1 });
    expect(applyMergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });
});
