// After-commit events: one per committed transaction, with each written version's creator and the
// access fields before and after, and nothing for a transaction that rolled back; mayConcern
// answers yes to every reader a pull would show the change to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUrlSchema } from '../../packages/server/src/store/index.js';
import type { Actor } from '../../packages/server/src/engine/actor.js';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';
import {
  commitTransaction,
  mayConcern,
  type CommitEvent,
} from '../../packages/server/src/engine/commit-events.js';
import type { SyncEngine } from '../../packages/server/src/engine/engine-api.js';
import type { SyncStore } from '../../packages/server/src/engine/ports.js';
import { presetCollections } from '../../packages/server/src/seeds/presets.js';
import { commitEventsFixture } from './engine-fixture.js';

const collections = createCollectionRegistry(
  {
    collections: {
      note: { access: 'owner' },
      visit: { access: { field: 'facilityId', claim: 'facilities' } },
    },
  },
  presetCollections,
);
const actor = (
  userId: string,
  claims: Record<string, unknown> = {},
  role: Actor['role'] = 'user',
) => ({ tenant: 't1', userId, role, claims }) as Actor;

let engine: SyncEngine;
let store: SyncStore;
let events: CommitEvent[];
let close: () => Promise<void>;

beforeAll(async () => {
  ({ engine, store, events, close } = await commitEventsFixture(collections));
});

afterAll(() => close());

const change = (
  entityType: string,
  entityId: string,
  operation: 'CREATE' | 'UPDATE',
  payload: Record<string, unknown>,
  clientVersion = 1,
) => ({
  entityType,
  entityId,
  operation,
  payload,
  clientVersion,
  timestamp: new Date().toISOString(),
});

describe('commit events', () => {
  it('reports written versions with creator and access fields before and after, after COMMIT', async () => {
    const nurse = actor('nurse', { facilities: ['north', 'south'] });
    events.length = 0;
    await engine.push(nurse, {
      deviceId: 'd1',
      changes: [change('visit', 'v1', 'CREATE', { facilityId: 'north' })],
    });
    await engine.push(nurse, {
      deviceId: 'd1',
      changes: [
        change('visit', 'v1', 'UPDATE', { facilityId: 'south' }, 1),
        change('note', 'n1', 'CREATE', { text: 'x' }),
      ],
    });
    expect(events).toHaveLength(2);
    const [first, second] = events as [
      CommitEvent & { kind: 'changes' },
      CommitEvent & { kind: 'changes' },
    ];
    expect(first).toMatchObject({ kind: 'changes', tenant: 't1', seq: 1, epoch: 0 });
    expect(first.changes).toEqual([
      {
        entityType: 'visit',
        entityId: 'v1',
        seq: 1,
        createdBy: 'nurse',
        fields: { facilityId: ['north'] },
      },
    ]);
    expect(second.seq).toBe(3);
    expect(second.changes).toEqual([
      {
        entityType: 'visit',
        entityId: 'v1',
        seq: 2,
        createdBy: 'nurse',
        fields: { facilityId: ['north', 'south'] },
      },
      { entityType: 'note', entityId: 'n1', seq: 3, createdBy: 'nurse', fields: {} },
    ]);

    // Who may see them: the north nurse learns v1 left; the owner rule keeps the note private.
    const [moved, note] = second.changes as [
      (typeof second.changes)[0],
      (typeof second.changes)[0],
    ];
    expect(mayConcern(actor('n2', { facilities: ['north'] }), collections, moved)).toBe(true);
    expect(mayConcern(actor('e2', { facilities: ['east'] }), collections, moved)).toBe(false);
    expect(mayConcern(actor('other'), collections, note)).toBe(false);
    expect(mayConcern(actor('nurse'), collections, note)).toBe(true);
    expect(mayConcern(actor('boss', {}, 'admin'), collections, note)).toBe(true);
  });

  it('reports nothing for a transaction that rolls back, and an epoch event for an invalidation', async () => {
    events.length = 0;
    const transact = commitTransaction(store, collections, (event) => events.push(event));
    await expect(
      transact('t1', async (tx, gathered) => {
        const record = {
          entityType: 'task',
          entityId: 'rolled-back',
          version: 1,
          operation: 'CREATE' as const,
          payload: { a: 1 },
          checksum: null,
          createdBy: 'u',
          updatedBy: 'u',
          deviceId: null,
          mutationId: null,
          updatedAt: new Date().toISOString(),
          deletedAt: null,
          committedAt: new Date().toISOString(),
        };
        gathered.appended(record, undefined, await tx.appendHistory(record));
        gathered.epochBumped();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(events).toEqual([]);
    await engine.invalidateCache(actor('boss', {}, 'admin'), {});
    expect(events).toEqual([{ kind: 'epoch', tenant: 't1', seq: 3, epoch: 1 }]);
  });
});

describe('postgresUrlSchema', () => {
  it('takes ?schema= off the URL and keeps the other parameters', () => {
    expect(postgresUrlSchema('postgres://u@h:5432/db?schema=tenant_a&sslmode=disable')).toEqual({
      url: 'postgres://u@h:5432/db?sslmode=disable',
      schema: 'tenant_a',
    });
    expect(postgresUrlSchema('postgres://u@h/db')).toEqual({ url: 'postgres://u@h/db' });
  });
});
