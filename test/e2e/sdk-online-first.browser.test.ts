// Online-first and timeouts in real Chromium: a write made online reaches the real server within
// 2 s with no syncNow(); a server that accepts connections and never answers ends the attempt at
// the (short, test-set) timeout, the client reports it and backs off, and syncNow() settles.
import { fileURLToPath } from 'node:url';
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
import { startHangingServer, type HangingServer } from '../support/hanging-server.js';
import { pullAll } from '../support/http.js';
import type { NetApi } from '../support/sdk-network-page.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type SyncProxy } from '../support/sync-proxy.js';

const entry = fileURLToPath(new URL('../support/sdk-network-page.ts', import.meta.url));

let server: ServerProcess;
let proxy: SyncProxy;
let hanging: HangingServer;
let browser: Browser;
let context: BrowserContext;

const call = pageApi<NetApi>('net');
const openPage = (): Promise<Page> => openTestPage(context, proxy.url, 'net');

describe.skipIf(!hasChromium)(
  `online-first and timeouts in Chromium${hasChromium ? '' : ` (${noChromiumReason})`}`,
  () => {
    beforeAll(async () => {
      server = await startServer();
      hanging = await startHangingServer();
      proxy = await startSyncProxy(server.url, { files: await pageFiles(entry) });
      browser = await launchChromium();
      context = await browser.newContext();
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await proxy?.close();
      await hanging?.close();
      await server?.stop();
    });

    it('a write made online reaches the server within 2 s, without syncNow()', async () => {
      const token = server.token('u1', 'online-first-browser');
      const page = await openPage();
      await call(page, 'open', { url: proxy.url, token, database: 'online-first', start: true });
      await vi.waitFor(async () => expect((await call(page, 'status')).lastSyncAt).not.toBeNull(), {
        timeout: 10_000,
      });
      const pushesBefore = proxy.requests.filter((r) => r.path === '/api/sync').length;
      const id = await call(page, 'create', 'made online');
      const written = Date.now();
      await vi.waitFor(
        async () => {
          const { changes } = await pullAll(server.url, token, 'observer');
          expect(changes.map((c) => c.entityId)).toContain(id);
        },
        { timeout: 2_000, interval: 50 },
      );
      expect(Date.now() - written).toBeLessThan(2_000);
      expect(proxy.requests.filter((r) => r.path === '/api/sync').length).toBe(pushesBefore + 1);
      await call(page, 'close');
      await page.close();
    });

    it('a never-answering server ends the attempt at the timeout; the client backs off', async () => {
      const page = await openPage();
      await call(page, 'open', {
        url: hanging.url,
        token: 'token',
        database: 'never-answers',
        start: false,
        timeouts: { connectMs: 200, readMs: 300 },
      });
      await call(page, 'create', 'stuck');
      const before = hanging.connections();
      const outcome = await call(page, 'syncNow');
      expect(outcome).toMatchObject({ ok: false, code: 'TIMEOUT' });
      expect(outcome.ms).toBeGreaterThanOrEqual(450);
      expect(outcome.ms).toBeLessThan(5_000);
      expect(hanging.connections()).toBeGreaterThan(before);
      expect(await call(page, 'status')).toMatchObject({
        state: 'offline',
        pending: 1,
        error: { code: 'TIMEOUT' },
      });
      // Started, it tries again, then waits out its backoff between attempts.
      const started = Date.now();
      await call(page, 'start');
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const times = hanging.times().filter((t) => t >= started);
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
      expect(times.length).toBeGreaterThan(0);
      expect(times.length).toBeLessThan(8);
      if (gaps.length > 0) expect(Math.max(...gaps)).toBeGreaterThanOrEqual(1_500);
      expect(await call(page, 'status')).toMatchObject({
        state: 'offline',
        error: { code: 'TIMEOUT' },
      });
      await call(page, 'close');
      await page.close();
    });
  },
);
