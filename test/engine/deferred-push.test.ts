// Deferred pushes at the engine: a stored change waits as PENDING, is applied once however often it
// is pushed or processed (concurrently too), fails and is retried, and its conflicts wait for a
// person when pushed with MANUAL.
import type { Change } from '@syncline/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeferredPushRequest } from '../../packages/server/src/engine/commands/deferred.js';
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

const createEncounter = (
  fields: Partial<Change> = {},
  deviceId = 'dev-1',
): DeferredPushRequest => ({
  deviceId,
  change: {
    mutationId: `m-${deviceId}`,
    entityType: 'encounter',
    entityId: 'enc-0',
    operation: 'CREATE',
    payload: { patientId: 'p1', diagnosis: 'Common cold' },
    clientVersion: 1,
    timestamp: '2025-11-30T10:00:00.000Z',
    conflictStrategy: 'MANUAL',
    ...fields,
  },
});

describe('pushDeferred', () => {
  it('stores the change as PENDING without applying it; the same change again is the same mutation', async () => {
    const first = await f.engine.pushDeferred(nurse, createEncounter());
    expect(first.created).toBe(true);
    expect(first.mutation).toMatchObject({
      mutationId: 'm-dev-1',
      status: 'PENDING',
      attempts: 0,
      operation: 'CREATE',
      conflictStrategy: 'MANUAL',
    });
    const again = await f.engine.pushDeferred(nurse, createEncounter());
    expect(again).toMatchObject({ created: false, mutation: { mutationId: 'm-dev-1' } });
    expect(await f.store.forTenant('t').getEntity('encounter', 'enc-0')).toBeUndefined();
  });

  it('refuses bad input before storing anything', async () => {
    await expect(
      f.engine.pushDeferred(nurse, createEncounter({ timestamp: 'not a time' })),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      f.engine.pushDeferred(
        nurse,
        createEncounter({ timestamp: new Date(Date.now() + 3_600_000).toISOString() }),
      ),
    ).rejects.toMatchObject({ code: 'FUTURE_TIMESTAMP' });
    expect(await f.engine.listMutations(nurse, {})).toEqual([]);
  });
});

