// Every refusal has the protocol's shape and status: bad JSON, oversize and gzip-bomb bodies,
// forbidden keys, schema failures, unknown routes, and internal errors that leak nothing.
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { buildServer } from './build-server.js';
import { toRefusal } from './error-handler.js';

let t: TestApp;
let auth: string;
beforeAll(async () => {
  t = await createTestApp({ limits: { bodyLimit: 64 * 1024 } });
  auth = `Bearer ${await t.token('u1', 'errors')}`;
});
afterAll(() => t.close());

const change = (entityId: string, payload: unknown) => ({
  entityType: 'asset',
  entityId,
  operation: 'CREATE',
  payload,
  clientVersion: 1,
  timestamp: new Date().toISOString(),
});

function send(body: string | Buffer, headers: Record<string, string> = {}, url = '/api/sync') {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: auth, 'content-type': 'application/json', ...headers },
    payload: body,
  });
}

/** The ids of assets the tenant's feed holds, to prove a refusal left no trace. */
async function storedIds(): Promise<string[]> {
  const res = await send(
    JSON.stringify({ deviceId: 'reader', pageSize: 1000 }),
    {},
    '/api/sync/delta',
  );
  return res.json().changes.map((c: { entityId: string }) => c.entityId);
}

/** Loose view of `details`: each refusal kind puts its own fields there. */
interface RefusalDetails {
  path?: string;
  part?: string;
  errors: Array<{ path: string; keyword: string }>;
}

function expectRefusal(res: { statusCode: number; json(): unknown }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body.error as { code: string; message: string; details?: RefusalDetails };
}

