// The SDK from another origin in real Chromium: a page served from one 127.0.0.1 port syncs with
// the API on another, sending its bearer token, so every API call is preceded by a CORS
// preflight. Allowed (SYNCLINE_CORS_ORIGINS lists the page's origin), the record reaches the
// server; with SYNCLINE_CORS_ORIGINS naming a different origin, the browser refuses the answers
// to the preflights: the SDK reports a network failure, keeps the change queued, and no request
// but the preflights reaches the server.
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasChromium,
  launchChromium,
  noChromiumReason,
  openTestPage,
  pageApi,
  pageFiles,
} from '../support/chromium.js';
import { pullAll } from '../support/http.js';
import type { NetApi } from '../support/sdk-network-page.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type SyncProxy } from '../support/sync-proxy.js';

const entry = fileURLToPath(new URL('../support/sdk-network-page.ts', import.meta.url));
const call = pageApi<NetApi>('net');

/** The page's own origin: it serves the page and its bundle, and forwards nothing that matters. */
let site: SyncProxy;
/** Allows the page's origin; its recording proxy is the API origin the page calls. */
let allowing: ServerProcess;
let allowingApi: SyncProxy;
/** Allows only an origin the page is not on. */
let refusing: ServerProcess;
let refusingApi: SyncProxy;
let browser: Browser;
let context: BrowserContext;
const pageErrors: string[] = [];

const methodsTo = (api: SyncProxy, path: string) =>
  api.requests.filter((request) => request.path === path).map((request) => request.method);

describe.skipIf(!hasChromium)(
  `the SDK from another origin through CORS${hasChromium ? '' : ` (${noChromiumReason})`}`,
  () => {
    beforeAll(async () => {
      site = await startSyncProxy('http://127.0.0.1:9', { files: await pageFiles(entry) });
      const pageOrigin = new URL(site.url).origin;
      [allowing, refusing] = await Promise.all([
        startServer({ env: { SYNCLINE_CORS_ORIGINS: `https://app.example.org,${pageOrigin}` } }),
        startServer({ env: { SYNCLINE_CORS_ORIGINS: 'https://app.example.org' } }),
      ]);
      allowingApi = await startSyncProxy(allowing.url);
      refusingApi = await startSyncProxy(refusing.url);
      browser = await launchChromium();
      context = await browser.newContext();
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await Promise.all([site?.close(), allowingApi?.close(), refusingApi?.close()]);
      await Promise.all([allowing?.stop(), refusing?.stop()]);
    });

    const openPage = (): Promise<Page> => openTestPage(context, site.url, 'net', pageErrors);

    it('an allowed origin syncs a record with its bearer token, each call after a preflight', async () => {
      expect(new URL(allowingApi.url).origin).not.toBe(new URL(site.url).origin);
      const token = allowing.token('clerk', 'cross-origin');
      const page = await openPage();
      await call(page, 'open', {
        url: allowingApi.url,
        token,
        database: 'cross-origin-allowed',
        start: false,
      });
      const id = await call(page, 'create', 'from another origin');
      expect(await call(page, 'syncNow')).toMatchObject({ ok: true });
      expect(await call(page, 'status')).toMatchObject({ pending: 0, failed: 0, error: null });

      // The first sync's snapshot and the push each went after a preflight, as the token requires.
      expect(methodsTo(allowingApi, '/api/sync/snapshot')).toEqual(['OPTIONS', 'POST']);
      expect(methodsTo(allowingApi, '/api/sync')).toEqual(['OPTIONS', 'POST']);
      const { changes } = await pullAll(allowing.url, token, 'observer');
      expect(changes.filter((change) => change.entityId === id)).toEqual([
        expect.objectContaining({ entityType: 'note', payload: { text: 'from another origin' } }),
      ]);
      await call(page, 'close');
      await page.close();
    });

    it('another origin is refused: a network failure, the change stays queued, nothing applied', async () => {
      const token = refusing.token('clerk', 'cross-origin');
      const page = await openPage();
      await call(page, 'open', {
        url: refusingApi.url,
        token,
        database: 'cross-origin-refused',
        start: false,
      });
      await call(page, 'create', 'must not arrive');
      expect(await call(page, 'syncNow')).toMatchObject({ ok: false, kind: 'NETWORK' });
      expect(await call(page, 'status')).toMatchObject({
        state: 'offline',
        pending: 1,
        error: { code: 'NETWORK' },
      });
      expect(await call(page, 'find')).toHaveLength(1);

      // Only the preflight went out; the browser sent no request with the token or the change.
      expect(refusingApi.requests.map((request) => request.method)).toEqual(['OPTIONS']);
      const { changes } = await pullAll(refusing.url, token, 'observer');
      expect(changes).toEqual([]);
      await call(page, 'close');
      await page.close();
      expect(pageErrors).toEqual([]);
    });
  },
);
