// Seed 003's store-backed rules through the real server process on PostgreSQL (a schema of its
// own, dropped afterwards): queue ids numbered per business, summaries that count each operation
// once, and conflicts a person settles (resolve route, /sync/:id override).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../packages/server/src/testing/env.js';
import {
  startUpstreamServer,
  type UpstreamServer,
} from '../../packages/server/src/testing/upstream-server.js';
import { dropPostgresSchema } from '../../packages/server/src/store/index.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { callJson } from '../support/http.js';

const schema = `syncline_payme_${randomBytes(5).toString('hex')}`;

describe.skipIf(!testPgUrl)(
  `seed 003 on PostgreSQL${testPgUrl ? '' : ` (skipped: ${pgSkipReason})`}`,
  () => {
    let server: ServerProcess;
    let upstream: UpstreamServer;

    beforeAll(async () => {
      upstream = await startUpstreamServer();
      const url = new URL(testPgUrl as string);
      url.searchParams.set('schema', schema);
      server = await startServer({
        // No scheduled jobs: the replay job would claim operations these tests send by hand.
        env: {
          SYNCLINE_DB_URL: url.toString(),
          SYNCLINE_UPSTREAM_ALLOW: '127.0.0.1',
          SYNCLINE_JOBS: 'off',
        },
      });
    });
    afterAll(async () => {
      await server?.stop();
      await upstream?.close();
      await dropPostgresSchema(testPgUrl as string, schema);
    });

    const api = (method: string, path: string, token: string, body?: unknown) =>
      callJson(server.url, method, path, token, body);

    const put = (id: string) => ({
      operation_type: 'record',
      operation_id: `price-${id}`,
      endpoint: `/api/products/${id}`,
      method: 'PUT',
      request_body: { price: 55 },
    });

    it('numbers queue ids per business, counts each operation once, and lets an admin settle conflicts', async () => {
      const owner = server.token('owner', 'pg-shop', 'admin');
      const rival = server.token('owner', 'pg-rival', 'admin');
      for (const [token, name] of [
        [owner, 'pg-shop'],
        [rival, 'pg-rival'],
      ] as const) {
        const set = await api('PATCH', '/api/offline/config', token, {
          upstream_base_url: `${upstream.url}/${name}`,
          default_conflict_strategy: 'client_wins',
        });
        expect(set.status).toBe(200);
      }
      await api('POST', '/api/offline/queue', rival, put('r1'));
      await api('POST', '/api/offline/queue', rival, put('r2'));

      // p1 conflicts and is overwritten; p2 conflicts, and its overwrite is refused too.
      upstream.script('/pg-shop/api/products/p1', [
        { status: 409, body: { type: 'VERSION_MISMATCH' } },
      ]);
      upstream.script('/pg-shop/api/products/p2', [
        { status: 409, body: { type: 'VERSION_MISMATCH' } },
        { status: 409, body: { type: 'DELETED' } },
      ]);
      const p1 = await api('POST', '/api/offline/queue', owner, put('p1'));
      const p2 = await api('POST', '/api/offline/queue', owner, put('p2'));
      expect([p1.body.queueId, p2.body.queueId]).toEqual([1, 2]);

      const summary = await api('POST', '/api/offline/sync', owner, {});
      expect(summary.body).toMatchObject({ success: 1, conflict: 1, failed: 0, total: 2 });

      // p2 waits for a person; /sync/:id alone leaves it, an admin's override re-sends it.
      expect(
        (await api('POST', `/api/offline/sync/${p2.body.queueId}`, owner)).body.attempted,
      ).toBe(false);
      const override = await api('POST', `/api/offline/sync/${p2.body.queueId}`, owner, {
        strategy: 'client_wins',
      });
      expect(override.body).toMatchObject({ synced: true, operation: { status: 'synced' } });

      // A rival conflict settled server_wins: synced, the API's copy standing.
      upstream.script('/pg-rival/api/products/r3', [{ status: 409, body: { type: 'DUPLICATE' } }]);
      const r3 = await api('POST', '/api/offline/queue', rival, put('r3'));
      expect(r3.body.queueId).toBe(3);
      await api('POST', `/api/offline/sync/${r3.body.queueId}`, rival);
      const settled = await api('POST', `/api/offline/resolve/${r3.body.queueId}`, rival, {
        strategy: 'server_wins',
      });
      expect(settled.body.operation).toMatchObject({
        status: 'synced',
        resolution_strategy: 'server_wins',
      });
      expect(
        (
          await api('POST', `/api/offline/resolve/${r3.body.queueId}`, owner, {
            strategy: 'server_wins',
          })
        ).status,
      ).toBe(404);
      expect((await api('GET', '/api/offline/status', owner)).body).toMatchObject({
        synced: 2,
        conflicts: 0,
        total: 2,
      });
    });
  },
);