describe('process', () => {
  it('applies an item once: processing it again, even concurrently, replays the first outcome', async () => {
    const { mutation } = await f.engine.pushDeferred(nurse, createEncounter());
    const [a, b] = await Promise.all([
      f.engine.processMutation(nurse, mutation.mutationId),
      f.engine.processMutation(nurse, mutation.mutationId),
    ]);
    expect([a.result.status, b.result.status].sort()).toEqual(['APPLIED', 'DUPLICATE']);
    const third = await f.engine.processMutation(nurse, mutation.mutationId);
    expect(third.result).toMatchObject({ status: 'DUPLICATE', originalStatus: 'APPLIED' });
    expect(third.mutation).toMatchObject({ status: 'SYNCED', attempts: 1 });
    expect(third.entity).toMatchObject({ version: 1, payload: { diagnosis: 'Common cold' } });
    expect(await f.store.forTenant('t').listHistory('encounter', mutation.entityId)).toHaveLength(
      1,
    );
  });

  it('hides another user’s item (404) but lets an admin process it as its owner', async () => {
    const { mutation } = await f.engine.pushDeferred(nurse, createEncounter());
    await expect(
      f.engine.processMutation(userOf('other'), mutation.mutationId),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const done = await f.engine.processMutation(admin, mutation.mutationId);
    expect(done.mutation.status).toBe('SYNCED');
    const entity = await f.store.forTenant('t').getEntity('encounter', mutation.entityId);
    expect(entity?.createdBy).toBe('nurse');
  });

  it('a MANUAL conflict waits for a person; an admin’s CLIENT_WINS then syncs the item', async () => {
    const original = await f.engine.pushDeferred(nurse, createEncounter({ entityId: 'enc-1' }));
    await f.engine.processMutation(nurse, original.mutation.mutationId);
    const offline = await f.engine.pushDeferred(
      nurse,
      createEncounter({ entityId: 'enc-1', payload: { diagnosis: 'Flu' } }, 'dev-2'),
    );
    const processed = await f.engine.processMutation(nurse, offline.mutation.mutationId);
    expect(processed.mutation.status).toBe('CONFLICT');
    expect(processed.conflict).toMatchObject({
      type: 'DUPLICATE_CREATE',
      status: 'PENDING_REVIEW',
    });
    const { conflict } = await f.engine.getMutation(nurse, offline.mutation.mutationId);
    // The healthcare presets restrict CLIENT_WINS to admins (seed 001: admin approval).
    await expect(
      f.engine.resolveConflict(nurse, { conflictId: conflict!.id, resolution: 'CLIENT_WINS' }),
    ).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
    await f.engine.resolveConflict(admin, { conflictId: conflict!.id, resolution: 'CLIENT_WINS' });
    expect((await f.engine.getMutation(nurse, offline.mutation.mutationId)).mutation.status).toBe(
      'SYNCED',
    );
    expect(await f.store.forTenant('t').getEntity('encounter', 'enc-1')).toMatchObject({
      version: 2,
      payload: { diagnosis: 'Flu' },
    });
  });

  it('an update of a resource not yet there FAILS, and a retry applies it once the resource exists', async () => {
    const update = await f.engine.pushDeferred(
      nurse,
      createEncounter({
        mutationId: 'm-update',
        operation: 'UPDATE',
        entityId: 'enc-9',
        payload: { diagnosis: 'Better' },
      }),
    );
    const failed = await f.engine.processMutation(nurse, update.mutation.mutationId);
    expect(failed.mutation).toMatchObject({ status: 'FAILED', error: { code: 'NOT_FOUND' } });
    const create = await f.engine.pushDeferred(nurse, createEncounter({ entityId: 'enc-9' }));
    await f.engine.processMutation(nurse, create.mutation.mutationId);
    const retried = await f.engine.retryQueue(nurse, { deviceId: 'dev-1' });
    expect(retried.results).toMatchObject([
      { mutationId: update.mutation.mutationId, status: 'APPLIED' },
    ]);
    expect((await f.engine.getMutation(nurse, update.mutation.mutationId)).mutation).toMatchObject({
      status: 'SYNCED',
      attempts: 2,
    });
  });
});

describe('a queued item refused for good', () => {
  it('is FAILED with its reason, not left PENDING', async () => {
    const create = await f.engine.pushDeferred(nurse, createEncounter({ entityId: 'enc-5' }));
    await f.engine.processMutation(nurse, create.mutation.mutationId);
    // The merged state breaks the encounter schema (patientId is a string).
    const bad = await f.engine.pushDeferred(
      nurse,
      createEncounter({
        mutationId: 'm-update',
        operation: 'UPDATE',
        entityId: 'enc-5',
        payload: { patientId: 7 },
      }),
    );
    const processed = await f.engine.processMutation(nurse, bad.mutation.mutationId);
    expect(processed.result).toMatchObject({
      status: 'REJECTED',
      error: { code: 'SCHEMA_VIOLATION' },
    });
    expect(processed.mutation).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(await f.engine.listMutations(nurse, { statuses: ['PENDING'] })).toEqual([]);
  });
});

describe('listMutations', () => {
  it('lists the caller’s items by status; another user’s queue is for admins only', async () => {
    await f.engine.pushDeferred(nurse, createEncounter());
    await f.engine.pushDeferred(nurse, createEncounter({}, 'dev-2'));
    expect(
      await f.engine.listMutations(nurse, { deviceId: 'dev-2', statuses: ['PENDING'] }),
    ).toHaveLength(1);
    await expect(
      f.engine.listMutations(userOf('other'), { userId: 'nurse' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await f.engine.listMutations(userOf('other'), {})).toEqual([]);
    expect(await f.engine.listMutations(admin, { userId: 'nurse' })).toHaveLength(2);
  });
});
