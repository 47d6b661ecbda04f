// Fuzzed requests: a well-formed request for a route (schema-valid values, a real token), and
// defects that each make a request one the server must refuse with a 4xx (bad auth, bad JSON,
// bytes a store cannot hold, numbers a double cannot hold, values outside the schema, …).
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { createValidatorCompiler } from '../../../packages/server/src/http/ajv-schema-compiler.js';
import { prng } from '../../../packages/server/src/testing/prng.js';
import type { JsonSchema, RouteSpec } from './route-catalog.js';
import { valueFor, type Hints } from './schema-values.js';

export interface FuzzRequest {
  route: RouteSpec;
  method: string;
  pathValues: Record<string, string>;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  /** A JSON value, serialised when sent, unless `rawBody` replaced it. */
  body?: unknown;
  rawBody?: string | Buffer<ArrayBuffer>;
  /** The defect this request carries, or 'none'. */
  defect: string;
}

/** Bearer tokens the generator can choose from: valid ones and every way a token can be wrong. */
export interface TokenPool {
  valid: readonly string[];
  /** A valid token per tenant admin, so well-formed requests also reach admin routes. */
  admins: readonly string[];
  expired: string;
  badSignature: string;
  unsigned: string;
  noTenant: string;
}

export function urlOf(baseUrl: string, request: FuzzRequest): string {
  const path = request.route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(request.pathValues[name] ?? 'x'),
  );
  const query = request.query
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
  return `${baseUrl}${path}${query ? `?${query}` : ''}`;
}

export function bodyOf(request: FuzzRequest): string | Buffer<ArrayBuffer> | undefined {
  if (request.rawBody !== undefined) return request.rawBody;
  return request.body === undefined ? undefined : JSON.stringify(request.body);
}

function queryText(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(queryText);
  if (value === null || value === undefined) return [];
  return [typeof value === 'string' ? value : JSON.stringify(value)];
}

/** A well-formed request for `route`: schema-valid path, query and body, with a valid token. */
export function wellFormed(
  route: RouteSpec,
  hints: Hints,
  tokens: TokenPool,
): fc.Arbitrary<FuzzRequest> {
  const pathArb = fc.record(
    Object.fromEntries(
      route.pathParams.map((p) => [
        p.name,
        valueFor(p.schema, hints, p.name).map((v) => queryText(v)[0] ?? 'x'),
      ]),
    ),
  ) as fc.Arbitrary<Record<string, string>>;
  const queryArb = fc.tuple(
    ...route.query.map((p) => {
      const value = valueFor(p.schema, hints, p.name);
      return (p.required ? value : fc.option(value, { nil: undefined, freq: 2 })).map((v) =>
        v === undefined ? [] : queryText(v).map((text) => [p.name, text] as [string, string]),
      );
    }),
  );
  const bodyArb: fc.Arbitrary<unknown> = route.body
    ? route.bodyRequired
      ? valueFor(route.body, hints)
      : fc.option(valueFor(route.body, hints), { nil: undefined, freq: 4 })
    : fc.constant(undefined);
  const tokenArb = fc.constantFrom(...tokens.valid, ...tokens.admins);
  const deviceArb = fc.option(fc.constantFrom(...(hints.deviceId ?? ['fuzz-device'])), {
    nil: undefined,
  });
  return fc
    .record({
      pathValues: pathArb,
      query: queryArb,
      body: bodyArb,
      token: tokenArb,
      device: deviceArb,
    })
    .map(({ pathValues, query, body, token, device }) => ({
      route,
      method: route.method,
      pathValues,
      query: query.flat(),
      headers: {
        ...(route.public ? {} : { authorization: `Bearer ${token}` }),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(device !== undefined ? { 'x-device-id': String(device) } : {}),
      },
      ...(body !== undefined ? { body } : {}),
      defect: 'none',
    }));
}

type Defect = (
  request: FuzzRequest,
  tokens: TokenPool,
  random: () => number,
) => FuzzRequest | undefined;

const pick = <T>(items: readonly T[], random: () => number): T =>
  items[Math.floor(random() * items.length)]!;

