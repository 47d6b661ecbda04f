// JSON Schema checking with Ajv: the engine's SchemaCompiler (collection payload schemas) and the
// Fastify validator compiler (request bodies strict, querystrings and params coerced from text).
import { Ajv, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { SchemaCompiler } from '../engine/engine-api.js';

// ajv-formats is CommonJS with `export default` in its typings: under NodeNext the default import
// is module.exports at run time but typed as the module namespace.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

function newAjv(options: AjvOptions): Ajv {
  // strict: false because TypeBox and user configs carry annotation keywords Ajv does not know.
  // (It leaves strictNumbers off, and must: with it on, a query's "1e400" is coerced to Infinity
  // and then skips every number keyword, maximum included. Off, maximum refuses it, so every
  // integer a route takes has a maximum and a minimum; a test checks that they do.)
  const ajv = new Ajv({ strict: false, allErrors: true, ...options });
  addFormats(ajv);
  refuseLeapSeconds(ajv);
  return ajv;
}

/**
 * RFC 3339 admits a leap second (…T23:59:60Z), which a JavaScript Date cannot hold: such a time
 * would pass the schema and then break every comparison made with it. It is refused as a format
 * error, like any other malformed time.
 */
function refuseLeapSeconds(ajv: Ajv): void {
  const format = ajv.formats['date-time'] as {
    validate: (text: string) => boolean;
    compare?: (a: string, b: string) => number | undefined;
  };
  ajv.addFormat('date-time', {
    ...format,
    validate: (text: string) =>
      isPlainUtcTime(text) || (format.validate(text) && !Number.isNaN(Date.parse(text))),
  });
}

// The shape Date#toISOString writes, which nearly every device sends: a push of 1,000 attendance
// changes checks about 4,000 of them. Checked here by one regex test and character arithmetic;
// ajv-formats' general check splits the text and builds two match arrays per time, and that
// garbage was a measurable share of a push. Anything else (offsets, other fractions, lower case,
// a leap second) goes to the general check, so this only ever says yes where that one does.
const plainUtcTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z$/;
const daysInMonth = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isPlainUtcTime(text: string): boolean {
  if (!plainUtcTime.test(text)) return false;
  const digits = (from: number, to: number) => {
    let n = 0;
    for (let i = from; i < to; i++) n = n * 10 + text.charCodeAt(i) - 48;
    return n;
  };
  const year = digits(0, 4);
  const month = digits(5, 7);
  const day = digits(8, 10);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const lastDay = month === 2 && leap ? 29 : (daysInMonth[month] ?? 0);
  return (
    month >= 1 &&
    day >= 1 &&
    day <= lastDay &&
    digits(11, 13) <= 23 &&
    digits(14, 16) <= 59 &&
    digits(17, 19) <= 59
  );
}

/** The engine's payload checker: compiled once per schema object, answers error strings. */
export function createSchemaCompiler(): SchemaCompiler {
  const ajv = newAjv({});
  const cache = new WeakMap<object, ValidateFunction>();
  return (schema) => {
    let validate = cache.get(schema);
    if (!validate) {
      // Two configs may reuse a `$id`; the newest schema object wins instead of Ajv throwing.
      const id = typeof schema.$id === 'string' ? schema.$id : undefined;
      if (id && ajv.getSchema(id)) ajv.removeSchema(id);
      validate = ajv.compile(schema);
      cache.set(schema, validate);
    }
    const check = validate;
    return (payload) => {
      if (check(payload)) return [];
      return (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
    };
  };
}

/**
 * Fastify's validator compiler. Bodies are checked as sent: no coercion and no silent removal of
 * unknown keys (Fastify's default Ajv strips them), so a typo answers 400 instead of vanishing.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodyAjv = newAjv({ coerceTypes: false, removeAdditional: false, useDefaults: true });
  const textAjv = newAjv({ coerceTypes: 'array', removeAdditional: false, useDefaults: true });
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : textAjv;
    return ajv.compile(schema as Record<string, unknown>);
  };
}
