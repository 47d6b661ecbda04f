// Seed 003's upstream requests go where a tenant admin points them, so the real server process
// guards them: without SYNCLINE_UPSTREAM_ALLOW, loopback, private, reserved, link-local and
// metadata addresses are refused in every spelling, when the config is saved and again when a
// request is sent, on the address actually connected to. Host names resolve through a DNS server
// the test runs (SYNCLINE_UPSTREAM_DNS), so a name can change its answer between the two checks.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedUpstreamUrls } from '../../packages/server/src/testing/refused-upstream-urls.js';
import {
  startUpstreamServer,
  type UpstreamServer,
} from '../../packages/server/src/testing/upstream-server.js';
import { startDnsServer, type DnsServer } from '../support/dns-server.js';
import { callJson } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

let upstream: UpstreamServer;
let dns: DnsServer;
/** The operator listed nothing: public addresses only. */
let guarded: ServerProcess;
/** The operator opened one name and the loopback address the test's API listens on. */
let listed: ServerProcess;
let port: string;

beforeAll(async () => {
  [upstream, dns] = await Promise.all([startUpstreamServer(), startDnsServer()]);
  port = new URL(upstream.url).port;
  // No scheduled jobs: the replay job, at a minute's turn, would claim an operation a test sends
  // by hand, which then answers 'syncing' (both send through the same guard).
  [guarded, listed] = await Promise.all([
    startServer({
      env: {
        SYNCLINE_UPSTREAM_ALLOW: '',
        SYNCLINE_UPSTREAM_DNS: dns.address,
        SYNCLINE_JOBS: 'off',
      },
    }),
    startServer({
      env: {
        SYNCLINE_UPSTREAM_ALLOW: `shop.internal.test,127.0.0.1:${port}`,
        SYNCLINE_UPSTREAM_DNS: dns.address,
        SYNCLINE_JOBS: 'off',
      },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([guarded?.stop(), listed?.stop()]);
  await Promise.all([upstream?.close(), dns?.close()]);
});

const api = (
  server: ServerProcess,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  token: string,
  body?: unknown,
) => callJson(server.url, method, path, token, body);

const sale = (operationId: string) => ({
  operation_type: 'sale',
  operation_id: operationId,
  endpoint: '/api/sales',
  method: 'POST',
  request_body: { total: 250 },
});

/** Queues a sale and syncs it at once; answers the operation as the sync left it. */
async function queueAndSync(server: ServerProcess, token: string, operationId: string) {
  const queued = await api(server, 'POST', '/api/offline/queue', token, sale(operationId));
  expect(queued.status).toBe(202);
  const synced = await api(server, 'POST', `/api/offline/sync/${queued.body.queueId}`, token);
  expect(synced.status).toBe(200);
  return synced.body.operation;
}

describe('SSRF guard without SYNCLINE_UPSTREAM_ALLOW', () => {
  // The loopback spellings name the test upstream's port: one let through would reach it.
  const urls = [
    ...refusedUpstreamUrls.map((url) => url.replace(':8080', `:${port}`)),
    // A zone id is not a URL host: refused as not a valid URL.
    'http://[fe80::1%25eth0]',
  ];

  it('refuses every private, loopback, link-local and metadata spelling when saved (400)', async () => {
    const owner = guarded.token('owner', 'ssrf-config', 'admin');
    const received = upstream.received.length;
    for (const url of urls) {
      const res = await api(guarded, 'PATCH', '/api/offline/config', owner, {
        upstream_base_url: url,
      });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code, url).toBe('UPSTREAM_NOT_ALLOWED');
      expect(res.body.error.message, url).toMatch(
        /^upstream_base_url refused: .*(address|not a valid absolute URL)/,
      );
    }
    const config = await api(guarded, 'GET', '/api/offline/config', owner);
    expect(config.body.upstream_base_url).toBeNull();
    expect(upstream.received).toHaveLength(received);
  });

  it('refuses them again when sending: a URL stored before the guard sends nothing', async () => {
    const tenant = 'ssrf-send';
    const owner = guarded.token('owner', tenant, 'admin');
    expect((await api(guarded, 'PATCH', '/api/offline/config', owner, {})).status).toBe(200);
    // As an earlier version (or an operator's wider allow-list) stored them, straight into the
    // server's database: the check when sending must not trust what is stored.
    const received = upstream.received.length;
    const db = new Database(join(guarded.dataDir, 'syncline.db'));
    db.pragma('busy_timeout = 5000');
    const store = db.prepare(
      `update offline_configs set config = json_set(config, '$.upstream_base_url', ?)
       where tenant = ?`,
    );
    try {
      for (const [i, url] of urls.entries()) {
        expect(store.run(url, tenant).changes).toBe(1);
        const op = await queueAndSync(guarded, owner, `ssrf-${i}`);
        expect(op, url).toMatchObject({ status: 'failed', error_category: 'POLICY' });
        expect(op.error_message, url).toMatch(/address|not a valid absolute URL/);
        expect(op.sync_attempts, url).toBe(1);
      }
    } finally {
      db.close();
    }
    expect(upstream.received).toHaveLength(received);
  });

  it('accepts a public name, and refuses it when sending once its answer turns to loopback', async () => {
    const owner = guarded.token('owner', 'ssrf-rebind', 'admin');
    // DNS rebinding: public when the config is checked, loopback when the request is sent.
    dns.answer('rebind.test', ['93.184.215.14'], ['127.0.0.1']);
    const received = upstream.received.length;
    const set = await api(guarded, 'PATCH', '/api/offline/config', owner, {
      upstream_base_url: `http://rebind.test:${port}/api`,
    });
    expect(set.status).toBe(200);
    const op = await queueAndSync(guarded, owner, 'rebind-1');
    expect(op).toMatchObject({ status: 'failed', error_category: 'POLICY' });
    expect(op.error_message).toMatch(/^rebind\.test resolves to 127\.0\.0\.1, which is a loopback/);
    // One lookup when saved, one for the connection: the socket used the answer that was checked.
    expect(dns.queriesFor('rebind.test')).toBe(2);
    expect(upstream.received).toHaveLength(received);
  });

  it('refuses a name that resolves into a private network when saved', async () => {
    const owner = guarded.token('owner', 'ssrf-private-name', 'admin');
    dns.answer('intranet.test', ['10.1.2.3']);
    const res = await api(guarded, 'PATCH', '/api/offline/config', owner, {
      upstream_base_url: 'https://intranet.test',
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'UPSTREAM_NOT_ALLOWED',
      message: expect.stringMatching(/intranet\.test resolves to 10\.1\.2\.3, which is a private/),
    });
  });
});

describe('SSRF guard with SYNCLINE_UPSTREAM_ALLOW', () => {
  it('opens only the hosts and addresses listed, and connects to the address it checked', async () => {
    const owner = listed.token('owner', 'listed-biz', 'admin');
    dns.answer('shop.internal.test', ['127.0.0.1'], ['127.0.0.1'], ['10.9.9.9']);
    const set = await api(listed, 'PATCH', '/api/offline/config', owner, {
      upstream_base_url: `http://shop.internal.test:${port}/listed`,
    });
    expect(set.status).toBe(200);
    const op = await queueAndSync(listed, owner, 'listed-1');
    expect(op).toMatchObject({ status: 'synced', status_code: 201 });
    // The name resolves nowhere but the test's DNS: the request went to the answer it checked.
    const [received] = upstream.requestsTo('/listed/api/sales');
    expect(received?.headers.host).toBe(`shop.internal.test:${port}`);

    // The name now answers an address the list does not open: refused when sending.
    const moved = await queueAndSync(listed, owner, 'listed-2');
    expect(moved).toMatchObject({ status: 'failed', error_category: 'POLICY' });
    expect(moved.error_message).toMatch(/resolves to 10\.9\.9\.9, which is a private/);
    expect(upstream.requestsTo('/listed/api/sales')).toHaveLength(1);

    for (const url of [
      'http://127.0.0.1:1', // the listed address, another port
      'http://localhost:' + port, // a name the list does not name
      'http://10.0.0.1',
      'http://169.254.169.254',
    ]) {
      const res = await api(listed, 'PATCH', '/api/offline/config', owner, {
        upstream_base_url: url,
      });
      expect(res.status, url).toBe(400);
    }
  });
});
