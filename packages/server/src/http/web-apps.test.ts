// The web apps plugin: index.html for client-side routes, assets with long caching, 404 for a
// missing asset, security headers, public pages, and a clear 503 while an app is not built.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeServices, type SynclineServices } from '../app/compose.js';
import { openStore, type KyselySyncStore } from '../store/index.js';
import { createTokenVerifier } from './auth.js';
import { buildServer } from './build-server.js';

let dir: string;
let store: KyselySyncStore;
let services: SynclineServices;
let app: ReturnType<typeof buildServer>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncline-web-'));
  await mkdir(join(dir, 'admin', 'assets'), { recursive: true });
  await writeFile(join(dir, 'admin', 'index.html'), '<!doctype html><title>Admin</title>');
  await writeFile(join(dir, 'admin', 'assets', 'app-1234.js'), 'console.log(1)');
  store = await openStore({ dataDir: dir });
  services = composeServices({ store });
  app = buildServer({
    services,
    auth: createTokenVerifier({ secret: 'x'.repeat(32) }),
    logger: false,
    webApps: [
      { prefix: '/admin', root: join(dir, 'admin'), buildHint: 'npm run build' },
      { prefix: '/app', root: join(dir, 'missing'), buildHint: 'npm run build -w apps/field' },
    ],
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await services.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a built app', () => {
  it('serves index.html, without a token, for the app root and every client route', async () => {
    for (const url of ['/admin', '/admin/', '/admin/conflicts/abc', '/admin/devices?filter=x']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain('<title>Admin</title>');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('serves hashed assets for a year and answers 404 for a missing one', async () => {
    const asset = await app.inject({ method: 'GET', url: '/admin/assets/app-1234.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await app.inject({ method: 'GET', url: '/admin/assets/gone.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
  });

  it('does not serve files outside its folder', async () => {
    const res = await app.inject({ method: 'GET', url: '/admin/..%2f..%2fsyncline.db' });
    expect(res.statusCode).not.toBe(200);
  });
});

describe('an app that is not built', () => {
  it('answers 503 with how to build it', async () => {
    const res = await app.inject({ method: 'GET', url: '/app/anything' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('npm run build -w apps/field');
  });
});
