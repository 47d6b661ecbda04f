// Values that satisfy a JSON Schema, as fast-check arbitraries: the well-formed part of a fuzzed
// request. Hints steer named fields (ids, devices, entity types) towards values the server holds, so
// requests reach the engine and the stores instead of stopping at "not found".
import fc from 'fast-check';
import type { JsonSchema } from './route-catalog.js';

/** Field name → values worth sending for it (mixed with what the schema alone would generate). */
export type Hints = Readonly<Record<string, readonly unknown[]>>;

const maxGeneratedLength = 24;

const smallJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -1000, max: 1_000_000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A recent time: within two minutes either side of now (the server refuses the far future). */
const recentTime = fc
  .integer({ min: -120_000, max: 60_000 })
  .map((offset) => new Date(Date.now() + offset).toISOString());

function withHint(name: string | undefined, hints: Hints, arb: fc.Arbitrary<unknown>) {
  const hinted = name !== undefined ? hints[name] : undefined;
  if (!hinted || hinted.length === 0) return arb;
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...hinted) },
    { weight: 1, arbitrary: arb },
  );
}

function stringArb(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = Math.max(
    minLength,
    Math.min(typeof schema.maxLength === 'number' ? schema.maxLength : 64, maxGeneratedLength),
  );
  if (schema.format === 'date-time') return recentTime;
  if (schema.format === 'uri') return fc.webUrl();
  if (typeof schema.pattern === 'string') {
    const limit = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
    return fc
      .stringMatching(new RegExp(schema.pattern, 'u'))
      .filter((text) => text.length >= minLength && text.length <= limit);
  }
  return fc.string({ minLength, maxLength, unit: 'grapheme' });
}

function integerArb(schema: JsonSchema): fc.Arbitrary<number> {
  const min = typeof schema.minimum === 'number' ? schema.minimum : -1000;
  const max = typeof schema.maximum === 'number' ? schema.maximum : 1_000_000;
  const low = Math.max(min, Number.MIN_SAFE_INTEGER);
  const high = Math.min(max, Number.MAX_SAFE_INTEGER);
  // Mostly small values, the edges now and then.
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: low, max: Math.min(high, low + 50) }) },
    { weight: 1, arbitrary: fc.constantFrom(low, high) },
    { weight: 1, arbitrary: fc.integer({ min: low, max: high }) },
  );
}

/** An arbitrary for values valid under `schema`; `name` is the property it fills (for hints). */
export function valueFor(schema: JsonSchema, hints: Hints, name?: string): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants)) {
    return withHint(name, hints, fc.oneof(...variants.map((v) => valueFor(v, hints, name))));
  }
  const type = Array.isArray(schema.type) ? (schema.type[0] as string) : schema.type;
  switch (type) {
    case 'string':
      return withHint(name, hints, stringArb(schema));
    case 'integer':
      return withHint(name, hints, integerArb(schema));
    case 'number':
      return fc.double({
        noNaN: true,
        noDefaultInfinity: true,
        min: typeof schema.minimum === 'number' ? schema.minimum : -1e9,
        max: typeof schema.maximum === 'number' ? schema.maximum : 1e9,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema.items ?? {}) as JsonSchema;
      const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxLength = Math.max(
        minLength,
        Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 4, 4),
      );
      return withHint(
        name,
        hints,
        fc.array(valueFor(items, hints, name), { minLength, maxLength }),
      );
    }
    case 'object':
      return objectArb(schema, hints, name);
    default:
      return withHint(name, hints, smallJson);
  }
}

function objectArb(schema: JsonSchema, hints: Hints, name?: string): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const keys = Object.keys(properties);
  if (keys.length === 0) {
    // A free-form object (an entity payload, a replayed request body).
    return withHint(
      name,
      hints,
      fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), smallJson, { maxKeys: 5 }),
    );
  }
  const required = new Set((schema.required ?? []) as string[]);
  const shape = Object.fromEntries(
    keys.map((key) => [key, valueFor(properties[key]!, hints, key)]),
  );
  return fc.record(shape, { requiredKeys: keys.filter((key) => required.has(key)) });
}
