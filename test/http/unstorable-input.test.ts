// Regressions from review: input a store cannot hold answered 500 on PostgreSQL (a NUL byte in a
// string: SQLSTATE 22021; an integer past bigint: 22003) or 500 on both (an offset of 1e400), and
// a payload number 1e400 was acknowledged APPLIED and stored as null. Each is now a 400
// VALIDATION_FAILED naming what is wrong, alike on SQLite and PostgreSQL, and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../packages/server/src/testing/test-app.js';

const TENANT = 'unstorable';
let t: TestApp;
let user: string;
let admin: string;
const now = () => new Date().toISOString();

beforeAll(async () => {
  t = await createTestApp();
  user = `Bearer ${await t.token('u1', TENANT)}`;
  admin = `Bearer ${await t.token('boss', TENANT, 'admin')}`;
  const seeded = await send(
    'POST',
    '/api/sync',
    JSON.stringify({ deviceId: 'dev-1', changes: [change('a-1', '{"name":"x"}')] }),
  );
  expect(seeded.json().results[0].status).toBe('APPLIED');
});
afterAll(() => t.close());

/** A change as JSON text, so that a payload can hold literals JSON.stringify cannot write. */
function change(entityId: string, payload: string) {
  return JSON.parse(
    `{"entityType":"asset","entityId":"${entityId}","operation":"CREATE","clientVersion":1,` +
      `"timestamp":"${now()}","payload":${payload}}`,
  ) as object;
}

function send(method: 'GET' | 'POST' | 'DELETE', url: string, body?: string, auth = user) {
  return t.app.inject({
    method,
    url,
    headers: {
      authorization: auth,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: body } : {}),
  });
}

async function snapshot() {
  const reads = t.store.forTenant(TENANT);
  const [state, feed, mutations, devices] = await Promise.all([
    reads.getTenantState(),
    reads.readFeed({ afterSeq: 0, limit: 1000 }),
    reads.listMutations({ limit: 1000 }),
    reads.listDevices({}),
  ]);
  const offline = await t.app.inject({
    method: 'GET',
    url: '/api/offline/pending?status=pending',
    headers: { authorization: admin },
  });
  return { state, feed, mutations, devices, offline: offline.json() as unknown };
}

const nowText = () => now();
const push = (extra: string, changes = '[]') => `{"deviceId":"dev-1"${extra},"changes":${changes}}`;
const pushPayload = (payload: string) =>
  `{"deviceId":"dev-1","changes":[{"entityType":"asset","entityId":"n-1","operation":"CREATE",` +
  `"clientVersion":1,"timestamp":"${nowText()}","payload":${payload}}]}`;

interface Probe {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  body?: string;
  admin?: boolean;
  /** details.path, where the refusal names one. */
  path?: string;
}

