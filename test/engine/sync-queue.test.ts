// The server-side sync queue (seed 001) at the engine: a queued change waits as PENDING, is applied
// once however often it is queued or processed (concurrently too), fails and is retried, and its
// conflicts wait for a person when queued with MANUAL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../packages/server/src/engine/sync-queue.js';
import { engineFixture, userOf, type EngineFixture } from './engine-fixture.js';

const nurse = userOf('nurse');
const admin = userOf('boss', {}, 'admin');
let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(async () => {
  await f.close();
});

const createEncounter = (fields: Partial<EnqueueRequest> = {}): EnqueueRequest => ({
  deviceId: 'dev-1',
  entityType: 'encounter',
  operation: 'CREATE',
  payload: { patientId: 'p1', diagnosis: 'Common cold' },
  clientVersion: 1,
  timestamp: '2025-11-30T10:00:00.000Z',
  conflictStrategy: 'MANUAL',
  ...fields,
});

describe('enqueue', () => {
  it('stores the change as PENDING without applying it; the same change again is the same item', async () => {
    const first = await f.engine.enqueue(nurse, createEncounter());
    expect(first.created).toBe(true);
    expect(first.queued).toMatchObject({ status: 'PENDING', attempts: 0, operation: 'CREATE' });
    expect(first.queued.id).toMatch(/^[0-9a-f]{24}$/);
    expect(first.queued.entityId).toMatch(/^[0-9a-f]{24}$/);
    const again = await f.engine.enqueue(nurse, createEncounter());
    expect(again).toMatchObject({ created: false, queued: { id: first.queued.id } });
    expect(
      await f.store.forTenant('t').getEntity('encounter', first.queued.entityId),
    ).toBeUndefined();
  });

  it('refuses bad input before queueing anything', async () => {
    await expect(
      f.engine.enqueue(nurse, createEncounter({ operation: 'UPDATE' })),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      f.engine.enqueue(
        nurse,
        createEncounter({ timestamp: new Date(Date.now() + 3_600_000).toISOString() }),
      ),
    ).rejects.toMatchObject({ code: 'FUTURE_TIMESTAMP' });
    expect(await f.engine.listQueue(nurse, {})).toEqual([]);
  });
});

describe('process', () => {
  it('applies an item once: processing it again, even concurrently, replays the first outcome', async () => {
    const { queued } = await f.engine.enqueue(nurse, createEncounter());
    const [a, b] = await Promise.all([
      f.engine.processQueued(nurse, queued.id),
      f.engine.processQueued(nurse, queued.id),
    ]);
    expect([a.result.status, b.result.status].sort()).toEqual(['APPLIED', 'DUPLICATE']);
    const third = await f.engine.processQueued(nurse, queued.id);
    expect(third.result).toMatchObject({ status: 'DUPLICATE', originalStatus: 'APPLIED' });
    expect(third.queued).toMatchObject({ status: 'SYNCED', attempts: 1 });
    expect(third.entity).toMatchObject({ version: 1, payload: { diagnosis: 'Common cold' } });
    expect(await f.store.forTenant('t').listHistory('encounter', queued.entityId)).toHaveLength(1);
  });

  it('hides another user’s item (404) but lets an admin process it as its owner', async () => {
    const { queued } = await f.engine.enqueue(nurse, createEncounter());
    await expect(f.engine.processQueued(userOf('other'), queued.id)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const done = await f.engine.processQueued(admin, queued.id);
    expect(done.queued.status).toBe('SYNCED');
    const entity = await f.store.forTenant('t').getEntity('encounter', queued.entityId);
    expect(entity?.createdBy).toBe('nurse');
  });

  it('a MANUAL conflict waits for a person; an admin’s CLIENT_WINS then syncs the item', async () => {
    const original = await f.engine.enqueue(nurse, createEncounter({ entityId: 'enc-1' }));
    await f.engine.processQueued(nurse, original.queued.id);
    const offline = await f.engine.enqueue(
      nurse,
      createEncounter({ entityId: 'enc-1', deviceId: 'dev-2', payload: { diagnosis: 'Flu' } }),
    );
    const processed = await f.engine.processQueued(nurse, offline.queued.id);
    expect(processed.queued.status).toBe('CONFLICT');
    expect(processed.conflict).toMatchObject({
      type: 'DUPLICATE_CREATE',
      status: 'PENDING_REVIEW',
    });
    const { conflict } = await f.engine.getQueued(nurse, offline.queued.id);
    // The healthcare presets restrict CLIENT_WINS to admins (seed 001: admin approval).
    await expect(
      f.engine.resolveConflict(nurse, { conflictId: conflict!.id, resolution: 'CLIENT_WINS' }),
    ).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
    await f.engine.resolveConflict(admin, { conflictId: conflict!.id, resolution: 'CLIENT_WINS' });
    expect((await f.engine.getQueued(nurse, offline.queued.id)).queued.status).toBe('SYNCED');
    expect(await f.store.forTenant('t').getEntity('encounter', 'enc-1')).toMatchObject({
      version: 2,
      payload: { diagnosis: 'Flu' },
    });
  });

  it('an update of a resource not yet there FAILS, and a retry applies it once the resource exists', async () => {
    const update = await f.engine.enqueue(
      nurse,
      createEncounter({ operation: 'UPDATE', entityId: 'enc-9', payload: { diagnosis: 'Better' } }),
    );
    const failed = await f.engine.processQueued(nurse, update.queued.id);
    expect(failed.queued).toMatchObject({ status: 'FAILED', error: { code: 'NOT_FOUND' } });
    const create = await f.engine.enqueue(nurse, createEncounter({ entityId: 'enc-9' }));
    await f.engine.processQueued(nurse, create.queued.id);
    const retried = await f.engine.retryQueue(nurse, { deviceId: 'dev-1' });
    expect(retried.results).toMatchObject([{ mutationId: update.queued.id, status: 'APPLIED' }]);
    expect((await f.engine.getQueued(nurse, update.queued.id)).queued).toMatchObject({
      status: 'SYNCED',
      attempts: 2,
    });
  });
});

describe('a queued item refused for good', () => {
  it('is FAILED with its reason, not left PENDING', async () => {
    const create = await f.engine.enqueue(nurse, createEncounter({ entityId: 'enc-5' }));
    await f.engine.processQueued(nurse, create.queued.id);
    // The merged state breaks the encounter schema (patientId is a string).
    const bad = await f.engine.enqueue(
      nurse,
      createEncounter({ operation: 'UPDATE', entityId: 'enc-5', payload: { patientId: 7 } }),
    );
    const processed = await f.engine.processQueued(nurse, bad.queued.id);
    expect(processed.result).toMatchObject({
      status: 'REJECTED',
      error: { code: 'SCHEMA_VIOLATION' },
    });
    expect(processed.queued).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(await f.engine.listQueue(nurse, { statuses: ['PENDING'] })).toEqual([]);
  });
});

describe('listQueue', () => {
  it('lists the caller’s items by status; another user’s queue is for admins only', async () => {
    await f.engine.enqueue(nurse, createEncounter());
    await f.engine.enqueue(nurse, createEncounter({ deviceId: 'dev-2' }));
    expect(
      await f.engine.listQueue(nurse, { deviceId: 'dev-2', statuses: ['PENDING'] }),
    ).toHaveLength(1);
    await expect(f.engine.listQueue(userOf('other'), { userId: 'nurse' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await f.engine.listQueue(userOf('other'), {})).toEqual([]);
    expect(await f.engine.listQueue(admin, { userId: 'nurse' })).toHaveLength(2);
  });
});
