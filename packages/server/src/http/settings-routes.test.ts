// GET/PATCH /api/sync/admin/settings: tenant admins only, validated, tenant-scoped, audited.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeServices, type SynclineServices } from '../app/compose.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { createSqliteSyncStore } from '../store/sqlite/sqlite-sync-store.js';
import { createTokenVerifier, mintToken } from './auth.js';
import { buildServer } from './build-server.js';

// Response bodies, read loosely: the assertions say what must be in them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const secret = randomBytes(32).toString('hex');
let app: FastifyInstance;
let store: KyselySyncStore;
let services: SynclineServices;

beforeAll(async () => {
  store = await createSqliteSyncStore({ file: ':memory:' });
  services = composeServices({ store, jobsEnv: { SYNCLINE_MUTATION_RETENTION_DAYS: '14' } });
  app = buildServer({
    services,
    auth: createTokenVerifier({ secret }),
    logger: false,
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await services.close();
  await store.close();
});

const token = (sub: string, tenant: string, role: 'user' | 'admin' = 'user') =>
  mintToken({ secret, sub, tenant, role });
const call = async (
  method: 'GET' | 'PATCH',
  auth: string,
  payload?: unknown,
): Promise<{ statusCode: number; json: () => Json }> =>
  app.inject({
    method,
    url: '/api/sync/admin/settings',
    headers: { authorization: `Bearer ${auth}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

describe('/api/sync/admin/settings', () => {
  it('answers the server defaults to an admin of a tenant that changed nothing', async () => {
    const res = await call('GET', await token('boss', 'clinic', 'admin'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      settings: { retention: { mutationsDays: 14, historyDays: 90, tombstonesDays: 90 } },
      overrides: {},
      updatedAt: null,
      updatedBy: null,
    });
  });

  it('refuses users (403 ADMIN_REQUIRED) and requests without a token (401)', async () => {
    const res = await call('GET', await token('u1', 'clinic'));
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ADMIN_REQUIRED');
    const patch = await call('PATCH', await token('u1', 'clinic'), { alerts: { windowHours: 2 } });
    expect(patch.statusCode).toBe(403);
    const anonymous = await app.inject({ method: 'GET', url: '/api/sync/admin/settings' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('changes only the tenant it is sent for, with an audit row; null goes back to the default', async () => {
    const boss = await token('boss', 'clinic', 'admin');
    const res = await call('PATCH', boss, {
      retention: { historyDays: 30 },
      alerts: { failureRatePercent: 25 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      settings: {
        retention: { mutationsDays: 14, historyDays: 30 },
        alerts: { failureRatePercent: 25 },
      },
      overrides: { retention: { historyDays: 30 }, alerts: { failureRatePercent: 25 } },
      updatedBy: 'boss',
    });
    const audit = await store.forTenant('clinic').listAudit({ action: 'settings.update' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'boss',
      details: { patch: { retention: { historyDays: 30 } } },
    });

    const other = await call('GET', await token('chief', 'shop', 'admin'));
    expect(other.json().overrides).toEqual({});
    expect(other.json().settings.retention.historyDays).toBe(90);

    const reset = await call('PATCH', boss, { retention: { historyDays: null } });
    expect(reset.json().overrides).toEqual({ alerts: { failureRatePercent: 25 } });
    expect(reset.json().settings.retention.historyDays).toBe(90);
  });

  it.each([
    ['an empty patch', {}],
    ['an unknown section', { cleanup: { days: 1 } }],
    ['an unknown setting', { retention: { forever: 1 } }],
    ['a value out of range', { alerts: { failureRatePercent: 101 } }],
    ['a negative retention', { retention: { historyDays: -1 } }],
    ['a fraction', { retention: { historyDays: 1.5 } }],
    ['a string', { retention: { historyDays: '30' } }],
  ])('refuses %s with 400 VALIDATION_FAILED and changes nothing', async (_name, body) => {
    const boss = await token('boss', 'depot', 'admin');
    const res = await call('PATCH', boss, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    const after = await call('GET', boss);
    expect(after.json().overrides).toEqual({});
    expect(await store.forTenant('depot').listAudit({})).toEqual([]);
  });
});
