// Background Sync in real Chromium: a page registers a service worker built from the SDK's /sw
// entry beside Workbox's precaching (as an app's injectManifest worker is) and writes while the server is unreachable, so the changes wait in the IndexedDB outbox.
// Chromium fires the outbox's sync event at once; the worker's drain fails and the event rejects,
// so the tag stays registered for a retry. With the server back, the sync event (dispatched
// through the DevTools protocol, as Chromium's own retry comes minutes later) lets a client in the
// worker drain the outbox with a token asked of the page: the server holds each change exactly
// once, the page's outbox is empty, and the page itself sent nothing (it never calls syncNow()).
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { PushRequest } from '@syncline/protocol';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backgroundSyncDefaults } from '../../packages/client/src/sw/index.js';
import {
  bundlePage,
  hasChromium,
  launchChromium,
  noChromiumReason,
  openTestPage,
  pageApi,
  pageFiles,
} from '../support/chromium.js';
import { expectHeldOnce } from '../support/held-once.js';
import type { BgApi } from '../support/sdk-sw-page.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type SyncProxy } from '../support/sync-proxy.js';

const pageEntry = fileURLToPath(new URL('../support/sdk-sw-page.ts', import.meta.url));
const workerEntry = fileURLToPath(new URL('../support/sdk-sw-worker.ts', import.meta.url));
const call = pageApi<BgApi>('bg');

/**
 * The worker as Workbox's injectManifest leaves it: bundled, with the precache manifest (the page,
 * by a revision of its contents) where the source says `self.__WB_MANIFEST`.
 */
async function workboxWorker(): Promise<string> {
  const page = await pageFiles(pageEntry);
  const manifest = Object.entries(page).map(([url, file]) => ({
    url,
    revision: createHash('sha256').update(file.body).digest('hex').slice(0, 16),
  }));
  const bundle = await bundlePage(workerEntry, { format: 'iife' });
  const [before, after, ...more] = bundle.split('self.__WB_MANIFEST');
  if (after === undefined || more.length > 0) throw new Error('one self.__WB_MANIFEST expected');
  return `${before}${JSON.stringify(manifest)}${after}`;
}

let server: ServerProcess;
let proxy: SyncProxy;
let browser: Browser;
let context: BrowserContext;
/** While true the proxy drops every API request: the server is unreachable. */
let unreachable = true;
const pageErrors: string[] = [];

interface Registration {
  registrationId: string;
  scopeURL: string;
  isDeleted: boolean;
}

/** The DevTools session of a page, with the service worker registrations it reports. */
async function serviceWorkerDevTools(page: Page) {
  const session: CDPSession = await context.newCDPSession(page);
  const registrations = new Map<string, Registration>();
  session.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => {
    for (const registration of updated as Registration[]) {
      if (registration.isDeleted) registrations.delete(registration.scopeURL);
      else registrations.set(registration.scopeURL, registration);
    }
  });
  await session.send('ServiceWorker.enable');
  return {
    /** Fires the sync event `tag` at the worker registered for `scope`. */
    async dispatchSync(scope: string, tag: string) {
      const registration = await vi.waitFor(() => {
        const found = registrations.get(scope);
        if (!found) throw new Error(`no service worker registration for ${scope}`);
        return found;
      });
      await session.send('ServiceWorker.dispatchSyncEvent', {
        origin: new URL(scope).origin,
        registrationId: registration.registrationId,
        tag,
        lastChance: false,
      });
    },
  };
}

