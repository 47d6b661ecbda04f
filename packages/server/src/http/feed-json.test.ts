// The JSON writers of the snapshot, delta and push answers against JSON.stringify of the object
// form: the same value for any ids, payloads and nulls, and answers the protocol's response
// schemas accept.
import {
  deltaResponseSchema,
  pushResponseSchema,
  snapshotResponseSchema,
  type ChangeResult,
  type ServerChange,
} from '@syncline/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeJson } from '../engine/change-json.js';
import { snapshotPageJson } from '../engine/snapshot.js';
import { createSchemaCompiler } from './ajv-schema-compiler.js';
import { deltaPageJson, pushPageJson } from './feed-json.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647);
console.log(`change-json properties: fast-check seed ${seed}`);
const params = { seed, numRuns: 300 };

const text = fc.string({ unit: 'binary', maxLength: 12 });
const json = fc.jsonValue({ maxDepth: 3 });
/** Times as stored: ISO strings of four-digit years. */
const time = fc
  .date({
    min: new Date('1970-01-01T00:00:00Z'),
    max: new Date('9999-12-31T23:59:59Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());
const change = fc.record({
  entityType: text,
  entityId: text,
  operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE' as const),
  payload: fc.option(fc.dictionary(text, json, { maxKeys: 5 }), { nil: null }),
  version: fc.integer({ min: 1, max: 2_147_483_647 }),
  timestamp: time,
  updatedBy: text,
  deviceId: fc.option(text, { nil: null }),
  checksum: fc.option(text, { nil: null }),
  deletedAt: fc.option(time, { nil: null }),
  seq: fc.nat(),
});

/** What a value reads as after JSON: -0 in a generated payload is 0 on the wire. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const stored = (c: ServerChange) => {
  const { payload, ...rest } = c;
  return { ...rest, payloadJson: payload === null ? null : JSON.stringify(payload) };
};

describe('changeJson', () => {
  it('writes the value JSON.stringify writes for the object form', () => {
    fc.assert(
      fc.property(change, (fields) => {
        const object: ServerChange = { ...fields, clientVersion: fields.version };
        const written = changeJson(stored(object));
        expect(JSON.parse(written)).toEqual(asJson(object));
      }),
      params,
    );
  });

  it('writes a revoked removal with its flag, as the object form has it', () => {
    const removal: ServerChange = {
      entityType: 'visit',
      entityId: 'v1',
      operation: 'DELETE',
      payload: null,
      version: 2,
      clientVersion: 2,
      timestamp: new Date(0).toISOString(),
      updatedBy: '',
      deviceId: null,
      checksum: null,
      deletedAt: null,
      seq: 7,
      revoked: true,
    };
    expect(JSON.parse(changeJson(stored(removal)))).toEqual(removal);
  });

  it('refuses a version or seq that is not an integer rather than write invalid JSON', () => {
    const base = {
      entityType: 'note',
      entityId: 'n1',
      operation: 'CREATE' as const,
      payloadJson: '{}',
      version: 1,
      clientVersion: 1,
      timestamp: new Date(0).toISOString(),
      updatedBy: 'u',
      deviceId: null,
      checksum: null,
      deletedAt: null,
      seq: 1,
    };
    expect(() => changeJson({ ...base, seq: Number.NaN })).toThrow(TypeError);
    expect(() => changeJson({ ...base, version: 1.5 })).toThrow(TypeError);
  });
});

describe('snapshotPageJson', () => {
  const check = createSchemaCompiler()(
    snapshotResponseSchema as unknown as Record<string, unknown>,
  );

  it('writes an answer the snapshot response schema accepts, equal to the object form', () => {
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 5 }),
        fc.option(text, { nil: null }),
        text,
        fc.nat(),
        (changes, cursor, syncToken, total) => {
          const objects: ServerChange[] = changes.map((c) => ({ ...c, clientVersion: c.version }));
          const page = {
            changes: objects.map((c) => changeJson(stored(c))),
            cursor,
            hasMore: cursor !== null,
            syncToken,
            total,
          };
          const parsed: unknown = JSON.parse(snapshotPageJson(page).toString('utf8'));
          expect(check(parsed)).toEqual([]);
          expect(parsed).toEqual(asJson({ ...page, changes: objects }));
        },
      ),
      params,
    );
  });
});

const results = fc.array(
  fc.record({
    mutationId: text,
    entityType: text,
    entityId: text,
    status: fc.constantFrom('APPLIED', 'DUPLICATE', 'CONFLICT', 'REJECTED' as const),
    version: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
  }),
  { maxLength: 4 },
);

/** Object forms with undefined fields dropped, as JSON has them. */
const withoutUndefined = (items: readonly object[]): ChangeResult[] =>
  JSON.parse(JSON.stringify(items)) as ChangeResult[];

describe('deltaPageJson and pushPageJson', () => {
  const compile = createSchemaCompiler();
  const checkDelta = compile(deltaResponseSchema as unknown as Record<string, unknown>);
  const checkPush = compile(pushResponseSchema as unknown as Record<string, unknown>);

  it('write answers the delta and push response schemas accept, equal to the object forms', () => {
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 5 }),
        text,
        fc.boolean(),
        fc.boolean(),
        results,
        time,
        (changes, syncToken, hasMore, reset, resultList, serverTime) => {
          const objects: ServerChange[] = changes.map((c) => ({ ...c, clientVersion: c.version }));
          const texts = objects.map((c) => changeJson(stored(c)));
          const delta = {
            nextPageToken: hasMore ? syncToken : null,
            hasMore,
            syncToken,
            ...(reset ? { reset: true } : {}),
          };
          const deltaParsed: unknown = JSON.parse(
            deltaPageJson({ ...delta, changes: texts }).toString('utf8'),
          );
          expect(checkDelta(deltaParsed)).toEqual([]);
          expect(deltaParsed).toEqual(asJson({ ...delta, changes: objects }));

          const push = {
            syncToken,
            hasMore,
            ...(reset ? { reset: true } : {}),
            results: withoutUndefined(resultList),
            conflicts: [],
            serverTime,
          };
          const pushParsed: unknown = JSON.parse(
            pushPageJson(
              { ...push, changes: texts },
              { results: (r) => JSON.stringify(r), conflicts: (c) => JSON.stringify(c) },
            ).toString('utf8'),
          );
          expect(checkPush(pushParsed)).toEqual([]);
          expect(pushParsed).toEqual(asJson({ ...push, changes: objects }));
        },
      ),
      params,
    );
  });
});
