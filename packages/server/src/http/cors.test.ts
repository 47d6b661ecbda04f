// CORS for browser apps on another origin: preflights of the API answered (bearer tokens, no
// cookies), the answer's headers readable, SYNCLINE_CORS_ORIGINS narrowing it, /admin left out.
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { parseCorsOrigins } from './cors.js';

let t: TestApp | undefined;
afterEach(() => t?.close());

const app = 'http://app.example.test:5173';

const preflight = (url: string, origin: string, headers = 'authorization,content-type') =>
  t!.app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': headers,
    },
  });

describe('CORS on the API', () => {
  it('answers a preflight from any origin by default, without credentials', async () => {
    t = await createTestApp();
    const res = await preflight('/api/sync', app, 'authorization,content-type,content-encoding');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(app);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    const allowed = String(res.headers['access-control-allow-headers']).split(/,\s*/);
    expect(allowed).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'content-encoding']),
    );
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    expect(res.headers['access-control-max-age']).toBe('600');
  });

  it('lets the page read the answer and its Retry-After on a real request', async () => {
    t = await createTestApp();
    const token = await t.token('u1', 't1');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sync',
      headers: {
        origin: app,
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      payload: { deviceId: 'dev-cors', changes: [] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(app);
    expect(String(res.headers['access-control-expose-headers']).split(/,\s*/)).toContain(
      'retry-after',
    );
    // A refusal is readable too: the browser must see the error, not a CORS failure.
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/sync/status',
      headers: { origin: app },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(app);
  });

  it('with SYNCLINE_CORS_ORIGINS, allows the listed origins and no other', async () => {
    t = await createTestApp({ corsOrigins: parseCorsOrigins(`${app}, https://b.example.test`) });
    const listed = await preflight('/api/sync', 'https://b.example.test');
    expect(listed.statusCode).toBe(204);
    expect(listed.headers['access-control-allow-origin']).toBe('https://b.example.test');
    const other = await preflight('/api/sync', 'https://evil.example.test');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const token = await t.token('u1', 't1');
    const direct = await t.app.inject({
      method: 'GET',
      url: '/api/sync/status',
      headers: { origin: 'https://evil.example.test', authorization: `Bearer ${token}` },
    });
    expect(direct.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends no CORS headers outside /api/', async () => {
    t = await createTestApp();
    for (const url of ['/admin/', '/healthz', '/docs/json']) {
      const res = await preflight(url, app);
      expect(res.headers['access-control-allow-origin'], url).toBeUndefined();
    }
    const page = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: app } });
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('parseCorsOrigins', () => {
  it('reads * or a comma list of origins', () => {
    expect(parseCorsOrigins(undefined)).toBe('*');
    expect(parseCorsOrigins(' * ')).toBe('*');
    expect(parseCorsOrigins('https://a.test, http://127.0.0.1:8080')).toEqual([
      'https://a.test',
      'http://127.0.0.1:8080',
    ]);
  });

  it('refuses what is not an origin, saying what it meant', () => {
    expect(() => parseCorsOrigins('https://a.test/')).toThrow(/did you mean "https:\/\/a.test"/);
    expect(() => parseCorsOrigins('a.test')).toThrow(/not an origin/);
  });
});
