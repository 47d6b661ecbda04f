// The field app in a real Chromium against `npm start` (the real server process, SQLite, serving
// the built app at /app): the service worker installs on the first visit and the app then opens
// offline; a clock-in made offline with the device's location survives a reload and reaches the
// server once the connection returns, without a click; the service worker sends the outbox on a
// Background Sync event with no page open; an inspection made offline in one browser
// profile reaches another; a conflicting edit and seed 000's two time rules show their notices;
// an encrypted session asks for its passphrase. Screenshots of every screen on a phone and a
// laptop go to test-results/screenshots/.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test/support/chromium.js';
import { callJson, latestVersions, pullAll } from '../../../test/support/http.js';
import {
  mintHs256,
  startServer,
  type ServerProcess,
} from '../../../test/support/server-process.js';

const screenshots = fileURLToPath(new URL('../../../test-results/screenshots/', import.meta.url));
const tenant = 'district-7';
const facilities = ['clinic-north', 'clinic-south'];
const sizes = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  laptop: { viewport: { width: 1366, height: 800 } },
} as const;
type Size = keyof typeof sizes;
/** Kigali, as in seed 000's example. */
const kigali = { latitude: -1.9536, longitude: 30.0606 };

let server: ServerProcess;
let browser: Browser;

const userToken = (user: string) => server.token(user, tenant, 'user', { facilities });

/**
 * A fixed-offset time zone where it is now about noon, so that "today", a correction ten minutes
 * back and 23:59 as a future time hold whenever the suite runs (Etc/GMT-N is UTC+N).
 */
function middayTimeZone(now = new Date()): string {
  const offset = 12 - now.getUTCHours();
  return offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
const timeZone = middayTimeZone();
/** A time as the page's time input shows it (HH:MM in the page's time zone). */
const clockFace = new Intl.DateTimeFormat('en-GB', {
  timeZone,
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

async function openApp(size: Size): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    ...sizes[size],
    baseURL: server.url,
    timezoneId: timeZone,
  });
  await context.grantPermissions(['geolocation'], { origin: server.url });
  await context.setGeolocation(kigali);
  const page = await context.newPage();
  return { context, page };
}

