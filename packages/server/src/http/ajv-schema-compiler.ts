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
    validate: (text: string) => format.validate(text) && !Number.isNaN(Date.parse(text)),
  });
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
