// Push batches measured in bytes, against the real server: more changes than fit in the server's
// 10 MiB body limit go in several pushes, none over the limit; a change too large for any push
// fails with its reason while the rest go on; and behind a proxy with a smaller body limit (an
// nginx `client_max_body_size`), whether it answers 413 or drops the connection mid-upload, the
// batches shrink until they pass and every change reaches the server once.
import { limitsDefaults, type PushRequest, type ServerChange } from '@syncline/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createSyncClient,
  memoryStorage,
  type SyncClient,
} from '../../packages/client/src/index.js';
import { pullAll } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startSyncProxy, type Intercept, type SyncProxy } from '../support/sync-proxy.js';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A payload of about `bytes` bytes of JSON, under the per-change limit when asked. */
const blob = (bytes: number, seed: string) => ({ seed, data: seed.padEnd(bytes, '.') });

async function feedOf(tenant: string): Promise<ServerChange[]> {
  const feed = await pullAll(server.url, server.token('boss', tenant, 'admin'), 'checker');
  return feed.changes;
}

function clientThrough(url: string, tenant: string, extra: { retry?: object } = {}): SyncClient {
  return createSyncClient({
    url,
    getToken: () => server.token('clerk', tenant),
    storage: memoryStorage(),
    realtime: false,
    // Pulls carry the pushed payloads back; small pages keep each answer small.
    pullPageSize: 10,
    // The limits under test are on the bytes sent: uncompressed, so the padding counts in full.
    compress: null,
    ...extra,
  });
}

describe("batches within the server's body limit", () => {
  let proxy: SyncProxy;
  beforeAll(async () => {
    proxy = await startSyncProxy(server.url);
  });
  afterAll(() => proxy.close());

  it('sends 11 MiB of changes in pushes under 10 MiB each; all apply, none is refused', async () => {
    const tenant = 'bytes-split';
    const client = clientThrough(proxy.url, tenant);
    try {
      const notes = client.collection('note');
      // 46 changes of 250 KB: each under the 256 KiB payload limit, together over 10 MiB.
      for (let i = 0; i < 46; i++) await notes.create(blob(250_000, `n${i}`));
      const summary = await client.syncNow();
      expect(summary).toMatchObject({ pushed: 46, failed: 0 });
      const pushes = proxy.requests.filter((request) => request.path === '/api/sync');
      expect(pushes.length).toBeGreaterThanOrEqual(2);
      expect(pushes.reduce((sum, push) => sum + push.bytes, 0)).toBeGreaterThan(
        limitsDefaults.maxBodyBytes,
      );
      for (const push of pushes)
        expect(push.bytes).toBeLessThanOrEqual(limitsDefaults.maxBodyBytes);
      expect((await feedOf(tenant)).filter((change) => change.entityType === 'note')).toHaveLength(
        46,
      );
    } finally {
      await client.close();
    }
  });

  it('fails a change too large for any push, and one over the payload limit, with their reasons; the rest go on', async () => {
    const tenant = 'bytes-too-large';
    const client = clientThrough(proxy.url, tenant);
    try {
      const notes = client.collection('note');
      await notes.create(blob(1_000, 'before'));
      const body = await notes.create(blob(limitsDefaults.maxBodyBytes + 1, 'body'));
      const payload = await notes.create(blob(limitsDefaults.maxPayloadBytes + 1_000, 'payload'));
      await notes.create(blob(1_000, 'after'));
      const summary = await client.syncNow();
      expect(summary).toMatchObject({ pushed: 2, failed: 2 });
      const failed = await client.failed();
      expect(failed.map((row) => [row.id, row.error?.code]).sort()).toEqual(
        [
          [body, 'PAYLOAD_TOO_LARGE'],
          [payload, 'PAYLOAD_TOO_LARGE'],
        ].sort(),
      );
      // The one too large for any push never went out.
      const sent = proxy.requests
        .filter((request) => request.path === '/api/sync' && request.body)
        .flatMap((request) => (request.body as PushRequest).changes.map((c) => c.entityId));
      expect(sent).not.toContain(body);
      const stored = (await feedOf(tenant)).map(
        (change) => (change.payload as { seed: string }).seed,
      );
      expect(stored.sort()).toEqual(['after', 'before']);
    } finally {
      await client.close();
    }
  });
});

describe('behind a proxy with a smaller body limit', () => {
  const proxyLimit = 1024 * 1024;

  it.each([
    ['answers 413', { status: 413, body: { message: '413 Request Entity Too Large' } }],
    ['drops the connection instead of answering', 'drop'],
  ] as Array<[string, Intercept]>)(
    'shrinks the batches when the proxy %s, and delivers every change once',
    async (what, refusal) => {
      const tenant = `bytes-proxy-${what.split(' ')[0]}`;
      const proxy = await startSyncProxy(server.url, {
        intercept: (request) => (request.bytes > proxyLimit ? refusal : undefined),
      });
      const client = clientThrough(proxy.url, tenant, {
        retry: { initialDelayMs: 10, maxDelayMs: 50 },
      });
      try {
        const notes = client.collection('note');
        for (let i = 0; i < 30; i++) await notes.create(blob(100_000, `p${i}`));
        client.start();
        await vi.waitFor(() => expect(client.status.pending).toBe(0), {
          timeout: 20_000,
          interval: 50,
        });
        expect(client.status).toMatchObject({ failed: 0 });
        const pushes = proxy.requests.filter((request) => request.path === '/api/sync');
        expect(pushes.some((push) => push.bytes > proxyLimit)).toBe(true);
        // Refused sizes shrink: the client never resends a size that was refused.
        const refused = pushes.filter((push) => push.bytes > proxyLimit).map((push) => push.bytes);
        for (let i = 1; i < refused.length; i++) {
          expect(refused[i]).toBeLessThanOrEqual(refused[i - 1]!);
        }
        const feed = (await feedOf(tenant)).filter((change) => change.entityType === 'note');
        expect(feed).toHaveLength(30);
        expect(new Set(feed.map((change) => change.entityId)).size).toBe(30);
      } finally {
        client.stop();
        await client.close();
        await proxy.close();
      }
    },
  );
});