const probes = (): Probe[] => [
  // Integers past what any store (or a double) holds, in queries, paths and bodies.
  { name: 'offset 1e400', method: 'GET', url: '/api/offline/pending?offset=1e400' },
  { name: 'offset 1e20', method: 'GET', url: '/api/offline/pending?offset=99999999999999999999' },
  { name: 'offset 2^63', method: 'GET', url: '/api/offline/pending?offset=9223372036854775808' },
  { name: 'limit 1e400', method: 'GET', url: '/api/offline/pending?limit=1e400' },
  { name: 'history id 1e20', method: 'GET', url: '/api/offline/history/99999999999999999999' },
  { name: 'sync id 2^63', method: 'POST', url: '/api/offline/sync/9223372036854775808' },
  { name: 'retry ids 1e20', method: 'POST', url: '/api/offline/retry', body: '{"ids":[1e20]}' },
  {
    name: 'retry ids 2^53+1',
    method: 'POST',
    url: '/api/offline/retry',
    body: '{"ids":[9007199254740993]}',
    path: '$.ids[0]',
  },
  { name: 'conflicts limit 1e400', method: 'GET', url: '/api/sync/conflicts?limit=1e400' },
  {
    name: 'delta pageSize 1e400',
    method: 'POST',
    url: '/api/sync/delta',
    body: '{"deviceId":"dev-1","pageSize":1e400}',
    path: '$.pageSize',
  },
  {
    name: 'restore version 1e20',
    method: 'POST',
    url: '/api/sync/entities/asset/a-1/restore',
    body: '{"version":1e20}',
    admin: true,
    path: '$.version',
  },
  // Numbers a payload may not hold: overflow, beyond 2^53, underflow to zero.
  { name: 'payload 1e400', method: 'POST', url: '/api/sync', body: pushPayload('{"n":1e400}') },
  {
    name: 'payload 2^53+1',
    method: 'POST',
    url: '/api/sync',
    body: pushPayload('{"n":9007199254740993}'),
    path: '$.changes[0].payload.n',
  },
  {
    name: 'payload 1e-400',
    method: 'POST',
    url: '/api/sync',
    body: pushPayload('{"deep":[0,{"n":1e-400}]}'),
    path: '$.changes[0].payload.deep[1].n',
  },
  // NUL in any string: body fields, payloads, keys, queries, path parameters.
  {
    name: 'deviceName NUL',
    method: 'POST',
    url: '/api/sync',
    body: push(',"deviceName":"a\\u0000b"'),
    path: '$.deviceName',
  },
  {
    name: 'payload NUL',
    method: 'POST',
    url: '/api/sync',
    body: pushPayload('{"name":"a\\u0000b"}'),
    path: '$.changes[0].payload.name',
  },
  {
    name: 'payload key NUL',
    method: 'POST',
    url: '/api/sync',
    body: pushPayload('{"a\\u0000":1}'),
  },
  {
    name: 'register deviceName NUL',
    method: 'POST',
    url: '/api/sync/devices',
    body: '{"deviceId":"dev-1","deviceName":"a\\u0000b"}',
  },
  {
    name: 'register platform NUL',
    method: 'POST',
    url: '/api/sync/devices',
    body: '{"deviceId":"dev-1","platform":"\\u0000"}',
  },
  {
    name: 'retry mutationIds NUL',
    method: 'POST',
    url: '/api/sync/queue/retry',
    body: '{"mutationIds":["a\\u0000b"]}',
  },
  {
    name: 'resolve conflictId NUL',
    method: 'POST',
    url: '/api/sync/conflicts/resolve',
    body: '{"conflictId":"a\\u0000b","resolution":"SERVER_WINS"}',
  },
  {
    name: 'offline operation_id NUL',
    method: 'POST',
    url: '/api/offline/queue',
    body: '{"operation_type":"sale","operation_id":"x\\u0000y","endpoint":"/api/sales","method":"POST"}',
    path: '$.operation_id',
  },
  {
    name: 'offline request_body NUL',
    method: 'POST',
    url: '/api/offline/queue',
    body: '{"operation_type":"sale","endpoint":"/api/sales","method":"POST","request_body":{"a":"\\u0000"}}',
  },
  {
    name: 'attendance facility NUL',
    method: 'POST',
    url: '/api/attendance/sync',
    body: `{"records":[{"facilityId":"f\\u00001","deviceId":"dev-1","clientTimestamp":"${nowText()}"}]}`,
  },
  {
    name: 'healthcare data NUL',
    method: 'POST',
    url: '/api/v1/sync/queue',
    body: `{"deviceId":"dev-1","operation":"CREATE","resourceType":"patient","data":{"name":"\\u0000"},"createdAtClient":"${nowText()}"}`,
  },
  {
    name: 'userId %00 (offline)',
    method: 'GET',
    url: '/api/offline/pending?userId=%00',
    path: '$query.userId',
  },
  { name: 'userId %00 (status)', method: 'GET', url: '/api/offline/status?userId=%00' },
  { name: 'userId %00 (queue stats)', method: 'GET', url: '/api/sync/queue/stats?userId=%00' },
  { name: 'userId %00 (seed 001)', method: 'GET', url: '/api/v1/sync/pending?userId=%00' },
  {
    name: 'id %00 (seed 001)',
    method: 'POST',
    url: '/api/v1/sync/process/a%00b',
    path: '$params.id',
  },
  { name: 'device %00', method: 'DELETE', url: '/api/sync/devices/a%00b' },
  {
    name: 'entity id %00',
    method: 'GET',
    url: '/api/sync/entities/asset/a%00b/history',
    admin: true,
  },
];

