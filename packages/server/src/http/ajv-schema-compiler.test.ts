import { Ajv } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSchemaCompiler } from './ajv-schema-compiler.js';

const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
console.log(`date-time format properties: fast-check seed ${seed}`);

// ajv-formats' own date-time check with the leap-second refusal: what the compiler must agree with.
const general = (() => {
  const ajv = new Ajv({ strict: false });
  addFormats(ajv);
  const validate = ajv.compile({ type: 'string', format: 'date-time' });
  return (text: string) => validate(text) && !Number.isNaN(Date.parse(text));
})();

const check = createSchemaCompiler()({ type: 'string', format: 'date-time' });
const accepted = (text: string) => check(text as never).length === 0;

const pad = (n: number, width: number) => String(n).padStart(width, '0');
/** Times in Date#toISOString's shape, with every field allowed out of its range. */
const isoShaped = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 19 }),
    day: fc.integer({ min: 0, max: 39 }),
    hour: fc.integer({ min: 0, max: 29 }),
    minute: fc.integer({ min: 0, max: 69 }),
    second: fc.integer({ min: 0, max: 69 }),
    millis: fc.option(fc.integer({ min: 0, max: 999 })),
    t: fc.constantFrom('T', 't', ' '),
    z: fc.constantFrom('Z', 'z', '+00:00', '-05:30', ''),
  })
  .map(
    (f) =>
      `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}${f.t}${pad(f.hour, 2)}:` +
      `${pad(f.minute, 2)}:${pad(f.second, 2)}${f.millis === null ? '' : `.${pad(f.millis, 3)}`}${f.z}`,
  );

describe('the date-time format', () => {
  it('accepts and refuses exactly what the general check does', () => {
    fc.assert(
      fc.property(isoShaped, (text) => {
        expect(accepted(text)).toBe(general(text));
      }),
      { seed, numRuns: 20_000 },
    );
  });

  it('takes the times devices send and refuses impossible ones', () => {
    expect(accepted(new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)).toISOString())).toBe(true);
    expect(accepted('2024-02-29T12:00:00Z')).toBe(true);
    expect(accepted('2023-02-29T12:00:00.000Z')).toBe(false);
    expect(accepted('2024-04-31T12:00:00.000Z')).toBe(false);
    expect(accepted('2024-13-01T12:00:00.000Z')).toBe(false);
    expect(accepted('2024-12-01T24:00:00.000Z')).toBe(false);
    expect(accepted('2016-12-31T23:59:60Z')).toBe(false);
    expect(accepted('2024-12-01T10:00:00.000Z ')).toBe(false);
  });
});
