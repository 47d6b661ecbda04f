// Seed 001 (rural healthcare, seeds/001_58fe607889b27e40.txt) walked top to bottom against the real
// server process: the six queue endpoints with their documented fields, conflicts and the three
// resolutions, retries, admin-only stats, the userId rule, the seed's curl examples run by curl,
// and the seed's own SyncManager client syncing through them.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server-process.js';
import {
  fetchFrom,
  ManualNetInfo,
  MemoryAsyncStorage,
  SyncManager,
} from './clients/sync-manager.js';
import { call, curl, type Json } from './seed-http.js';

let server: ServerProcess;
const tenant = 'clinic-north';
const seedUser = '507f1f77bcf86cd799439011';
const v1 = '/api/v1/sync';

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const tokenFor = (userId: string, role: 'user' | 'admin' = 'user') =>
  server.token(userId, tenant, role);
const adminToken = () => tokenFor('district-admin', 'admin');
const newUser = () => `507f${randomUUID().replace(/-/g, '').slice(0, 20)}`;
const newDevice = () => `device-${randomUUID().slice(0, 8)}`;

/** The seed's "Queue Operation" request, with fields to change. */
function queueBody(userId: string, fields: Record<string, unknown> = {}) {
  return {
    userId,
    deviceId: 'device-123-abc-456',
    operation: 'CREATE',
    resourceType: 'encounter',
    data: {
      patientId: '507f1f77bcf86cd799439011',
      diagnosis: 'Common cold',
      prescription: 'Rest and fluids',
    },
    createdAtClient: '2025-11-30T10:00:00.000Z',
    version: 1,
    ...fields,
  };
}

const queue = (token: string, body: unknown) =>
  call('POST', `${server.url}${v1}/queue`, token, body);
const processItem = (token: string, id: string) =>
  call('POST', `${server.url}${v1}/process/${id}`, token);
const resolve = (token: string, id: string, resolution: string) =>
  call('PATCH', `${server.url}${v1}/resolve/${id}?resolution=${resolution}`, token);
const pending = (token: string, query: string) =>
  call('GET', `${server.url}${v1}/pending?${query}`, token);

async function historyOf(type: string, id: string) {
  const res = await call(
    'GET',
    `${server.url}/api/sync/entities/${type}/${id}/history`,
    adminToken(),
  );
  return res.status === 404 ? [] : (res.body.history as Array<{ version: number; payload: Json }>);
}

/** Queues and processes one operation; answers the process response. */
async function syncOne(token: string, body: unknown) {
  const queued = await queue(token, body);
  expect(queued.status).toBeLessThan(300);
  return (await processItem(token, queued.body.id)).body;
}