const validators = new Map<JsonSchema, (value: unknown) => boolean>();
const compile = createValidatorCompiler();
/** Whether `value` passes the route's body schema exactly as the server checks it. */
function bodyIsValid(schema: JsonSchema, value: unknown): boolean {
  let validate = validators.get(schema);
  if (!validate) {
    const compiled = compile({ schema, method: 'POST', url: '/', httpPart: 'body' }) as (
      v: unknown,
    ) => boolean;
    validate = (v) => compiled(structuredClone(v));
    validators.set(schema, validate);
  }
  return validate(value);
}

function withAuth(
  request: FuzzRequest,
  value: string | undefined,
  label: string,
): FuzzRequest | undefined {
  if (request.route.public) return undefined;
  const headers = { ...request.headers };
  if (value === undefined) delete headers.authorization;
  else headers.authorization = value;
  return { ...request, headers, defect: label };
}

function withRaw(
  request: FuzzRequest,
  raw: string | Buffer<ArrayBuffer>,
  label: string,
  headers: Record<string, string> = {},
) {
  if (!request.route.body) return undefined;
  return {
    ...request,
    rawBody: raw,
    headers: { ...request.headers, 'content-type': 'application/json', ...headers },
    defect: label,
  };
}

const textOf = (request: FuzzRequest) => JSON.stringify(request.body ?? {});

/** Every place in a JSON value: a path of keys and indexes, with the value there. */
function places(
  value: unknown,
  path: Array<string | number> = [],
): Array<{ path: Array<string | number>; value: unknown }> {
  const here = [{ path, value }];
  if (Array.isArray(value))
    return here.concat(value.flatMap((item, i) => places(item, [...path, i])));
  if (typeof value === 'object' && value !== null) {
    return here.concat(
      Object.entries(value).flatMap(([key, item]) => places(item, [...path, key])),
    );
  }
  return here;
}

