// Two tabs of one browser (pages of one Chromium context, one origin) on one IndexedDB database.
// Regression: each tab counted outbox positions in its own memory, so the tabs overwrote each
// other's queued rows in the database, and 2 of 4 offline writes the SDK reported as saved never
// reached the server once the tabs were gone. Here both tabs write offline, interleaved and in
// concurrent bursts, editing each other's notes. Closed before they sync, a new tab finds every
// write and the real server gets each exactly once; left open, one tab syncs at a time (each
// write travels in exactly one push) and each tab shows the other's writes.
import { fileURLToPath } from 'node:url';
import type { PushRequest } from '@syncline/protocol';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  hasChromium,
  launchChromium,
  noChromiumReason,
  openTestPage,
  pageApi,
  pageFiles,
} from '../support/chromium.js';
import { expectHeldOnce } from '../support/held-once.js';
import { latestVersions, pullAll } from '../support/http.js';
import type { Note, TabApi } from '../support/sdk-tab-page.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type SyncProxy } from '../support/sync-proxy.js';

const entry = fileURLToPath(new URL('../support/sdk-tab-page.ts', import.meta.url));

let server: ServerProcess;
let proxy: SyncProxy;
let browser: Browser;
let context: BrowserContext;
const pageErrors: string[] = [];

const call = pageApi<TabApi>('tab');

describe.skipIf(!hasChromium)(
  `two tabs on one IndexedDB database${hasChromium ? '' : ` (${noChromiumReason})`}`,
  () => {
    beforeAll(async () => {
      server = await startServer();
      proxy = await startSyncProxy(server.url, { files: await pageFiles(entry) });
      browser = await launchChromium();
      context = await browser.newContext();
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await proxy?.close();
      await server?.stop();
    });

    /** Opens `count` tabs of the test page, each with a client on `database`. */
    async function openTabs(count: number, token: string, database: string) {
      const pages: Page[] = [];
      const devices: string[] = [];
      for (let i = 0; i < count; i++) {
        const page = await openTestPage(context, proxy.url, 'tab', pageErrors);
        devices.push(await call(page, 'open', token, database));
        pages.push(page);
      }
      return { pages, devices };
    }

    /**
     * Offline, two tabs write interleaved (the review's four writes first), then in concurrent
     * bursts, then edit and delete each other's notes. Resolves to the ids and the write count.
     */
    async function writeOffline(a: Page, b: Page) {
      await context.setOffline(true);
      const ids: string[] = [];
      ids.push(await call(a, 'create', 'a0', 'a'));
      ids.push(await call(b, 'create', 'b0', 'b'));
      ids.push(await call(a, 'create', 'a1', 'a'));
      ids.push(await call(b, 'create', 'b1', 'b'));
      expect(await call(a, 'find')).toHaveLength(4);
      expect(await call(b, 'find')).toHaveLength(4);
      const [burstA, burstB] = await Promise.all([
        call(a, 'createMany', ['a2', 'a3', 'a4', 'a5', 'a6'], 'a'),
        call(b, 'createMany', ['b2', 'b3', 'b4', 'b5', 'b6'], 'b'),
      ]);
      ids.push(...burstA, ...burstB);
      await Promise.all([
        call(a, 'update', ids[1]!, { seen: 'a' }),
        call(b, 'update', ids[0]!, { seen: 'b' }),
      ]);
      await call(b, 'update', ids[1]!, { text: 'b0 edited' });
      await call(b, 'remove', ids[2]!);
      // Offline, each tab already shows the other's writes, and was told of them.
      const offline = await call(a, 'find');
      expect(offline).toHaveLength(13);
      expect(await call(b, 'find')).toEqual(offline);
      expect(await call(a, 'notices')).toBeGreaterThan(4);
      return { ids, writes: 14 + 3 + 1 };
    }

    /** The server holds each write exactly once; returns the notes it holds now. */
    async function expectOnServerOnce(
      tenant: string,
      ids: string[],
      writes: number,
      deviceId: string,
    ) {
      await expectHeldOnce(server, tenant, { collection: 'note', ids, writes, deviceId });
      const admin = server.token('boss', tenant, 'admin');
      const feed = await pullAll(server.url, admin, 'checker');
      const mine = new Set(ids);
      return [...latestVersions(feed.changes).values()]
        .filter((change) => mine.has(change.entityId) && change.payload !== null)
        .map((change) => ({ id: change.entityId, ...(change.payload as unknown as Note) }))
        .sort((x, y) => (x.id < y.id ? -1 : 1));
    }

    const idle = (page: Page) =>
      vi.waitFor(
        async () => expect(await call(page, 'status')).toMatchObject({ pending: 0, failed: 0 }),
        { timeout: 30_000, interval: 200 },
      );

    it('keeps every offline write of two closed tabs: a new tab sends each exactly once', async () => {
      const tenant = 'tabs-closed';
      const token = server.token('clerk', tenant);
      const { pages, devices } = await openTabs(2, token, 'closed-tabs');
      const [a, b] = pages as [Page, Page];
      expect(devices[1]).toBe(devices[0]);
      expect(await call(a, 'hasWebLocks')).toBe(true);
      const { ids, writes } = await writeOffline(a, b);
      // The tabs go away before they could sync; what they said was saved must be in the database.
      await a.close();
      await b.close();
      await context.setOffline(false);
      const { pages: later } = await openTabs(1, token, 'closed-tabs');
      const c = later[0]!;
      expect((await call(c, 'status')).pending).toBe(writes);
      await idle(c);
      const live = await expectOnServerOnce(tenant, ids, writes, devices[0]!);
      expect(live).toHaveLength(13);
      expect(await call(c, 'find')).toEqual(live);
      await c.close();
      expect(pageErrors).toEqual([]);
    });

    it('with both tabs online, one syncs at a time, each write in one push; each shows the other', async () => {
      const tenant = 'tabs-open';
      const token = server.token('clerk', tenant);
      const { pages, devices } = await openTabs(2, token, 'open-tabs');
      const [a, b] = pages as [Page, Page];
      await vi.waitFor(async () => expect((await call(a, 'status')).state).toBe('idle'), {
        timeout: 20_000,
      });
      const { ids, writes } = await writeOffline(a, b);
      await vi.waitFor(async () => expect((await call(a, 'status')).pending).toBe(writes));
      const before = proxy.requests.length;
      await context.setOffline(false);
      await idle(a);
      await idle(b);

      // Every mutation went out in exactly one push: one tab synced, the other found it done.
      const pushed = proxy.requests
        .slice(before)
        .filter((request) => request.path === '/api/sync' && request.body)
        .flatMap((request) => (request.body as PushRequest).changes.map((c) => c.mutationId));
      expect(pushed).toHaveLength(writes);
      expect(new Set(pushed).size).toBe(writes);

      const live = await expectOnServerOnce(tenant, ids, writes, devices[0]!);
      expect(live).toHaveLength(13);
      expect(await call(a, 'find')).toEqual(live);
      expect(await call(b, 'find')).toEqual(live);
      expect(live.find((note) => note.id === ids[1])).toMatchObject({
        text: 'b0 edited',
        seen: 'a',
      });
      await a.close();
      await b.close();
      expect(pageErrors).toEqual([]);
    });
  },
);