describe('API Endpoints', () => {
  const token = () => tokenFor(seedUser);

  it('1. Queue Operation → 2. Get Pending → 3. Process: the documented shapes, applied once', async () => {
    const body = queueBody(seedUser);
    const queued = await queue(token(), body);
    expect(queued.status).toBe(201);
    expect(queued.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      status: 'PENDING',
      message: 'Operation queued for sync',
    });
    const id = queued.body.id;

    const list = await pending(token(), `deviceId=device-123-abc-456&userId=${seedUser}`);
    expect(list.status).toBe(200);
    expect(list.body).toContainEqual(
      expect.objectContaining({
        id,
        operation: 'CREATE',
        resourceType: 'encounter',
        data: body.data,
        status: 'PENDING',
        retryCount: 0,
        createdAtClient: '2025-11-30T10:00:00.000Z',
      }),
    );

    const processed = await processItem(token(), id);
    expect(processed.status).toBe(200);
    expect(processed.body).toMatchObject({
      status: 'SYNCED',
      message: 'Operation synced successfully',
      result: { id: expect.stringMatching(/^[0-9a-f]{24}$/), ...body.data },
    });
    const resourceId = processed.body.result.id;
    expect(resourceId).not.toBe(id);

    // Processing again, or queueing the same operation again, never applies it twice.
    const again = await processItem(token(), id);
    expect(again.body).toMatchObject({ status: 'SYNCED', result: { id: resourceId } });
    const requeued = await queue(token(), body);
    expect(requeued.status).toBe(200);
    expect(requeued.body).toEqual({ id, status: 'SYNCED', message: 'Operation already queued' });
    expect((await historyOf('encounter', resourceId)).map((h) => h.version)).toEqual([1]);
    const after = await pending(token(), `deviceId=device-123-abc-456&userId=${seedUser}`);
    expect(after.body.map((item: { id: string }) => item.id)).not.toContain(id);
  });

  it('3. Process: the same item processed twice at the same instant is applied once', async () => {
    const user = newUser();
    const t = tokenFor(user);
    const queued = await queue(t, queueBody(user, { deviceId: newDevice() }));
    const [a, b] = await Promise.all([
      processItem(t, queued.body.id),
      processItem(t, queued.body.id),
    ]);
    expect([a.body.status, b.body.status]).toEqual(['SYNCED', 'SYNCED']);
    expect(a.body.result.id).toBe(b.body.result.id);
    expect((await historyOf('encounter', a.body.result.id)).map((h) => h.version)).toEqual([1]);
  });

  it('3. Process: a conflict answers CONFLICT with message, error and resolutionOptions', async () => {
    const user = newUser();
    const t = tokenFor(user);
    const patientId = `pat-${randomUUID().slice(0, 8)}`;
    const create = { resourceType: 'patient', resourceId: patientId, deviceId: newDevice() };
    await syncOne(t, queueBody(user, { ...create, data: { name: 'Amina' } }));
    // Another device updates the patient first (server version 2)...
    const tablet = newDevice();
    const first = await syncOne(
      t,
      queueBody(user, {
        ...create,
        deviceId: tablet,
        operation: 'UPDATE',
        data: { phone: '0788' },
      }),
    );
    expect(first).toMatchObject({ status: 'SYNCED', result: { id: patientId, version: 2 } });
    // ...then the offline phone's edit, made on version 1, arrives.
    const phone = newDevice();
    const stale = queueBody(user, {
      ...create,
      deviceId: phone,
      operation: 'UPDATE',
      data: { phone: '0799' },
      createdAtClient: '2025-11-30T11:00:00.000Z',
    });
    const queued = await queue(t, stale);
    const conflict = await processItem(t, queued.body.id);
    expect(conflict.body).toMatchObject({
      status: 'CONFLICT',
      message: 'Version conflict detected',
      error: 'Resource was modified on server',
      resolutionOptions: ['CLIENT_WINS', 'SERVER_WINS', 'MANUAL'],
      conflict: { type: 'VERSION_MISMATCH', serverVersion: 2, clientVersion: 1 },
    });
  });

  describe('4. Resolve Conflict', () => {
    /** A queued patient update that conflicts; answers its queue id, the patient and a token. */
    async function conflicted() {
      const user = newUser();
      const t = tokenFor(user);
      const patientId = `pat-${randomUUID().slice(0, 8)}`;
      const base = { resourceType: 'patient', resourceId: patientId, deviceId: newDevice() };
      await syncOne(t, queueBody(user, { ...base, data: { name: 'Baraka', village: 'Kisii' } }));
      await syncOne(
        t,
        queueBody(user, { ...base, operation: 'UPDATE', data: { village: 'Nyamira' }, version: 1 }),
      );
      const queued = await queue(
        t,
        queueBody(user, {
          ...base,
          deviceId: newDevice(),
          operation: 'UPDATE',
          data: { village: 'Keroka' },
          createdAtClient: '2025-11-30T12:00:00.000Z',
        }),
      );
      expect((await processItem(t, queued.body.id)).body.status).toBe('CONFLICT');
      return { id: queued.body.id as string, patientId, t };
    }

    it('SERVER_WINS: discards the offline data and keeps the server version', async () => {
      const { id, patientId, t } = await conflicted();
      const res = await resolve(t, id, 'SERVER_WINS');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id,
        resolution: 'SERVER_WINS',
        conflict: { status: 'RESOLVED', resolution: 'SERVER_WINS' },
      });
      const history = await historyOf('patient', patientId);
      expect(history.at(-1)).toMatchObject({ version: 2, payload: { village: 'Nyamira' } });
      const twice = await resolve(t, id, 'CLIENT_WINS');
      expect(twice.status).toBe(409);
      expect(twice.body.error.code).toBe('CONFLICT_ALREADY_RESOLVED');
    });

    it('CLIENT_WINS needs an admin: a user’s choice is refused (403), an admin’s overwrites the server and the item is SYNCED', async () => {
      const { id, patientId, t } = await conflicted();
      const refused = await resolve(t, id, 'CLIENT_WINS');
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({
        code: 'ADMIN_REQUIRED',
        message: expect.stringContaining("CLIENT_WINS on patient needs an admin's approval"),
      });
      expect((await historyOf('patient', patientId)).map((h) => h.version)).toEqual([1, 2]);
      // Nor may the user write a copy of their own making over the server's.
      const own = await call('POST', `${server.url}/api/sync/conflicts/resolve`, t, {
        conflictId: (await processItem(t, id)).body.conflict.id,
        resolution: 'MERGE',
        resolvedData: { name: 'Baraka', village: 'Keroka' },
      });
      expect(own.status).toBe(403);
      expect(own.body.error.code).toBe('ADMIN_REQUIRED');

      const res = await resolve(adminToken(), id, 'CLIENT_WINS');
      expect(res.body).toMatchObject({
        id,
        status: 'SYNCED',
        resolution: 'CLIENT_WINS',
        result: { id: patientId, version: 3, village: 'Keroka', name: 'Baraka' },
      });
      expect((await processItem(t, id)).body).toMatchObject({ status: 'SYNCED' });
      expect((await historyOf('patient', patientId)).map((h) => h.version)).toEqual([1, 2, 3]);
    });

    it('MANUAL: flagged for review by an admin, who sees both versions', async () => {
      const { id, t } = await conflicted();
      const res = await resolve(t, id, 'MANUAL');
      expect(res.body).toMatchObject({
        id,
        status: 'CONFLICT',
        resolution: 'MANUAL',
        conflict: { status: 'PENDING_REVIEW' },
      });
      const review = await call('GET', `${server.url}/api/sync/conflicts`, adminToken());
      expect(review.body.conflicts).toContainEqual(
        expect.objectContaining({
          id: res.body.conflict.id,
          clientData: expect.objectContaining({ village: 'Keroka' }),
          serverData: expect.objectContaining({ village: 'Nyamira' }),
        }),
      );
    });

    it('refuses what cannot be resolved', async () => {
      const user = newUser();
      const t = tokenFor(user);
      const queued = await queue(t, queueBody(user, { deviceId: newDevice() }));
      const bad = await resolve(t, queued.body.id, 'CLIENT_WINS');
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_OPERATION');
      expect((await resolve(t, 'ffffffffffffffffffffffff', 'SERVER_WINS')).status).toBe(404);
      const wrong = await resolve(t, queued.body.id, 'LOUDEST_WINS');
      expect(wrong.status).toBe(400);
      expect(wrong.body.error.code).toBe('VALIDATION_FAILED');
    });
  });

  it('5. Retry Failed Operations: an update that failed syncs once its resource exists', async () => {
    const user = newUser();
    const t = tokenFor(user);
    const device = newDevice();
    const encounterId = `enc-${randomUUID().slice(0, 8)}`;
    const update = await queue(
      t,
      queueBody(user, {
        deviceId: device,
        operation: 'UPDATE',
        resourceId: encounterId,
        data: { diagnosis: 'Influenza' },
        createdAtClient: '2025-11-30T10:05:00.000Z',
      }),
    );
    const failed = await processItem(t, update.body.id);
    expect(failed.body).toMatchObject({ status: 'FAILED', code: 'NOT_FOUND' });
    expect((await pending(t, `deviceId=${device}&userId=${user}`)).body).toEqual([
      expect.objectContaining({ id: update.body.id, status: 'FAILED', retryCount: 0 }),
    ]);
    await syncOne(t, queueBody(user, { deviceId: device, resourceId: encounterId }));
    const retry = await call(
      'POST',
      `${server.url}${v1}/retry?deviceId=${device}&userId=${user}`,
      t,
    );
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({
      retried: 1,
      results: [{ id: update.body.id, status: 'SYNCED' }],
    });
    expect((await pending(t, `deviceId=${device}&userId=${user}`)).body).toEqual([]);
    expect((await historyOf('encounter', encounterId)).at(-1)).toMatchObject({
      version: 2,
      payload: { diagnosis: 'Influenza' },
    });
  });

  it('6. Get Sync Statistics: admin only, syncRate as a percentage string', async () => {
    const user = newUser();
    const t = tokenFor(user);
    const device = newDevice();
    for (let i = 0; i < 14; i++) {
      const at = new Date(Date.parse('2025-11-30T08:00:00.000Z') + i * 60_000).toISOString();
      const res = await syncOne(t, queueBody(user, { deviceId: device, createdAtClient: at }));
      expect(res.status).toBe('SYNCED');
    }
    await queue(
      t,
      queueBody(user, { deviceId: device, createdAtClient: '2025-11-30T09:00:00.000Z' }),
    );
    const stats = await call('GET', `${server.url}${v1}/stats?userId=${user}`, adminToken());
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual({
      total: 15,
      pending: 1,
      synced: 14,
      failed: 0,
      conflicts: 0,
      syncRate: '93.33%',
    });
    const asUser = await call('GET', `${server.url}${v1}/stats?userId=${user}`, t);
    expect(asUser.status).toBe(403);
    expect(asUser.body.error.code).toBe('ADMIN_REQUIRED');
  });
});

