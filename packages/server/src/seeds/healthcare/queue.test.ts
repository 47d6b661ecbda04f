import { describe, expect, it } from 'vitest';
import { deferredPushOf, queueId, type QueuedOperation } from './queue.js';

const create: QueuedOperation = {
  deviceId: 'dev-1',
  entityType: 'encounter',
  operation: 'CREATE',
  payload: { diagnosis: 'Common cold' },
  clientVersion: 1,
  timestamp: '2025-11-30T10:00:00.000Z',
  conflictStrategy: 'MANUAL',
};

describe('a queued operation as a deferred push', () => {
  it('is keyed by 24 hex digits of what identifies it; another payload is another item', () => {
    expect(queueId(create)).toMatch(/^[0-9a-f]{24}$/);
    expect(queueId({ ...create })).toBe(queueId(create));
    expect(queueId({ ...create, payload: { diagnosis: 'Flu' } })).not.toBe(queueId(create));
  });

  it('gives a CREATE without a resource id one derived from its queue id, on that device', () => {
    const { deviceId, change } = deferredPushOf(create);
    expect(deviceId).toBe('dev-1');
    expect(change).toMatchObject({ mutationId: queueId(create), conflictStrategy: 'MANUAL' });
    expect(change.entityId).toMatch(/^[0-9a-f]{24}$/);
    expect(change.entityId).not.toBe(change.mutationId);
    expect(deferredPushOf({ ...create, deviceId: 'dev-2' }).change.entityId).not.toBe(
      change.entityId,
    );
    expect(deferredPushOf({ ...create, entityId: 'enc-1' }).change.entityId).toBe('enc-1');
  });

  it('refuses an UPDATE or DELETE that names no resource', () => {
    for (const operation of ['UPDATE', 'DELETE'] as const) {
      expect(() => deferredPushOf({ ...create, operation })).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
  });
});