describe('input no store can hold answers 400 and changes nothing', () => {
  it.each(probes().map((p) => [p.name, p] as const))('%s', async (_name, probe) => {
    const before = await snapshot();
    const res = await send(probe.method, probe.url, probe.body, probe.admin ? admin : user);
    expect(res.statusCode, res.body).toBe(400);
    const error = res.json().error as { code: string; details?: { path?: string } };
    expect(error.code).toBe('VALIDATION_FAILED');
    if (probe.path) expect(error.details?.path).toBe(probe.path);
    expect(await snapshot()).toEqual(before);
  });

  it('a payload number 1e400 is refused, never stored as null', async () => {
    const res = await send('POST', '/api/sync', pushPayload('{"n":1e400}'));
    expect(res.statusCode).toBe(400);
    const feed = await t.store.forTenant(TENANT).readFeed({ afterSeq: 0, limit: 1000 });
    expect(feed.map((row) => row.entityId)).toEqual(['a-1']);
  });

  it('keeps the numbers a double holds: small, subnormal, and up to 2^53 − 1', async () => {
    const res = await send(
      'POST',
      '/api/sync',
      pushPayload('{"max":9007199254740991,"min":-9007199254740991,"tiny":5e-324,"f":0.1}'),
    );
    expect(res.statusCode).toBe(200);
    const result = res.json().results[0] as { status: string };
    expect(result.status).toBe('APPLIED');
    const feed = await t.store.forTenant(TENANT).readFeed({ afterSeq: 0, limit: 1000 });
    expect(feed.find((row) => row.entityId === 'n-1')?.payload).toEqual({
      max: 9007199254740991,
      min: -9007199254740991,
      tiny: 5e-324,
      f: 0.1,
    });
  });
});

interface SchemaNode {
  type?: string | string[];
  maximum?: number;
  exclusiveMaximum?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  enum?: unknown[];
  [key: string]: unknown;
}

/** Every integer or number schema under `node`, with where it is. */
function numbersIn(node: unknown, where: string, found: Array<[string, SchemaNode]>): void {
  if (node === null || typeof node !== 'object') return;
  const schema = node as SchemaNode;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if ((types.includes('integer') || types.includes('number')) && !schema.enum) {
    found.push([where, schema]);
  }
  for (const [key, child] of Object.entries(schema)) {
    if (key === 'examples' || key === 'default') continue;
    numbersIn(child, `${where}/${key}`, found);
  }
}

describe('every integer a route takes has a maximum and a minimum', () => {
  it('holds for each query, path parameter and body in the OpenAPI document', () => {
    const doc = t.app.swagger() as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ in: string; name: string; schema: unknown }>;
            requestBody?: unknown;
          }
        >
      >;
    };
    const found: Array<[string, SchemaNode]> = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const parameter of operation.parameters ?? []) {
          numbersIn(parameter.schema, `${method} ${path} ${parameter.in}.${parameter.name}`, found);
        }
        numbersIn(operation.requestBody, `${method} ${path} body`, found);
      }
    }
    expect(found.length).toBeGreaterThan(10);
    // Without both, a query's "1e400" (Infinity once coerced) or "-1e400" would pass.
    const unbounded = found
      .filter(
        ([, schema]) =>
          (schema.maximum === undefined && schema.exclusiveMaximum === undefined) ||
          (schema.minimum === undefined && schema.exclusiveMinimum === undefined),
      )
      .map(([where]) => where);
    expect(unbounded).toEqual([]);
  });
});