describe('Beside seed 003', () => {
  it('a request PayMe queued in the same tenant, device and id is not in the queue or its stats', async () => {
    const user = newUser();
    const t = tokenFor(user);
    const device = newDevice();
    const queued = await queue(t, queueBody(user, { deviceId: device }));
    expect(queued.status).toBe(201);
    // Seed 003's queue keeps requests as mutations too, under the device's own operation id.
    const request = await call(
      'POST',
      `${server.url}/api/offline/queue`,
      t,
      {
        operation_type: 'sale',
        operation_id: queued.body.id,
        endpoint: '/api/sales',
        method: 'POST',
        request_body: { total: 1 },
      },
      { 'x-device-id': device },
    );
    expect(request.status).toBe(202);

    const listed = await pending(t, `deviceId=${device}&userId=${user}`);
    expect(listed.body).toEqual([
      expect.objectContaining({ id: queued.body.id, status: 'PENDING' }),
    ]);
    const stats = await call('GET', `${server.url}${v1}/stats?userId=${user}`, adminToken());
    expect(stats.body).toMatchObject({ total: 1, pending: 1, synced: 0 });
    expect((await processItem(t, queued.body.id)).body.status).toBe('SYNCED');
    const offline = await call('GET', `${server.url}/api/offline/pending`, t);
    expect(offline.body).toEqual([
      expect.objectContaining({ id: request.body.queueId, operation_id: queued.body.id }),
    ]);
  });
});