function setAt(root: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

/** Puts a literal number token where a number (or any leaf of a free-form object) was. */
function withNumberToken(request: FuzzRequest, token: string, label: string, random: () => number) {
  if (request.route.body === undefined || request.body === undefined) return undefined;
  const marker = '"__syncline_fuzz_number__"';
  const leaves = places(request.body).filter(
    (p) => p.path.length > 0 && typeof p.value !== 'object',
  );
  const objects = places(request.body).filter(
    (p) => typeof p.value === 'object' && p.value !== null && !Array.isArray(p.value),
  );
  let marked: unknown;
  if (leaves.length > 0 && random() < 0.6) {
    marked = setAt(request.body, pick(leaves, random).path, '__syncline_fuzz_number__');
  } else if (objects.length > 0) {
    const target = pick(objects, random);
    const grown = { ...(target.value as object), fuzzNumber: '__syncline_fuzz_number__' };
    marked = setAt(request.body, target.path, grown);
  } else return undefined;
  return withRaw(request, JSON.stringify(marked).replace(marker, token), label);
}

/** A schema-level mutation of the body that the route's schema refuses (checked with its validator). */
function schemaViolation(
  request: FuzzRequest,
  _tokens: TokenPool,
  random: () => number,
): FuzzRequest | undefined {
  const schema = request.route.body;
  if (!schema || request.body === undefined) return undefined;
  const candidates: unknown[] = [];
  const all = places(request.body);
  for (let i = 0; i < 8; i++) {
    const place = pick(all, random);
    const kind = pick(
      ['wrong-type', 'remove', 'extra-key', 'long', 'huge', 'negative', 'enum'] as const,
      random,
    );
    let mutated: unknown;
    switch (kind) {
      case 'wrong-type':
        // A null body stands for "no body" on routes whose fields are all optional.
        if (place.path.length === 0) continue;
        mutated = setAt(
          request.body,
          place.path,
          pick([12345, 'text', true, [], {}, null, -1.5], random),
        );
        break;
      case 'remove': {
        if (place.path.length === 0) continue;
        const parentPath = place.path.slice(0, -1);
        const parent = structuredClone(
          places(request.body).find((p) => p.path.join('/') === parentPath.join('/'))!.value,
        );
        if (Array.isArray(parent)) parent.splice(Number(place.path[place.path.length - 1]), 1);
        else delete (parent as Record<string, unknown>)[String(place.path[place.path.length - 1])];
        mutated = setAt(request.body, parentPath, parent);
        break;
      }
      case 'extra-key':
        if (typeof place.value !== 'object' || place.value === null || Array.isArray(place.value))
          continue;
        mutated = setAt(request.body, place.path, { ...place.value, unexpectedFuzzKey: 1 });
        break;
      case 'long':
        mutated = setAt(request.body, place.path, 'x'.repeat(70_000));
        break;
      case 'huge':
        mutated = setAt(request.body, place.path, 2 ** 40);
        break;
      case 'negative':
        mutated = setAt(request.body, place.path, -1);
        break;
      case 'enum':
        mutated = setAt(request.body, place.path, 'NOT_A_KNOWN_VALUE');
        break;
    }
    if (mutated !== undefined && !bodyIsValid(schema, mutated)) candidates.push(mutated);
  }
  if (candidates.length === 0) return undefined;
  return { ...request, body: pick(candidates, random), defect: 'body:schema' };
}

function deepNest(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { d: value };
  return value;
}

const defects: Record<string, Defect> = {
  'auth:none': (r) => withAuth(r, undefined, 'auth:none'),
  'auth:garbage': (r, _t, random) =>
    withAuth(
      r,
      pick(
        ['Bearer abc.def.ghi', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer \u00ff\u00fe', 'bearer'],
        random,
      ),
      'auth:garbage',
    ),
  'auth:expired': (r, t) => withAuth(r, `Bearer ${t.expired}`, 'auth:expired'),
  'auth:bad-signature': (r, t) => withAuth(r, `Bearer ${t.badSignature}`, 'auth:bad-signature'),
  'auth:unsigned': (r, t) => withAuth(r, `Bearer ${t.unsigned}`, 'auth:unsigned'),
  'auth:no-tenant': (r, t) => withAuth(r, `Bearer ${t.noTenant}`, 'auth:no-tenant'),
  'body:malformed': (r, _t, random) => {
    const text = textOf(r);
    const cut = text.slice(0, Math.max(1, Math.floor(random() * text.length)));
    return withRaw(
      r,
      pick([cut, `${text}}`, `${text},`, "{'single': 1}", '{"a":01}', '{"a":NaN}', 'nul'], random),
      'body:malformed',
    );
  },
  'body:not-object': (r, _t, random) =>
    r.route.body?.type === 'object'
      ? withRaw(r, pick(['[]', '42', '"text"', 'true', '[{}]'], random), 'body:not-object')
      : undefined,
  'body:media-type': (r) =>
    withRaw(r, textOf(r), 'body:media-type', { 'content-type': 'text/plain' }),
  'body:encoding': (r) => withRaw(r, textOf(r), 'body:encoding', { 'content-encoding': 'br' }),
  'body:bad-gzip': (r, _t, random) => {
    const zipped = gzipSync(textOf(r));
    const broken =
      random() < 0.5
        ? zipped.subarray(0, Math.max(4, zipped.length >> 1))
        : Buffer.from('not gzip at all');
    return withRaw(r, broken, 'body:bad-gzip', { 'content-encoding': 'gzip' });
  },
  'body:forbidden-key': (r, _t, random) => {
    const key = pick(['__proto__', 'constructor', 'prototype'], random);
    const text = textOf(r);
    const raw =
      text.startsWith('{') && text.length > 2
        ? `{"${key}":{"polluted":true},${text.slice(1)}`
        : `{"${key}":{"polluted":true}}`;
    return withRaw(r, raw, 'body:forbidden-key');
  },
  'body:deep': (r) => {
    if (typeof r.body !== 'object' || r.body === null || Array.isArray(r.body)) return undefined;
    return withRaw(r, JSON.stringify({ ...r.body, nested: deepNest(200) }), 'body:deep');
  },
  'body:nul': (r, _t, random) => {
    if (r.body === undefined) return undefined;
    const strings = places(r.body).filter((p) => typeof p.value === 'string');
    const keys = places(r.body).filter(
      (p) => typeof p.value === 'object' && p.value !== null && !Array.isArray(p.value),
    );
    if (strings.length > 0 && random() < 0.7) {
      const place = pick(strings, random);
      const text = place.value as string;
      const at = Math.floor(random() * (text.length + 1));
      return {
        ...r,
        body: setAt(r.body, place.path, `${text.slice(0, at)}\u0000${text.slice(at)}`),
        defect: 'body:nul',
      };
    }
    if (keys.length === 0) return undefined;
    const target = pick(keys, random);
    return {
      ...r,
      body: setAt(r.body, target.path, { ...(target.value as object), 'key\u0000': 'v' }),
      defect: 'body:nul',
    };
  },
  'body:overflow-number': (r, _t, random) =>
    withNumberToken(
      r,
      pick(['1e400', '-1e400', '1.7976931348623157e309'], random),
      'body:overflow-number',
      random,
    ),
  'body:unsafe-integer': (r, _t, random) =>
    withNumberToken(
      r,
      pick(['9007199254740993', '99999999999999999999', '-9223372036854775809'], random),
      'body:unsafe-integer',
      random,
    ),
  'body:schema': schemaViolation,
  'query:nul': (r, _t, random) => {
    const params = r.route.query;
    if (params.length === 0) return undefined;
    const param = pick(params, random);
    return {
      ...r,
      query: [...r.query.filter(([k]) => k !== param.name), [param.name, `a\u0000b`]],
      defect: 'query:nul',
    };
  },
  'query:number': (r, _t, random) => {
    const params = r.route.query.filter(
      (p) =>
        JSON.stringify(p.schema).includes('"integer"') &&
        !JSON.stringify(p.schema).includes('"string"'),
    );
    if (params.length === 0) return undefined;
    const param = pick(params, random);
    const min = typeof param.schema.minimum === 'number' ? param.schema.minimum : undefined;
    const bad = [
      '1e400',
      '99999999999999999999',
      '9223372036854775808',
      'abc',
      '1.5',
      ...(min !== undefined ? [String(min - 1)] : []),
    ];
    return {
      ...r,
      query: [...r.query.filter(([k]) => k !== param.name), [param.name, pick(bad, random)]],
      defect: 'query:number',
    };
  },
  'query:enum': (r, _t, random) => {
    const params = r.route.query.filter(
      (p) => Array.isArray(p.schema.enum) || JSON.stringify(p.schema).includes('"enum"'),
    );
    if (params.length === 0) return undefined;
    const param = pick(params, random);
    return {
      ...r,
      query: [...r.query.filter(([k]) => k !== param.name), [param.name, 'NOT_A_KNOWN_VALUE']],
      defect: 'query:enum',
    };
  },
  'query:long': (r, _t, random) => {
    const params = r.route.query.filter(
      (p) => typeof p.schema.maxLength === 'number' && (p.schema.maxLength as number) < 4000,
    );
    if (params.length === 0) return undefined;
    const param = pick(params, random);
    const text = 'q'.repeat((param.schema.maxLength as number) + 1);
    return {
      ...r,
      query: [...r.query.filter(([k]) => k !== param.name), [param.name, text]],
      defect: 'query:long',
    };
  },
  'path:nul': (r, _t, random) => {
    if (r.route.pathParams.length === 0) return undefined;
    const param = pick(r.route.pathParams, random);
    return { ...r, pathValues: { ...r.pathValues, [param.name]: `id\u0000x` }, defect: 'path:nul' };
  },
  'path:long': (r, _t, random) => {
    const params = r.route.pathParams.filter((p) => typeof p.schema.maxLength === 'number');
    if (params.length === 0) return undefined;
    const param = pick(params, random);
    return {
      ...r,
      pathValues: {
        ...r.pathValues,
        [param.name]: 'p'.repeat((param.schema.maxLength as number) + 1),
      },
      defect: 'path:long',
    };
  },
  'method:wrong': (r, _t, random) => ({
    ...r,
    method: pick(['PUT', 'PROPFIND', 'NOT_A_METHOD'], random),
    defect: 'method:wrong',
  }),
};

export const defectNames = Object.keys(defects);

/**
 * A request carrying one defect that the server must refuse: `defectName` is tried first, then the
 * others in turn until one applies to the route (auth always does, but for the public routes).
 */
export function withDefect(
  request: FuzzRequest,
  tokens: TokenPool,
  defectName: string,
  seed: number,
): FuzzRequest | undefined {
  const random = prng(seed);
  const start = defectNames.indexOf(defectName);
  for (let i = 0; i < defectNames.length; i++) {
    const name = defectNames[(start + i) % defectNames.length]!;
    const result = defects[name]!(request, tokens, random);
    if (result) return result;
  }
  return undefined;
}