/** The first visit: the page loads, its service worker installs and takes control. */
async function firstVisit(page: Page) {
  await page.goto('/app/');
  await page.getByLabel('Access token').waitFor();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

async function signIn(page: Page, token: string, passphrase = '') {
  await page.getByLabel('Access token').fill(token);
  if (passphrase) await page.getByLabel('Passphrase').fill(passphrase);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Screens' }).waitFor();
}

const count = (page: Page, name: 'Pending' | 'Failed' | 'Last sync') =>
  page.getByRole('status', { name, exact: true });

async function waitForFirstSync(page: Page) {
  await expect
    .poll(() => count(page, 'Last sync').textContent(), { timeout: 20_000 })
    .not.toBe('never');
}

async function shoot(page: Page, name: string, size: Size) {
  if (size === 'laptop') await page.setViewportSize(sizes.laptop.viewport);
  await page.evaluate(async () => {
    window.scrollTo(0, 0);
    await document.fonts.ready;
  });
  await page.screenshot({ path: join(screenshots, `field-${name}-${size}.png`), fullPage: true });
}

/** Shoots at both sizes in one context: the phone's size first, then the laptop's. */
async function shootBoth(page: Page, name: string) {
  await page.setViewportSize(sizes.phone.viewport);
  await shoot(page, name, 'phone');
  await shoot(page, name, 'laptop');
  await page.setViewportSize(sizes.phone.viewport);
}

/** What the server holds now, as an admin reads the feed. */
async function serverEntities(entityType: string) {
  const admin = server.token('ops', tenant, 'admin');
  const { changes } = await pullAll(server.url, admin, `check-${Date.now()}`);
  return [...latestVersions(changes).values()].filter(
    (c) => c.entityType === entityType && c.deletedAt === null,
  );
}

async function seedAssets() {
  const res = await callJson(
    server.url,
    'POST',
    '/api/sync',
    server.token('ops', tenant, 'admin'),
    {
      deviceId: 'office-laptop',
      changes: [
        ['pump-7', 'Water pump 7', 'North yard'],
        ['generator-1', 'Generator 1', 'Clinic north'],
        ['fridge-2', 'Vaccine fridge 2', 'Clinic south'],
      ].map(([id, name, site], i) => ({
        mutationId: `seed-${id}`,
        entityType: 'asset',
        entityId: id,
        operation: 'CREATE',
        payload: { name, status: 'ok', site },
        clientVersion: 1,
        timestamp: new Date(Date.now() - (60 - i) * 60_000).toISOString(),
      })),
    },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const task = await callJson(
    server.url,
    'POST',
    '/api/sync',
    server.token('ops', tenant, 'admin'),
    {
      deviceId: 'office-laptop',
      changes: [
        {
          mutationId: 'seed-task-1',
          entityType: 'task',
          entityId: 'task-pump-filter',
          operation: 'CREATE',
          payload: { title: 'Replace the intake filter', status: 'open', assetId: 'pump-7' },
          clientVersion: 1,
          timestamp: new Date(Date.now() - 30 * 60_000).toISOString(),
        },
      ],
    },
  );
  expect(task.status).toBe(200);
}

async function openAsset(page: Page, name: string) {
  await page.getByRole('button', { name: 'Assets' }).click();
  await page.getByRole('button', { name: new RegExp(`^${name}`) }).click();
  await page.getByRole('heading', { name }).waitFor();
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  server = await startServer({
    command: 'npm start',
    startTimeoutMs: 90_000,
    env: { SYNCLINE_JOBS: 'off' },
  });
  browser = await launchChromium();
  await seedAssets();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every row of one object store, as JSON, from the first IndexedDB database whose name holds `name`. */
function storedRows(page: Page, name: string, store: string): Promise<string> {
  return page.evaluate(
    async ([name, store]) => {
      const found = (await indexedDB.databases())
        .map((d) => d.name ?? '')
        .find((n) => n.includes(name));
      if (!found) return 'no database';
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(found);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const rows = await new Promise<unknown[]>((resolve, reject) => {
        const req = db.transaction(store).objectStore(store).getAll();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      db.close();
      return JSON.stringify(rows);
    },
    [name, store] as const,
  );
}

describe('installable', () => {
  it('serves a web app manifest with a name, icons, start_url and display', async () => {
    const res = await fetch(`${server.url}/app/manifest.webmanifest`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/manifest+json');
    // The worker script is checked for a new version on every visit, never served from a cache.
    const worker = await fetch(`${server.url}/app/sw.js`);
    expect(worker.status).toBe(200);
    expect(worker.headers.get('cache-control')).toBe('no-cache');
    const manifest = (await res.json()) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: 'Syncline Field',
      start_url: '/app/',
      scope: '/app/',
      display: 'standalone',
    });
    const icons = manifest.icons as Array<{ src: string; sizes: string }>;
    expect(icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    for (const icon of icons) {
      const image = await fetch(new URL(icon.src, `${server.url}/app/`));
      expect(image.status, icon.src).toBe(200);
    }
  });
});

describe('signing in', () => {
  it('refuses an expired token on the device, and offers "Sign in again" when the server refuses one', async () => {
    const { context, page } = await openApp('phone');
    await firstVisit(page);
    const seconds = Math.floor(Date.now() / 1000);
    const expired = mintHs256(server.secret, {
      sub: 'ivan',
      tenant,
      facilities,
      exp: seconds - 60,
    });
    await page.getByLabel('Access token').fill(expired);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This token has expired' }).waitFor();
    await shootBoth(page, 'sign-in-refused');

    // Signed with another key: only the server can tell, and it refuses it on the first sync.
    const forged = mintHs256('f'.repeat(64), {
      sub: 'ivan',
      tenant,
      facilities,
      exp: seconds + 3600,
    });
    await signIn(page, forged);
    await expect
      .poll(() => page.getByRole('status', { name: 'Connection' }).textContent(), {
        timeout: 20_000,
      })
      .toMatch(/Sign in again/);
    await page.getByRole('button', { name: 'Sign in again' }).click();
    await page.getByLabel('Access token').waitFor();
    await context.close();
  });
});

describe('offline attendance', () => {
  it('opens offline from the cache, clocks in with the location, keeps the pending change over a reload and sends it when back online', async () => {
    const { context, page } = await openApp('phone');
    await firstVisit(page);
    await shootBoth(page, 'sign-in');
    await signIn(page, userToken('amina'));
    await waitForFirstSync(page);
    await expect.poll(() => count(page, 'Pending').textContent()).toBe('0');

    await context.setOffline(true);
    await page.reload();
    await page.getByRole('heading', { name: 'Attendance' }).waitFor();
    await expect
      .poll(() => page.getByRole('status', { name: 'Connection' }).textContent())
      .toMatch(/Offline/);

    await page.getByLabel('Facility').selectOption('clinic-south');
    await page.getByRole('button', { name: 'Clock in' }).click();
    await page.getByRole('status').filter({ hasText: 'Clocked in at' }).waitFor();
    await expect.poll(() => count(page, 'Pending').textContent()).toBe('1');
    await shootBoth(page, 'attendance-offline');

    // Still offline: the reload comes from the service worker, the change from IndexedDB.
    await page.reload();
    await page.getByRole('heading', { name: 'Attendance' }).waitFor();
    await expect.poll(() => count(page, 'Pending').textContent()).toBe('1');
    const records = page.getByRole('list', { name: 'Today’s records' }).getByRole('listitem');
    // The list renders once the page's first query answers, which may follow the counts.
    await expect.poll(() => records.count()).toBe(1);
    expect(await records.first().textContent()).toMatch(/clinic-south.*-1\.95360, 30\.06060/);
    expect(await serverEntities('attendance')).toHaveLength(0);

    // Back online: the SDK's online trigger drains the outbox, no click needed.
    await context.setOffline(false);
    await expect.poll(() => count(page, 'Pending').textContent(), { timeout: 20_000 }).toBe('0');
    const held = await serverEntities('attendance');
    expect(held).toHaveLength(1);
    expect(held[0]?.payload).toMatchObject({
      facilityId: 'clinic-south',
      clockInLatitude: kigali.latitude,
      clockInLongitude: kigali.longitude,
      clockOut: null,
    });
    await expect.poll(() => count(page, 'Failed').textContent()).toBe('0');
    await shootBoth(page, 'attendance');

    // Seed 000: a synced clock time corrected by more than a minute waits for an admin.
    const clockIn = String(held[0]?.payload?.clockIn);
    const earlier = new Date(Date.parse(clockIn) - 10 * 60_000);
    const hhmm = clockFace.format(earlier);
    await records
      .first()
      .getByRole('button', { name: /Correct times/ })
      .click();
    await page.getByLabel('Corrected time').fill(hhmm);
    await page.getByRole('button', { name: 'Save correction' }).click();
    await page.getByRole('status').filter({ hasText: 'waits for an admin' }).waitFor();
    const notice = page.getByRole('alert', { name: /Clock time moved by more than a minute/ });
    await notice.waitFor({ timeout: 20_000 });
    expect(await notice.textContent()).toMatch(/waits for an admin’s review/);
    expect(await notice.getByRole('row', { name: /^Clock-in/ }).count()).toBe(1);
    await shootBoth(page, 'attendance-time-mismatch');
    // The server kept the recorded time and parked the correction for review.
    expect((await serverEntities('attendance'))[0]?.payload?.clockIn).toBe(clockIn);

    // A clock time in the future is refused on the device before it is sent.
    await records
      .first()
      .getByRole('button', { name: /Correct times/ })
      .click();
    // 23:59 today is ahead: the page's time zone puts it near noon.
    await page.getByLabel('Corrected time').fill('23:59');
    await page.getByRole('button', { name: 'Save correction' }).click();
    await page.getByRole('alert').filter({ hasText: 'That time is in the future' }).waitFor();
    await shootBoth(page, 'attendance-future-typed');
    await page.getByRole('button', { name: 'Cancel' }).click();

    // Clocking out records the location too.
    await page.getByRole('button', { name: 'Clock out' }).click();
    await page.getByRole('status').filter({ hasText: 'Clocked out at' }).waitFor();
    await expect.poll(() => count(page, 'Pending').textContent(), { timeout: 20_000 }).toBe('0');
    const after = await serverEntities('attendance');
    expect(after).toHaveLength(1);
    expect(after[0]?.payload).toMatchObject({ clockOutLatitude: kigali.latitude });
    await context.close();
  });

  it('shows the server’s refusal of a clock time in the future, from a device whose clock is ahead', async () => {
    const { context, page } = await openApp('laptop');
    // The device's clock runs 30 minutes fast: more than the server's 5 minutes of skew.
    await page.clock.install({ time: new Date(Date.now() + 30 * 60_000) });
    await firstVisit(page);
    await signIn(page, userToken('baraka'));
    await waitForFirstSync(page);
    await page.getByRole('button', { name: 'Clock in' }).click();
    await page.getByRole('status').filter({ hasText: 'Clocked in at' }).waitFor();
    const refusal = page.getByRole('alert', {
      name: 'The server refused a clock time in the future',
    });
    await refusal.waitFor({ timeout: 20_000 });
    await expect.poll(() => count(page, 'Failed').textContent()).toBe('1');
    await shootBoth(page, 'attendance-future-refused');
    expect(await serverEntities('attendance')).toHaveLength(1); // amina's only
    await refusal.getByRole('button', { name: 'Discard' }).click();
    await expect.poll(() => count(page, 'Failed').textContent()).toBe('0');
    await context.close();
  });
});

describe('background sync', () => {
  it('the service worker sends the outbox on a sync event, with no page of the app open', async () => {
    const { context, page } = await openApp('phone');
    await firstVisit(page);
    await signIn(page, userToken('hana'));
    await waitForFirstSync(page);
    await context.setOffline(true);
    await page.getByRole('button', { name: 'Clock in' }).click();
    await expect.poll(() => count(page, 'Pending').textContent()).toBe('1');

    // The app is closed while offline; a blank page is left to talk to the browser.
    const blank = await context.newPage();
    await page.close();
    await context.setOffline(false);
    const hanas = async () =>
      (await serverEntities('attendance')).filter((c) => c.updatedBy === 'hana');
    expect(await hanas()).toHaveLength(0);

    const cdp = await context.newCDPSession(blank);
    const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
      registrations.push(...event.registrations);
    });
    await cdp.send('ServiceWorker.enable');
    await expect.poll(() => registrations.some((r) => r.scopeURL.endsWith('/app/'))).toBe(true);
    const registration = registrations.find((r) => r.scopeURL.endsWith('/app/'));
    await cdp.send('ServiceWorker.dispatchSyncEvent', {
      origin: server.url,
      registrationId: registration?.registrationId ?? '',
      tag: 'syncline-outbox',
      lastChance: false,
    });
    await expect.poll(hanas, { timeout: 20_000 }).toHaveLength(1);
    expect((await hanas())[0]?.payload).toMatchObject({
      clockInLatitude: kigali.latitude,
      clockInLongitude: kigali.longitude,
    });

    // The app, opened again, finds its outbox empty.
    const again = await context.newPage();
    await again.goto('/app/');
    await again.getByRole('navigation', { name: 'Screens' }).waitFor();
    await expect.poll(() => count(again, 'Pending').textContent()).toBe('0');
    await context.close();
  });
});

describe('asset inspection across devices', () => {
  it('an inspection made offline in one profile reaches another', async () => {
    const a = await openApp('phone');
    const b = await openApp('laptop');
    await firstVisit(a.page);
    await firstVisit(b.page);
    await signIn(a.page, userToken('chidi'));
    await signIn(b.page, userToken('dalia'));
    await waitForFirstSync(a.page);
    await waitForFirstSync(b.page);

    await a.page.getByRole('button', { name: 'Assets' }).click();
    await a.page.getByRole('button', { name: /^Water pump 7/ }).waitFor();
    await shootBoth(a.page, 'assets');

    await a.context.setOffline(true);
    await openAsset(a.page, 'Water pump 7');
    await a.page.getByLabel('Status', { exact: true }).selectOption('repair');
    await a.page.getByLabel('Notes').fill('Seal leaking at the outlet');
    await a.page.getByLabel('Reading').fill('4.2');
    await a.page.getByRole('button', { name: 'Save inspection' }).click();
    await a.page.getByRole('status').filter({ hasText: 'saved on this device' }).waitFor();
    await a.page.getByLabel('New task').fill('Order an outlet seal');
    await a.page.getByRole('button', { name: 'Add task' }).click();
    await a.page.getByText('Order an outlet seal').waitFor();
    await expect.poll(() => count(a.page, 'Pending').textContent()).toBe('2');
    await shootBoth(a.page, 'asset-inspection');

    await a.context.setOffline(false);
    await expect.poll(() => count(a.page, 'Pending').textContent(), { timeout: 20_000 }).toBe('0');

    // The other profile hears of it (a realtime poke, or Sync now).
    await b.page.getByRole('button', { name: 'Assets' }).click();
    const pump = b.page.getByRole('button', { name: /^Water pump 7/ });
    // A slow network, so that the progress of "Sync now" stays on screen long enough to see.
    await b.context.route('**/api/sync**', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await route.continue();
    });
    await b.page.getByRole('button', { name: 'Sync now' }).click();
    await b.page.getByRole('progressbar', { name: 'Sync progress' }).waitFor();
    await shootBoth(b.page, 'sync-progress');
    await b.page
      .getByRole('status')
      .filter({ hasText: /^Synced: sent \d+, received \d+/ })
      .waitFor();
    await b.context.unrouteAll();
    await expect.poll(() => pump.textContent(), { timeout: 20_000 }).toMatch(/In repair/);
    await pump.click();
    await expect.poll(() => b.page.getByLabel('Reading').inputValue()).toBe('4.2');
    expect(await b.page.getByLabel('Notes').inputValue()).toBe('Seal leaking at the outlet');
    await b.page.getByText('Order an outlet seal').waitFor();
    await a.context.close();
    await b.context.close();
  });

  it('a change that lost a conflict shows a notice with both versions', async () => {
    const a = await openApp('phone');
    const b = await openApp('laptop');
    await firstVisit(a.page);
    await firstVisit(b.page);
    await signIn(a.page, userToken('emeka'));
    await signIn(b.page, userToken('fatou'));
    await waitForFirstSync(a.page);
    await waitForFirstSync(b.page);

    // A edits offline; meanwhile B's edit of the same asset reaches the server first.
    await a.context.setOffline(true);
    await openAsset(a.page, 'Generator 1');
    await a.page.getByLabel('Status', { exact: true }).selectOption('out_of_service');
    await a.page.getByLabel('Notes').fill('Will not start');
    await a.page.getByRole('button', { name: 'Save inspection' }).click();
    await expect.poll(() => count(a.page, 'Pending').textContent()).toBe('1');

    await openAsset(b.page, 'Generator 1');
    await b.page.getByLabel('Status', { exact: true }).selectOption('attention');
    await b.page.getByLabel('Notes').fill('Oil low, topped up');
    await b.page.getByRole('button', { name: 'Save inspection' }).click();
    await b.page.getByRole('status').filter({ hasText: 'Inspection saved' }).waitFor();
    const generatorNow = async () =>
      (await serverEntities('asset')).find((c) => c.entityId === 'generator-1')?.payload;
    await expect.poll(generatorNow, { timeout: 20_000 }).toMatchObject({ status: 'attention' });

    await a.context.setOffline(false);
    const notice = a.page.getByRole('alert', { name: /lost a conflict: Generator 1/ });
    await notice.waitFor({ timeout: 20_000 });
    const status = notice.getByRole('row', { name: /^Status/ });
    expect(await status.getByRole('cell').allTextContents()).toEqual([
      'Out of service',
      'Needs attention',
    ]);
    const notes = notice.getByRole('row', { name: /^Notes/ });
    expect(await notes.getByRole('cell').allTextContents()).toEqual([
      'Will not start',
      'Oil low, topped up',
    ]);
    await shootBoth(a.page, 'conflict-notice');
    // The server kept B's version, and A now shows it.
    expect(await generatorNow()).toMatchObject({
      status: 'attention',
      notes: 'Oil low, topped up',
    });
    await expect.poll(() => a.page.getByLabel('Notes').inputValue()).toBe('Oil low, topped up');
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => notice.count()).toBe(0);
    await a.context.close();
    await b.context.close();
  });
});

describe('encryption at rest', () => {
  it('asks for the passphrase on each opening, refuses a wrong one, and opens with the right one', async () => {
    const { context, page } = await openApp('phone');
    await firstVisit(page);
    const token = userToken('gloria');
    await signIn(page, token, 'correct horse battery');
    await waitForFirstSync(page);
    await page.getByRole('button', { name: 'Clock in' }).click();
    await page.getByRole('status').filter({ hasText: 'Clocked in at' }).waitFor();

    await page.reload();
    await page.getByRole('heading', { name: 'Unlock' }).waitFor();
    await shootBoth(page, 'unlock');
    await page.getByLabel('Passphrase').fill('wrong horse');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('alert').filter({ hasText: 'does not open' }).waitFor();
    await page.getByLabel('Passphrase').fill('correct horse battery');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('list', { name: 'Today’s records' }).waitFor();
    // The stored rows are ciphertext: the facility name is nowhere in the device's database.
    const plain = await storedRows(page, 'gloria', 'entities');
    expect(plain).not.toBe('no database');
    expect(plain).not.toContain('clinic-north');
    // Nor is the access token: the session keeps it sealed under the passphrase.
    const session = await storedRows(page, 'syncline-field-session', 'session');
    expect(session).toMatch(/"encrypted":true/);
    expect(session).not.toContain(token.split('.')[1]);
    await context.close();
  });
});