describe('Security and bad input', () => {
  it('a userId that is not the caller’s is refused (403) unless the caller is an admin', async () => {
    const user = newUser();
    const t = tokenFor(user);
    const other = newUser();
    for (const res of [
      await queue(t, queueBody(other, { deviceId: newDevice() })),
      await pending(t, `userId=${other}`),
      await call('POST', `${server.url}${v1}/retry?userId=${other}`, t),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    const mine = await queue(t, queueBody(user, { deviceId: newDevice() }));
    const asAdmin = await pending(adminToken(), `userId=${user}`);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.map((item: { id: string }) => item.id)).toContain(mine.body.id);
  });

  it('another user’s or tenant’s queue item answers 404', async () => {
    const user = newUser();
    const queued = await queue(tokenFor(user), queueBody(user, { deviceId: newDevice() }));
    expect((await processItem(tokenFor(newUser()), queued.body.id)).status).toBe(404);
    const outsider = server.token(user, 'clinic-south');
    const res = await processItem(outsider, queued.body.id);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it('refuses bad operations with a structured error and queues nothing', async () => {
    const user = newUser();
    const t = tokenFor(user);
    const device = newDevice();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ operation: 'UPSERT' }, 'VALIDATION_FAILED'],
      [{ operation: 'UPDATE' }, 'VALIDATION_FAILED'],
      [{ resourceType: 'Encounter!' }, 'VALIDATION_FAILED'],
      [{ createdAtClient: new Date(Date.now() + 3_600_000).toISOString() }, 'FUTURE_TIMESTAMP'],
      [{ data: { __proto__x: 1, constructor: { bad: true } } }, 'FORBIDDEN_KEY'],
    ];
    for (const [fields, code] of cases) {
      const res = await queue(t, queueBody(user, { deviceId: device, ...fields }));
      expect(res.status, JSON.stringify(fields)).toBe(400);
      expect(res.body.error.code).toBe(code);
    }
    expect((await pending(t, `deviceId=${device}`)).body).toEqual([]);
    const noToken = await call('POST', `${server.url}${v1}/queue`, undefined, queueBody(user));
    expect(noToken.status).toBe(401);
  });
});

