// Answers are compressed as the client accepts (brotli, gzip), small ones are not, and gzip
// request bodies keep being inflated by the body parser within its limit.
import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { bulkSyncCompressionBytes } from './compression.js';

let t: TestApp;
let auth: string;
beforeAll(async () => {
  t = await createTestApp();
  auth = `Bearer ${await t.token('u1', 'compression')}`;
  const changes = Array.from({ length: 30 }, (_, i) => ({
    entityType: 'asset',
    entityId: `a${i}`,
    operation: 'CREATE',
    payload: { name: `Pump ${i}`, location: 'Depot north, shelf 4', status: 'in service' },
    clientVersion: 1,
    timestamp: new Date().toISOString(),
  }));
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/sync',
    headers: {
      authorization: auth,
      'content-encoding': 'gzip',
      'content-type': 'application/json',
    },
    payload: gzipSync(JSON.stringify({ deviceId: 'writer', changes })),
  });
  expect(res.statusCode).toBe(200);
});
afterAll(() => t.close());

const delta = (acceptEncoding?: string, pageSize = 100) =>
  t.app.inject({
    method: 'POST',
    url: '/api/sync/delta',
    headers: {
      authorization: auth,
      'content-type': 'application/json',
      ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}),
    },
    payload: JSON.stringify({ deviceId: 'reader', pageSize }),
  });

describe('compressed answers', () => {
  it('gzip and brotli as accepted, smaller than the JSON and equal to it once inflated', async () => {
    const plain = await delta();
    expect(plain.headers['content-encoding']).toBeUndefined();
    const json = plain.json();
    expect(json.changes).toHaveLength(30);

    const gz = await delta('gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString('utf8'))).toEqual(json);

    const br = await delta('br, gzip');
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString('utf8'))).toEqual(json);
  });

  it('an answer under 1 KiB goes out as it is', async () => {
    const small = await delta('gzip', 1);
    expect(small.rawPayload.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});

describe('bulk pages', () => {
  it('a page up to bulkSyncCompressionBytes is compressed in one go and sent with its length', async () => {
    const gz = await delta('gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['transfer-encoding']).toBeUndefined();
    expect(Number(gz.headers['content-length'])).toBe(gz.rawPayload.length);
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString('utf8')).changes).toHaveLength(30);
  });

  it("a push's answer, a feed page too, is compressed in one go and sent with its length", async () => {
    const gz = await t.app.inject({
      method: 'POST',
      url: '/api/sync',
      headers: {
        authorization: auth,
        'content-type': 'application/json',
        'accept-encoding': 'gzip',
      },
      payload: JSON.stringify({ deviceId: 'another-reader', changes: [] }),
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['transfer-encoding']).toBeUndefined();
    expect(Number(gz.headers['content-length'])).toBe(gz.rawPayload.length);
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString('utf8')).changes).toHaveLength(30);
  });

  it('a bigger page streams, compressed all the same', async () => {
    const bulky = await createTestApp();
    try {
      const token = `Bearer ${await bulky.token('u1', 'compression-bulky')}`;
      // Payloads of incompressible text, so that the page stays over the bound as JSON.
      const changes = Array.from({ length: 20 }, (_, i) => ({
        entityType: 'asset',
        entityId: `big${i}`,
        operation: 'CREATE',
        payload: { blob: randomBytes(90 * 1024).toString('base64') },
        clientVersion: 1,
        timestamp: new Date().toISOString(),
      }));
      const push = await bulky.app.inject({
        method: 'POST',
        url: '/api/sync',
        headers: { authorization: token, 'content-type': 'application/json' },
        payload: JSON.stringify({ deviceId: 'writer', changes }),
      });
      expect(push.statusCode).toBe(200);
      const page = await bulky.app.inject({
        method: 'POST',
        url: '/api/sync/delta',
        headers: {
          authorization: token,
          'content-type': 'application/json',
          'accept-encoding': 'gzip',
        },
        payload: JSON.stringify({ deviceId: 'reader' }),
      });
      expect(page.headers['content-encoding']).toBe('gzip');
      expect(page.headers['content-length']).toBeUndefined();
      const json = gunzipSync(page.rawPayload).toString('utf8');
      expect(json.length).toBeGreaterThan(bulkSyncCompressionBytes);
      expect(JSON.parse(json).changes).toHaveLength(20);
    } finally {
      await bulky.close();
    }
  });
});
