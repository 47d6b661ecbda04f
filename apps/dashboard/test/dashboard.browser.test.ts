// The admin dashboard in a real Chromium against `npm start` (the real server process serving
// the built app): sign-in, the conflict inbox settled with "Keep device", revoking a device,
// restoring a version, the overview's charts, a user's token refused, and a screenshot of every
// page on a phone and a laptop (test-results/screenshots/).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test/support/chromium.js';
import { callJson } from '../../../test/support/http.js';
import { startServer, type ServerProcess } from '../../../test/support/server-process.js';

const screenshots = fileURLToPath(new URL('../../../test-results/screenshots/', import.meta.url));
const tenant = 'clinic-north';
const sizes = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  laptop: { viewport: { width: 1366, height: 850 } },
} as const;

let server: ServerProcess;
let browser: Browser;
let adminToken: string;

/** Calls the API as a user (or the admin) of the tenant; resolves to status and body. */
const api = (token: string, method: string, path: string, body?: unknown) =>
  callJson(server.url, method, path, token, body);

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

async function push(
  user: string,
  deviceId: string,
  changes: Record<string, unknown>[],
  deviceName?: string,
) {
  const res = await api(server.token(user, tenant), 'POST', '/api/sync', {
    deviceId,
    ...(deviceName ? { deviceName } : {}),
    changes,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** A tenant with some history: devices, assets with versions, a failed change, a queued request. */
async function seedTenant() {
  for (const [user, deviceId, deviceName, platform, appVersion] of [
    ['alice', 'tablet-north', 'Ward tablet', 'android', '2.4.1'],
    ['bob', 'phone-south', 'Outreach phone', 'ios', '2.4.0'],
    ['carol', 'spare-phone', 'Spare phone', 'android', '2.3.9'],
  ]) {
    const res = await api(server.token(user!, tenant), 'POST', '/api/sync/devices', {
      deviceId,
      deviceName,
      platform,
      appVersion,
    });
    expect(res.status).toBe(200);
  }
  await push('alice', 'tablet-north', [
    ...['pump-7', 'fridge-2', 'generator-1', 'scale-4'].map((id, i) => ({
      mutationId: `seed-${id}`,
      entityType: 'asset',
      entityId: id,
      operation: 'CREATE',
      payload: { name: `Asset ${id}`, status: 'ok', site: i % 2 ? 'South yard' : 'North yard' },
      clientVersion: 1,
      timestamp: minutesAgo(50 - i),
    })),
  ]);
  await push('bob', 'phone-south', [
    {
      mutationId: 'seed-pump-name',
      entityType: 'asset',
      entityId: 'pump-7',
      operation: 'UPDATE',
      payload: { name: 'Water pump 7' },
      clientVersion: 1,
      timestamp: minutesAgo(30),
    },
    {
      // An update of an entity the server does not have yet: FAILED, retryable once it exists.
      mutationId: 'seed-missing',
      entityType: 'asset',
      entityId: 'boiler-9',
      operation: 'UPDATE',
      payload: { status: 'repair' },
      clientVersion: 1,
      timestamp: minutesAgo(29),
    },
  ]);
  await push('carol', 'spare-phone', [], 'Spare phone');
  // Seed 003: a request recorded offline, waiting to be replayed.
  const queued = await fetch(`${server.url}/api/offline/queue`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${server.token('bob', tenant)}`,
      'content-type': 'application/json',
      'x-device-id': 'phone-south',
    },
    body: JSON.stringify({
      operation_type: 'sale',
      endpoint: '/api/sales',
      method: 'POST',
      request_body: { amount: 1250, item: 'Paracetamol 500mg' },
    }),
  });
  expect(queued.status).toBe(202);
}

async function openDashboard(
  size: keyof typeof sizes,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ...sizes[size], baseURL: server.url });
  const page = await context.newPage();
  return { context, page };
}

/** Signs in through the sign-in link (the token in the fragment), as `syncline token --link` prints. */
async function signInByLink(page: Page, path = '') {
  await page.goto(`/admin/${path}#access_token=${adminToken}`);
  await page.getByRole('navigation', { name: 'Sections' }).waitFor();
}

async function shoot(page: Page, name: string, size: keyof typeof sizes) {
  // From the top, as a person arriving on the page sees it (the phone's bar is sticky).
  await page.evaluate(async () => {
    window.scrollTo(0, 0);
    await document.fonts.ready;
  });
  await page.screenshot({ path: join(screenshots, `${name}-${size}.png`), fullPage: true });
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  server = await startServer({
    command: 'npm start',
    startTimeoutMs: 90_000,
    env: { SYNCLINE_JOBS: 'off' },
  });
  adminToken = server.token('dana', tenant, 'admin');
  browser = await launchChromium();
  await seedTenant();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('signing in', () => {
  it('refuses a user token with a message that admin rights are needed', async () => {
    const { context, page } = await openDashboard('laptop');
    await page.goto('/admin/');
    await shoot(page, 'sign-in', 'laptop');
    await page.getByLabel('Access token').fill(server.token('alice', tenant));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/no admin rights/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shoot(page, 'sign-in-refused', 'laptop');
    await context.close();
  });

  it('signs an admin in with the token, keeps it in session storage and out of the URL', async () => {
    const { context, page } = await openDashboard('phone');
    await page.goto('/admin/');
    await shoot(page, 'sign-in', 'phone');
    await page.getByLabel('Access token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([adminToken]);
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await context.close();

    // The sign-in link: the token arrives in the fragment, which is cleared at once.
    const link = await openDashboard('laptop');
    await signInByLink(link.page);
    expect(link.page.url()).toBe(`${server.url}/admin/`);
    await link.context.close();
  });
});

describe('the conflict inbox', () => {
  it('shows a MANUAL conflict with both values, and "Keep device" settles it for every device', async () => {
    const base = await push('alice', 'tablet-north', [
      {
        mutationId: 'm-create',
        entityType: 'asset',
        entityId: 'oxygen-3',
        operation: 'CREATE',
        payload: { name: 'Oxygen concentrator 3', status: 'ok', room: '12' },
        clientVersion: 1,
        timestamp: minutesAgo(20),
      },
    ]);
    expect(base.results[0].status).toBe('APPLIED');
    // bob's phone pulls it, then changes the status (version 2).
    const bobPull = await api(server.token('bob', tenant), 'POST', '/api/sync/delta', {
      deviceId: 'phone-south',
    });
    await push('bob', 'phone-south', [
      {
        mutationId: 'm-bob',
        entityType: 'asset',
        entityId: 'oxygen-3',
        operation: 'UPDATE',
        payload: { status: 'in repair' },
        clientVersion: 1,
        timestamp: minutesAgo(15),
      },
    ]);
    // alice's tablet, still on version 1, retires it and asks for a person to decide.
    const stale = await push('alice', 'tablet-north', [
      {
        mutationId: 'm-alice',
        entityType: 'asset',
        entityId: 'oxygen-3',
        operation: 'UPDATE',
        payload: { status: 'retired', room: '14' },
        clientVersion: 1,
        timestamp: minutesAgo(10),
        conflictStrategy: 'MANUAL',
      },
    ]);
    expect(stale.results[0].status).toBe('CONFLICT');
    const conflictId = stale.results[0].conflictId as string;

    for (const size of ['laptop', 'phone'] as const) {
      const { context, page } = await openDashboard(size);
      await signInByLink(page, 'conflicts');
      const row = page.getByRole('row').filter({ hasText: 'asset / oxygen-3' });
      await row.waitFor();
      expect(await row.textContent()).toMatch(/alice/);
      expect(await row.textContent()).toMatch(/tablet-north/);
      await shoot(page, 'conflicts', size);
      await page.getByRole('link', { name: 'asset / oxygen-3' }).click();
      await page.getByRole('heading', { name: 'asset / oxygen-3' }).waitFor();
      // Both sides' differing values are on the page, each in its own column.
      const status = page.getByRole('row').filter({ hasText: 'status' });
      expect(await status.getByRole('cell').allTextContents()).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^ok/),
          expect.stringMatching(/^in repair/),
          expect.stringMatching(/^retired/),
        ]),
      );
      await shoot(page, 'conflict-detail', size);
      if (size === 'laptop') {
        await page.getByRole('button', { name: 'Merge' }).click();
        await page.getByLabel('Merged status from').waitFor();
        await shoot(page, 'conflict-merge', size);
        await page.getByRole('button', { name: 'Cancel merge' }).click();
      }
      if (size === 'phone') {
        await page.getByRole('button', { name: 'Keep device' }).click();
        await page.getByRole('status').filter({ hasText: 'resolved' }).waitFor();
        expect(await page.getByRole('row').filter({ hasText: 'asset / oxygen-3' }).count()).toBe(0);
      }
      await context.close();
    }

    const resolved = await api(adminToken, 'GET', `/api/sync/admin/conflicts/${conflictId}`);
    expect(resolved.body.conflict).toMatchObject({
      status: 'RESOLVED',
      resolution: 'CLIENT_WINS',
      resolvedBy: 'dana',
    });
    // bob's phone pulls after its token: the device's data, as the version after bob's.
    const pulled = await api(server.token('bob', tenant), 'POST', '/api/sync/delta', {
      deviceId: 'phone-south',
      syncToken: bobPull.body.syncToken,
    });
    const latest = pulled.body.changes
      .filter((c: { entityId: string }) => c.entityId === 'oxygen-3')
      .at(-1);
    expect(latest).toMatchObject({
      version: 3,
      payload: { name: 'Oxygen concentrator 3', status: 'retired', room: '14' },
    });

    // The resolved conflict stays browsable with its outcome.
    const { context, page } = await openDashboard('laptop');
    await signInByLink(page, 'conflicts?status=RESOLVED');
    const row = page.getByRole('row').filter({ hasText: 'asset / oxygen-3' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Kept device.*by dana/);
    await shoot(page, 'conflicts-resolved', 'laptop');
    await context.close();
  });
});

describe('devices', () => {
  it('revoking a device makes its next push answer 403', async () => {
    for (const size of ['phone', 'laptop'] as const) {
      const { context, page } = await openDashboard(size);
      await signInByLink(page, 'devices');
      await page.getByRole('row').filter({ hasText: 'Spare phone' }).waitFor();
      await shoot(page, 'devices', size);
      if (size === 'laptop') {
        await page.getByRole('button', { name: 'Revoke Spare phone' }).click();
        await page.getByRole('dialog', { name: 'Revoke Spare phone?' }).waitFor();
        await shoot(page, 'device-revoke', size);
        await page.getByRole('button', { name: 'Revoke device' }).click();
        await page.getByRole('status').filter({ hasText: 'was revoked' }).waitFor();
        // The list reloads after the notice: wait for the row to say so rather than read it once.
        const row = page.getByRole('row').filter({ hasText: 'Spare phone' });
        await row.filter({ hasText: 'Revoked' }).waitFor({ timeout: 10_000 });
        expect(await row.textContent()).toMatch(/Revoked/);
      }
      await context.close();
    }
    const refused = await api(server.token('carol', tenant), 'POST', '/api/sync', {
      deviceId: 'spare-phone',
      changes: [],
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('DEVICE_REVOKED');

    for (const size of ['phone', 'laptop'] as const) {
      const { context, page } = await openDashboard(size);
      await signInByLink(page, 'devices/phone-south');
      await page.getByRole('heading', { name: 'Recent syncs' }).waitFor();
      expect(await page.getByRole('row').count()).toBeGreaterThan(2);
      await shoot(page, 'device-detail', size);
      await context.close();
    }
  });
});

describe('entities', () => {
  it('restores an old version as a new version', async () => {
    for (const size of ['laptop', 'phone'] as const) {
      const { context, page } = await openDashboard(size);
      await signInByLink(page, 'entities');
      await page.getByLabel('Entity type').selectOption('asset');
      await page.getByLabel('Entity id').fill('pump');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('button', { name: 'asset / pump-7' }).click();
      await page.getByRole('heading', { name: 'History of asset / pump-7' }).waitFor();
      if (size === 'laptop') {
        await page.getByRole('button', { name: 'Restore version 1' }).click();
        await page.getByRole('button', { name: 'Restore version', exact: true }).click();
        await page.getByRole('status').filter({ hasText: 'restored as version 3' }).waitFor();
      }
      await shoot(page, 'entities', size);
      await context.close();
    }
    const history = await api(adminToken, 'GET', '/api/sync/entities/asset/pump-7/history');
    const versions = history.body.history as {
      version: number;
      payload: unknown;
      updatedBy: string;
    }[];
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(versions[2]).toMatchObject({ payload: versions[0]!.payload, updatedBy: 'dana' });
  });
});

describe('the other pages', () => {
  it('the overview draws its charts', async () => {
    for (const size of ['laptop', 'phone'] as const) {
      const { context, page } = await openDashboard(size);
      await signInByLink(page);
      for (const name of [
        'Sync requests per hour',
        'Changes pushed per hour',
        'Failures per hour',
      ]) {
        const figure = page.getByRole('figure', { name });
        await figure.locator('svg.recharts-surface').first().waitFor();
      }
      // Data, not only axes: the applied bars and the syncs area are drawn.
      const bars = page.getByRole('figure', { name: 'Changes pushed per hour' });
      expect(await bars.locator('.recharts-bar-rectangle path').count()).toBeGreaterThan(0);
      const area = page.getByRole('figure', { name: 'Sync requests per hour' });
      expect(await area.locator('path.recharts-area-area').count()).toBeGreaterThan(0);
      await shoot(page, 'overview', size);
      await page.getByRole('button', { name: 'Last 30 days' }).click();
      await page.getByRole('figure', { name: 'Sync requests per day' }).waitFor();
      await context.close();
    }
  });

  it('queues, audit log and settings', async () => {
    for (const size of ['laptop', 'phone'] as const) {
      const { context, page } = await openDashboard(size);
      await signInByLink(page, 'queues');
      await page.getByRole('row').filter({ hasText: 'boiler-9' }).waitFor();
      await page
        .getByRole('group', { name: 'Replayed request status' })
        .getByRole('button', { name: 'Pending' })
        .click();
      await page.getByRole('row').filter({ hasText: 'sale' }).waitFor();
      await shoot(page, 'queues', size);

      await page
        .getByRole('navigation', { name: 'Sections' })
        .getByRole('link', { name: 'Audit log' })
        .click();
      await page.getByRole('row').filter({ hasText: 'Device revoke' }).waitFor();
      expect(await page.getByRole('row').filter({ hasText: 'Conflict resolve' }).count()).toBe(1);
      await shoot(page, 'audit', size);

      await page
        .getByRole('navigation', { name: 'Sections' })
        .getByRole('link', { name: 'Settings' })
        .click();
      await page.getByLabel('Default conflict strategy').waitFor();
      await page.getByRole('row').filter({ hasText: 'attendance' }).first().waitFor();
      await shoot(page, 'settings', size);
      await context.close();
    }
  });
});