describe('Testing Offline Sync: the seed’s curl examples, run as written', () => {
  it('creates, lists and processes an encounter, then shows a conflict', async () => {
    const env = { TOKEN: tokenFor(seedUser) };
    const base = 'http://localhost:3000';
    const here = (line: string) => line.replaceAll(base, server.url);
    const createdAt = new Date(Date.now() - 60_000).toISOString();

    // "2. Create Test Operations" (its `"data": {...}` placeholder filled in).
    const created = await curl(
      here(`curl -X POST http://localhost:3000/api/v1/sync/queue \\
  -H "Authorization: Bearer $TOKEN" \\
  -d '{
    "userId": "507f1f77bcf86cd799439011",
    "deviceId": "test-device-1",
    "operation": "CREATE",
    "resourceType": "encounter",
    "data": {"patientId": "507f1f77bcf86cd799439011", "diagnosis": "Malaria"},
    "createdAtClient": "${createdAt}"
  }'`),
      env,
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'PENDING', message: 'Operation queued for sync' });

    // "3. Check Pending Sync"
    const listed = await curl(
      here(`curl -X GET "http://localhost:3000/api/v1/sync/pending?deviceId=test-device-1&userId=507f1f77bcf86cd799439011" \\
  -H "Authorization: Bearer $TOKEN"`),
      env,
    );
    expect(listed.status).toBe(200);
    expect(listed.body).toContainEqual(
      expect.objectContaining({ id: created.body.id, status: 'PENDING', retryCount: 0 }),
    );

    // "4. Process Sync" (SYNC_ID is the id the queue answered).
    const processed = await curl(
      here(`curl -X POST http://localhost:3000/api/v1/sync/process/SYNC_ID \\
  -H "Authorization: Bearer $TOKEN"`).replace('SYNC_ID', created.body.id),
      env,
    );
    expect(processed.status).toBe(200);
    expect(processed.body).toMatchObject({ status: 'SYNCED', result: { diagnosis: 'Malaria' } });

    // "5. Test Conflict": create the same resource on the server, then sync the offline version.
    const resourceId = `enc-${randomUUID().slice(0, 8)}`;
    const onServer = await curl(
      here(
        `curl -X POST http://localhost:3000/api/v1/sync/queue -H "Authorization: Bearer $TOKEN" -d '{"userId": "507f1f77bcf86cd799439011", "deviceId": "test-device-1", "operation": "CREATE", "resourceType": "encounter", "resourceId": "${resourceId}", "data": {"diagnosis": "Malaria"}, "createdAtClient": "${createdAt}"}'`,
      ),
      env,
    );
    await curl(
      here(
        `curl -X POST http://localhost:3000/api/v1/sync/process/${onServer.body.id} -H "Authorization: Bearer $TOKEN"`,
      ),
      env,
    );
    const offline = await curl(
      here(
        `curl -X POST http://localhost:3000/api/v1/sync/queue -H "Authorization: Bearer $TOKEN" -d '{"userId": "507f1f77bcf86cd799439011", "deviceId": "test-device-2", "operation": "CREATE", "resourceType": "encounter", "resourceId": "${resourceId}", "data": {"diagnosis": "Typhoid"}, "createdAtClient": "${createdAt}"}'`,
      ),
      env,
    );
    const conflict = await curl(
      here(
        `curl -X POST http://localhost:3000/api/v1/sync/process/${offline.body.id} -H "Authorization: Bearer $TOKEN"`,
      ),
      env,
    );
    expect(conflict.body).toMatchObject({
      status: 'CONFLICT',
      resolutionOptions: ['CLIENT_WINS', 'SERVER_WINS', 'MANUAL'],
    });

    // "6. Get Sync Statistics" with an admin token.
    const stats = await curl(
      here(
        `curl -s "http://localhost:3000/api/v1/sync/stats?userId=507f1f77bcf86cd799439011" -H "Authorization: Bearer $ADMIN_TOKEN"`,
      ),
      { ADMIN_TOKEN: adminToken() },
    );
    expect(stats.status).toBe(200);
    expect(stats.body.syncRate).toMatch(/^\d+\.\d{2}%$/);
  });
});

