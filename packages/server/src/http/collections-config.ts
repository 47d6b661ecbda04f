// The collections config's own schema. A config is checked against it before anything is built
// from it (at start, in `syncline doctor`, in buildServer), so that a misspelled key or value is
// an error naming its path, never a silent default: `{ "visit": { "acess": "owner" } }` would
// otherwise leave the collection readable by the whole tenant.
import { Type, type Static } from '@fastify/type-provider-typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { ConflictStrategy } from '@syncline/protocol';
import { FieldPolicy, entityTypePattern, type CollectionsConfig } from '../engine/collections.js';

const strategySchema = Type.Unsafe<ConflictStrategy>({
  type: 'string',
  enum: Object.values(ConflictStrategy),
});

const accessRuleSchema = Type.Recursive(
  (rule) =>
    Type.Union([
      Type.Literal('tenant'),
      Type.Literal('owner'),
      Type.Object(
        { field: Type.String({ minLength: 1 }), claim: Type.String({ minLength: 1 }) },
        { additionalProperties: false },
      ),
      Type.Array(rule, { minItems: 1 }),
    ]),
  { $id: 'SynclineAccessRule' },
);

const collectionSchema = Type.Object(
  {
    /** A JSON Schema; compiled on its own, so that its errors are Ajv's. */
    schema: Type.Optional(Type.Object({}, { additionalProperties: true })),
    access: Type.Optional(accessRuleSchema),
    conflictStrategy: Type.Optional(strategySchema),
    mergePolicy: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Unsafe<FieldPolicy>({ type: 'string', enum: Object.values(FieldPolicy) }),
      ),
    ),
    timeDetector: Type.Optional(
      Type.Object(
        {
          fields: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
          toleranceMs: Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 * 1000 }),
        },
        { additionalProperties: false },
      ),
    ),
    // Payload time fields refused when in the future; [] turns a preset's rule off.
    notInFuture: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true })),
    clientWinsAdminOnly: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const collectionsConfigSchema = Type.Object(
  {
    strict: Type.Optional(Type.Boolean()),
    presets: Type.Optional(Type.Boolean()),
    defaultStrategy: Type.Optional(strategySchema),
    collections: Type.Optional(
      Type.Record(Type.String({ pattern: entityTypePattern.source }), collectionSchema, {
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
);

// A type-level check that the schema and the engine's config type describe the same thing.
type SchemaConfig = Static<typeof collectionsConfigSchema>;
const _sameShape: (config: SchemaConfig) => CollectionsConfig = (config) => config;

let compiled: ReturnType<Ajv['compile']> | undefined;

/** `/collections/visit` → `collections.visit`. */
const dotted = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');

const at = (path: string, key?: string) => [path, key].filter((p) => p).join('.') || '(root)';

/** One line per fault, such as `collections.visit.acess: unknown key`. */
function describe(errors: ErrorObject[]): string[] {
  const lines = new Set<string>();
  for (const e of errors) {
    const path = dotted(e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      lines.add(
        path === 'collections'
          ? `${at(path, key)}: not a valid entity type name (${entityTypePattern.source})`
          : `${at(path, key)}: unknown key`,
      );
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      lines.add(`${at(path)}: must be one of ${allowed.join(', ')}`);
    } else if (e.keyword !== 'anyOf' && e.keyword !== 'if') {
      lines.add(`${at(path)}: ${e.message ?? e.keyword}`);
    }
  }
  // A value no branch of the access rule accepts reports every branch; one line says it all.
  if (lines.size === 0) {
    for (const e of errors) lines.add(`${at(dotted(e.instancePath))}: ${e.message ?? e.keyword}`);
  }
  return [...lines];
}

const accessRulePath = /\/access(\/|$)/;

/** The faults of a collections config, one line each; empty when it is valid. */
export function collectionsConfigErrors(config: unknown): string[] {
  compiled ??= new Ajv({ strict: false, allErrors: true }).compile(collectionsConfigSchema);
  if (compiled(config)) return [];
  const errors = compiled.errors ?? [];
  // An access rule that fits no branch of its union reports a fault per branch: name an unknown
  // key if there is one, else say once what a rule may be, at the deepest rule that failed.
  const access = errors.filter((e) => accessRulePath.test(e.instancePath));
  const lines = describe(errors.filter((e) => !accessRulePath.test(e.instancePath)));
  const unknownKeys = access.filter((e) => e.keyword === 'additionalProperties');
  if (unknownKeys.length > 0) return [...lines, ...describe(unknownKeys)];
  const deepest = access
    .filter((e) => e.keyword === 'anyOf')
    .sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  if (deepest) {
    lines.push(
      `${dotted(deepest.instancePath)}: must be "tenant", "owner", { "field", "claim" } or a list of these`,
    );
  } else {
    lines.push(...describe(access));
  }
  return lines;
}

/** Throws one Error listing every fault, or returns the config as the engine's type. */
export function assertCollectionsConfig(config: unknown): CollectionsConfig {
  const errors = collectionsConfigErrors(config);
  if (errors.length > 0) throw new Error(errors.join('; '));
  return config as CollectionsConfig;
}