describe.skipIf(!hasChromium)(
  `Background Sync through the SDK's service worker${hasChromium ? '' : ` (${noChromiumReason})`}`,
  () => {
    beforeAll(async () => {
      server = await startServer();
      proxy = await startSyncProxy(server.url, {
        files: {
          ...(await pageFiles(pageEntry)),
          '/sw.js': { type: 'text/javascript', body: await workboxWorker() },
        },
        intercept: () => (unreachable ? 'drop' : undefined),
      });
      browser = await launchChromium();
      context = await browser.newContext();
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await proxy?.close();
      await server?.stop();
    });

    it('the worker drains what the page wrote offline: each change once, the page sends nothing', async () => {
      const tenant = 'background-sync';
      const token = server.token('clerk', tenant);
      const page = await openTestPage(context, proxy.url, 'bg', pageErrors);
      const devTools = await serviceWorkerDevTools(page);
      const opened = await call(page, 'open', token, 'background-sync');
      expect(opened.backgroundSync).toBe(true);
      // Workbox runs in the same worker: it precached the page.
      expect(await call(page, 'cached')).toEqual(['/', '/page.js']);
      await vi.waitFor(async () => expect((await call(page, 'status')).state).toBe('offline'), {
        timeout: 10_000,
      });

      const ids = [
        await call(page, 'create', 'first'),
        await call(page, 'create', 'second'),
        await call(page, 'create', 'third'),
      ];
      await call(page, 'update', ids[0]!, 'first, edited');
      const writes = 4;
      expect((await call(page, 'status')).pending).toBe(writes);

      // Chromium fired the sync event itself; unreachable, the worker's drain failed, the event
      // rejected, and the tag waits for a retry. Nothing left the outbox.
      await vi.waitFor(
        async () => expect((await call(page, 'drains'))[0]?.error).toMatch(/Failed to fetch/),
        { timeout: 15_000 },
      );
      expect(await call(page, 'tags')).toContain(backgroundSyncDefaults.tag);
      expect((await call(page, 'status')).pending).toBe(writes);

      // Counted before the server comes back: a retry Chromium fires on its own from then on is
      // one of the drains that follow, never one counted as before.
      const pageRequests = (await call(page, 'requests')).length;
      const proxied = proxy.requests.length;
      const drainsBefore = (await call(page, 'drains')).length;
      unreachable = false;
      await devTools.dispatchSync(opened.scope, backgroundSyncDefaults.tag);

      // The page hears of the worker's writes through the storage: its outbox empties.
      await vi.waitFor(
        async () => expect(await call(page, 'status')).toMatchObject({ pending: 0, failed: 0 }),
        { timeout: 20_000, interval: 200 },
      );
      // Chromium may retry its own failed event meanwhile: the drains together push each write.
      const drains = await call(page, 'drains');
      const pushedByDrains = drains
        .slice(drainsBefore)
        .reduce((sum, drain) => sum + (drain.pushed ?? 0), 0);
      expect(pushedByDrains).toBe(writes);

      // The page made no request since the server came back: the worker sent everything.
      const requests = await call(page, 'requests');
      expect(requests.slice(pageRequests)).toEqual([]);
      expect(requests.every((request) => !request.answered)).toBe(true);
      const pushed = proxy.requests
        .slice(proxied)
        .filter((request) => request.path === '/api/sync' && request.body)
        .flatMap((request) => (request.body as PushRequest).changes.map((c) => c.mutationId));
      expect(pushed).toHaveLength(writes);
      expect(new Set(pushed).size).toBe(writes);

      // The server holds each change exactly once, from the page's device.
      await expectHeldOnce(server, tenant, {
        collection: 'note',
        ids,
        writes,
        deviceId: opened.deviceId,
      });
      const notes = await call(page, 'find');
      expect(notes.map((note) => note.text).sort()).toEqual(['first, edited', 'second', 'third']);

      // Nothing queued: another sync event drains nothing and sends no push.
      const before = proxy.requests.length;
      await devTools.dispatchSync(opened.scope, backgroundSyncDefaults.tag);
      await vi.waitFor(async () =>
        expect(await call(page, 'drains')).toHaveLength(drains.length + 1),
      );
      expect((await call(page, 'drains')).at(-1)).toEqual({ type: 'syncline-test:drain' });
      expect(proxy.requests.slice(before)).toEqual([]);

      expect(await call(page, 'errors')).toEqual([]);
      expect(pageErrors).toEqual([]);
      await page.close();
    });
  },
);
