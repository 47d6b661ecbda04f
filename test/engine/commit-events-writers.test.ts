// Each write path outside the push batch announces what it committed, after COMMIT: a restore's
// version (with the access fields before and after), a device's revocation by its owner and by an
// admin handing it on, and nothing for an invalidation refused by its cooldown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../packages/server/src/engine/actor.js';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';
import type { CommitEvent } from '../../packages/server/src/engine/commit-events.js';
import type { SyncEngine } from '../../packages/server/src/engine/engine-api.js';
import { presetCollections } from '../../packages/server/src/seeds/presets.js';
import { commitEventsFixture } from './engine-fixture.js';

const collections = createCollectionRegistry(
  { collections: { visit: { access: { field: 'facilityId', claim: 'facilities' } } } },
  presetCollections,
);
const nurse = {
  tenant: 't1',
  userId: 'nurse',
  role: 'user',
  claims: { facilities: ['north', 'south'] },
} as Actor;
const admin = { tenant: 't1', userId: 'boss', role: 'admin', claims: {} } as Actor;

let engine: SyncEngine;
let events: CommitEvent[];
let close: () => Promise<void>;

beforeAll(async () => {
  ({ engine, events, close } = await commitEventsFixture(collections));
});

afterAll(() => close());

const visit = (operation: 'CREATE' | 'UPDATE', facilityId: string, clientVersion: number) => ({
  mutationId: `m-${operation}-${facilityId}`,
  entityType: 'visit',
  entityId: 'v1',
  operation,
  payload: { facilityId },
  clientVersion,
  timestamp: new Date().toISOString(),
});

describe('commit events of the other write paths', () => {
  it('a restore announces its version with the access fields before and after', async () => {
    await engine.push(nurse, { deviceId: 'd1', changes: [visit('CREATE', 'north', 1)] });
    await engine.push(nurse, { deviceId: 'd1', changes: [visit('UPDATE', 'south', 1)] });
    events.length = 0;
    const restored = await engine.restore(admin, 'visit', 'v1', 1);
    expect(events).toEqual([
      {
        kind: 'changes',
        tenant: 't1',
        seq: 3,
        epoch: 0,
        changes: [
          {
            entityType: 'visit',
            entityId: 'v1',
            seq: 3,
            createdBy: 'nurse',
            fields: { facilityId: ['south', 'north'] },
          },
        ],
      },
    ]);
    expect(restored).toMatchObject({ version: 3 });
  });

  it('unregistering a device, and an admin handing one on, announce its revocation', async () => {
    await engine.claimDevice(nurse, 'd2');
    events.length = 0;
    await engine.unregisterDevice(nurse, 'd2');
    expect(events).toEqual([{ kind: 'device-revoked', tenant: 't1', deviceId: 'd2' }]);

    events.length = 0;
    await engine.registerDevice(admin, { deviceId: 'd1', userId: 'other' });
    expect(events).toEqual([{ kind: 'device-revoked', tenant: 't1', deviceId: 'd1' }]);

    // Registering one's own active device again revokes nothing.
    events.length = 0;
    await engine.registerDevice(admin, { deviceId: 'd1', userId: 'other' });
    expect(events).toEqual([]);
  });

  it('an invalidation refused by its cooldown announces nothing', async () => {
    events.length = 0;
    await engine.invalidateCache(admin, {});
    expect(events).toEqual([{ kind: 'epoch', tenant: 't1', seq: 3, epoch: 1 }]);
    events.length = 0;
    await expect(engine.invalidateCache(admin, {})).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(events).toEqual([]);
  });
});