describe('Client Implementation Guide: the seed’s SyncManager', () => {
  it('queues offline, syncs on reconnect, survives a lost response and settles a conflict', async () => {
    const userId = newUser();
    const deviceId = newDevice();
    const storage = new MemoryAsyncStorage();
    const netInfo = new ManualNetInfo();
    let dropNextProcessResponse = false;
    const realFetch = fetchFrom(server.url);
    const dialogs: unknown[] = [];
    const environment = {
      AsyncStorage: storage,
      NetInfo: netInfo,
      // The real fetch; the test can make one process response vanish after the server handled it.
      fetch: (async (input, init) => {
        const response = await realFetch(input, init);
        if (dropNextProcessResponse && String(input).includes('/process/')) {
          dropNextProcessResponse = false;
          throw new TypeError('fetch failed: the connection dropped');
        }
        return response;
      }) as typeof fetch,
      generateUUID: () => randomUUID(),
      getCurrentUserId: () => userId,
      getDeviceId: async () => deviceId,
      getAuthToken: () => tokenFor(userId),
      showConflictDialog: async (input: unknown) => {
        dialogs.push(input);
        return 'SERVER_WINS';
      },
    };
    const manager = new SyncManager(environment);
    await manager.initialize();
    const serverItems = async () =>
      (await pending(tokenFor(userId), `deviceId=${deviceId}&userId=${userId}`)).body as unknown[];
    const encountersOnServer = async () => {
      const res = await call('POST', `${server.url}/api/sync/delta`, tokenFor(userId), {
        deviceId: `${deviceId}-reader`,
        entityTypes: ['encounter'],
      });
      // Encounters are shared in the tenant: this device's user made these.
      const changes = res.body.changes as Array<{ updatedBy: string; payload: Json }>;
      return changes.filter((change) => change.updatedBy === userId);
    };

    try {
      // Online: "createEncounterOffline" syncs at once.
      await manager.queueOperation('CREATE', 'encounter', { patientId: 'p-1', diagnosis: 'Cough' });
      expect(manager.getSyncStatus()).toEqual({ total: 0, pending: 0, failed: 0 });
      expect(await encountersOnServer()).toHaveLength(1);

      // Offline: operations wait on the device; nothing reaches the server.
      netInfo.set(false);
      await manager.queueOperation('CREATE', 'encounter', { patientId: 'p-2', diagnosis: 'Fever' });
      await manager.queueOperation('CREATE', 'patient', { name: 'Achieng' }, 'pat-achieng');
      expect(manager.getSyncStatus()).toEqual({ total: 2, pending: 2, failed: 0 });
      expect(await serverItems()).toEqual([]);

      // The app restarts while offline: the queue comes back from storage.
      manager.stop();
      const restarted = new SyncManager(environment);
      await restarted.initialize();
      expect(restarted.getSyncStatus()).toEqual({ total: 2, pending: 2, failed: 0 });

      // Back online: the connectivity event syncs everything.
      netInfo.set(true);
      await vi_waitFor(() => restarted.getSyncStatus().total === 0);
      expect(await encountersOnServer()).toHaveLength(2);

      // The server applies an operation but its answer is lost: the device marks it FAILED and
      // sends it again; the server recognises it and applies it once.
      dropNextProcessResponse = true;
      await restarted.queueOperation('CREATE', 'encounter', {
        patientId: 'p-3',
        diagnosis: 'Rash',
      });
      expect(restarted.getSyncStatus()).toEqual({ total: 1, pending: 0, failed: 1 });
      await restarted.syncAll();
      expect(restarted.getSyncStatus()).toEqual({ total: 0, pending: 0, failed: 0 });
      const encounters = await encountersOnServer();
      expect(encounters.filter((e) => e.payload.diagnosis === 'Rash')).toHaveLength(1);

      // A conflict: the patient changed on the server while this device edited it offline.
      await syncOne(
        tokenFor(userId),
        queueBody(userId, {
          deviceId: newDevice(),
          operation: 'UPDATE',
          resourceType: 'patient',
          resourceId: 'pat-achieng',
          data: { village: 'Kisumu' },
        }),
      );
      await restarted.queueOperation('UPDATE', 'patient', { village: 'Siaya' }, 'pat-achieng');
      expect(dialogs).toEqual([
        {
          localData: { village: 'Siaya' },
          conflictInfo: expect.objectContaining({
            status: 'CONFLICT',
            resolutionOptions: ['CLIENT_WINS', 'SERVER_WINS', 'MANUAL'],
          }),
        },
      ]);
      expect(restarted.getSyncStatus().total).toBe(0);
      const patient = await historyOf('patient', 'pat-achieng');
      expect(patient.at(-1)).toMatchObject({ version: 2, payload: { village: 'Kisumu' } });
      const conflicts = await call(
        'GET',
        `${server.url}/api/sync/conflicts?status=RESOLVED`,
        tokenFor(userId),
      );
      expect(conflicts.body.conflicts).toContainEqual(
        expect.objectContaining({ entityId: 'pat-achieng', resolution: 'SERVER_WINS' }),
      );
      restarted.stop();
    } finally {
      manager.stop();
    }
  });
});

/** Waits for a condition the client reaches asynchronously (its listener's sync is not awaited). */
async function vi_waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