describe('bodies', () => {
  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    expectRefusal(await send('{"deviceId": "d1", "changes": ['), 400, 'MALFORMED_JSON');
    expectRefusal(await send(''), 400, 'MALFORMED_JSON');
  });

  it('a body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({
      deviceId: 'd1',
      changes: [change('big', { blob: 'x'.repeat(70 * 1024) })],
    });
    expectRefusal(await send(big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a gzip body is accepted and applied', async () => {
    const body = gzipSync(
      JSON.stringify({ deviceId: 'd1', changes: [change('zipped', { name: 'gz' })] }),
    );
    const res = await send(body, { 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(200);
    expect(res.json().results[0]).toMatchObject({ entityId: 'zipped', status: 'APPLIED' });
  });

  it('a gzip bomb → 413 without inflating it', async () => {
    // 64 MiB of zeros packs into ~64 KiB; the limit is 64 KiB decompressed.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    expectRefusal(await send(bomb, { 'content-encoding': 'gzip' }), 413, 'PAYLOAD_TOO_LARGE');
    // Inflating it whole would have held 64 MiB at once.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('a gzip body that expands past the limit while its compressed size fits → 413', async () => {
    const payload = {
      deviceId: 'd1',
      changes: [change('expands', { blob: 'y'.repeat(200 * 1024) })],
    };
    const body = gzipSync(JSON.stringify(payload));
    expect(body.length).toBeLessThan(64 * 1024);
    expectRefusal(await send(body, { 'content-encoding': 'gzip' }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a corrupt gzip body → 400 MALFORMED_JSON; another encoding → 415', async () => {
    const corrupt = gzipSync('{"deviceId":"d1","changes":[]}').subarray(0, 12);
    expectRefusal(await send(corrupt, { 'content-encoding': 'gzip' }), 400, 'MALFORMED_JSON');
    expectRefusal(await send('{}', { 'content-encoding': 'br' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a body that is not JSON → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    expectRefusal(
      await send('deviceId=d1', { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});

describe('forbidden keys', () => {
  const cases: Array<[string, string, string]> = [
    [
      '__proto__',
      `{"deviceId":"d1","changes":[${JSON.stringify(change('fk1', {})).replace('{}', '{"__proto__":{"isAdmin":true}}')}]}`,
      '$.changes[0].payload.__proto__',
    ],
    [
      'constructor',
      JSON.stringify({
        deviceId: 'd1',
        changes: [change('fk2', { a: { constructor: { prototype: { x: 1 } } } })],
      }),
      '$.changes[0].payload.a.constructor',
    ],
    [
      'prototype',
      JSON.stringify({ deviceId: 'd1', changes: [change('fk3', { prototype: 1 })] }),
      '$.changes[0].payload.prototype',
    ],
  ];
  for (const [key, body, path] of cases) {
    it(`${key} anywhere in a body → 400 FORBIDDEN_KEY, nothing stored`, async () => {
      const error = expectRefusal(await send(body), 400, 'FORBIDDEN_KEY');
      expect(error.details).toEqual({ path });
    });
  }

  it('in gzip bodies and in query strings too', async () => {
    const body = gzipSync(
      JSON.stringify({ deviceId: 'd1', changes: [change('fk4', { prototype: 1 })] }),
    );
    expectRefusal(await send(body, { 'content-encoding': 'gzip' }), 400, 'FORBIDDEN_KEY');
    const query = await t.app.inject({
      method: 'GET',
      url: '/api/sync/conflicts?constructor=1',
      headers: { authorization: auth },
    });
    expectRefusal(query, 400, 'FORBIDDEN_KEY');
  });

  it('left no trace', async () => {
    const ids = await storedIds();
    expect(ids).toContain('zipped');
    expect(ids.filter((id) => id.startsWith('fk'))).toEqual([]);
  });
});

describe('validation', () => {
  it('a body that breaks its schema → 400 VALIDATION_FAILED with details', async () => {
    const error = expectRefusal(
      await send(JSON.stringify({ changes: [{ ...change('v1', {}), operation: 'UPSERT' }] })),
      400,
      'VALIDATION_FAILED',
    );
    expect(error.details?.part).toBe('body');
    const paths = (error.details?.errors ?? []).map((e: { path: string }) => e.path);
    expect(paths).toContain('/');
    expect(paths).toContain('/changes/0/operation');
  });

  it('unknown keys are refused, not silently dropped', async () => {
    const error = expectRefusal(
      await send(
        JSON.stringify({ deviceId: 'd1', changes: [{ ...change('v2', {}), extra: true }] }),
      ),
      400,
      'VALIDATION_FAILED',
    );
    expect(error.details?.errors[0]).toMatchObject({
      path: '/changes/0',
      keyword: 'additionalProperties',
    });
  });

  it('types are not coerced in bodies, but are in query strings', async () => {
    const res = await send(
      JSON.stringify({ deviceId: 'd1', changes: [{ ...change('v3', {}), clientVersion: '1' }] }),
    );
    expectRefusal(res, 400, 'VALIDATION_FAILED');
    const ok = await t.app.inject({
      method: 'GET',
      url: '/api/sync/conflicts?limit=5',
      headers: { authorization: auth },
    });
    expect(ok.statusCode).toBe(200);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/api/sync/conflicts?limit=many',
      headers: { authorization: auth },
    });
    expectRefusal(bad, 400, 'VALIDATION_FAILED');
  });
});

describe('routes and failures', () => {
  it('an unknown route → 404 NOT_FOUND, with or without a token', async () => {
    expectRefusal(await t.app.inject({ method: 'GET', url: '/api/nope' }), 404, 'NOT_FOUND');
    expectRefusal(
      await t.app.inject({
        method: 'POST',
        url: '/api/sync/nope',
        headers: { authorization: auth },
      }),
      404,
      'NOT_FOUND',
    );
  });

  it('an unexpected error → 500 INTERNAL that leaks nothing', async () => {
    const app = buildServer({
      services: {
        ...t.services,
        engine: {
          ...t.engine,
          status: async () => {
            throw new Error('SQLITE_CORRUPT at /var/lib/secret/path');
          },
        },
      },
      auth: { secret: t.secret },
      logger: false,
    });
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/api/sync/status',
        headers: { authorization: auth },
      });
      const error = expectRefusal(res, 500, 'INTERNAL');
      expect(res.body).not.toContain('SQLITE');
      expect(res.body).not.toContain('secret');
      expect(error.details).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('engine refusals keep their code and status (DEVICE_REVOKED → 403)', async () => {
    expect((await send(JSON.stringify({ deviceId: 'revoked-1', changes: [] }))).statusCode).toBe(
      200,
    );
    const revoke = await t.app.inject({
      method: 'DELETE',
      url: '/api/sync/devices/revoked-1',
      headers: { authorization: auth },
    });
    expect(revoke.statusCode).toBe(204);
    const res = await send(JSON.stringify({ deviceId: 'revoked-1', changes: [] }));
    expectRefusal(res, 403, 'DEVICE_REVOKED');
  });
});

describe('a value the database refuses (the last line, behind validation)', () => {
  it('answers 400 VALIDATION_FAILED for SQLite datatype errors, 500 for others', () => {
    const db = new Database(':memory:');
    const refused = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return toRefusal(error);
      }
      throw new Error('expected the statement to fail');
    };
    try {
      expect(refused(() => db.prepare('SELECT 1 LIMIT ?').get(1.5))).toEqual({
        status: 400,
        body: { code: 'VALIDATION_FAILED', message: 'A value in the request cannot be stored' },
      });
      expect(refused(() => db.prepare('SELECT * FROM missing').get()).status).toBe(500);
    } finally {
      db.close();
    }
  });
});
