// Upsert at the engine: create or update is decided inside the transaction, a resend under the
// same key is a duplicate, conflicts follow each change's strategy, changes commit in chunks with
// a savepoint each (an unexpected error fails that change only), and one audit row covers a request.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UpsertChange } from '../../packages/server/src/engine/commands/upsert.js';
import { createSqliteSyncStore } from '../../packages/server/src/store/index.js';
import {
  engineFixture,
  faultyCheckerEngine,
  userOf,
  type EngineFixture,
} from './engine-fixture.js';

const facilityRule = {
  collections: {
    attendance: { access: ['owner' as const, { field: 'facilityId', claim: 'facilities' }] },
  },
};
const nurse = userOf('nurse', { facilities: ['f1'] });

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture(facilityRule);
});
afterEach(async () => {
  await f.close();
});

function record(entityId: string, fields: Partial<UpsertChange> = {}): UpsertChange {
  return {
    deviceId: 'dev-1',
    mutationId: `${entityId}-1`,
    entityType: 'attendance',
    entityId,
    payload: { facilityId: 'f1', clockIn: '2024-01-01T08:00:00.000Z' },
    version: 1,
    timestamp: '2024-01-01T08:00:00.000Z',
    ...fields,
  };
}

const history = (entityId: string) => f.store.forTenant('t').listHistory('attendance', entityId);

describe('create or update', () => {
  it('creates a record the server lacks, updates one it has, and a resend writes nothing', async () => {
    const first = await f.engine.upsert(nurse, { changes: [record('a')] });
    expect(first.outcomes[0]).toMatchObject({
      operation: 'CREATE',
      result: { status: 'APPLIED', version: 1 },
    });
    const clockOut = record('a', {
      mutationId: 'a-2',
      payload: {
        facilityId: 'f1',
        clockIn: '2024-01-01T08:00:00.000Z',
        clockOut: '2024-01-01T17:00:00.000Z',
      },
    });
    const second = await f.engine.upsert(nurse, { changes: [clockOut] });
    expect(second.outcomes[0]).toMatchObject({
      operation: 'UPDATE',
      result: { status: 'APPLIED', version: 2 },
    });
    const resend = await f.engine.upsert(nurse, { changes: [record('a'), clockOut] });
    expect(resend.outcomes.map((o) => [o.operation, o.result.status])).toEqual([
      ['CREATE', 'DUPLICATE'],
      ['UPDATE', 'DUPLICATE'],
    ]);
    expect((await history('a')).map((h) => h.version)).toEqual([2, 1]);
  });
});

describe('conflicts, settled per record', () => {
  beforeEach(async () => {
    await f.engine.upsert(nurse, { changes: [record('c')] });
    // Another edit moves the server to version 2.
    await f.engine.upsert(nurse, {
      changes: [
        record('c', {
          mutationId: 'c-2',
          payload: { facilityId: 'f1', clockIn: '2024-01-01T08:00:30.000Z' },
        }),
      ],
    });
  });

  const stale = (strategy: UpsertChange['conflictStrategy']) =>
    record('c', {
      mutationId: `c-stale-${strategy ?? 'default'}`,
      payload: { facilityId: 'f1', clockIn: '2024-01-01T07:00:00.000Z' },
      ...(strategy ? { conflictStrategy: strategy } : {}),
    });

  it('SERVER_WINS (the default) keeps the server copy and records the client copy', async () => {
    const { outcomes } = await f.engine.upsert(nurse, { changes: [stale(undefined)] });
    expect(outcomes[0]).toMatchObject({
      result: { status: 'CONFLICT', version: 2 },
      conflict: { type: 'VERSION_MISMATCH', resolution: 'SERVER_WINS', status: 'RESOLVED' },
    });
    expect(outcomes[0]?.conflict?.clientData).toMatchObject({
      clockIn: '2024-01-01T07:00:00.000Z',
    });
    expect(await history('c')).toHaveLength(2);
  });

  it('CLIENT_WINS stores the client copy as the server version + 1', async () => {
    const { outcomes } = await f.engine.upsert(nurse, { changes: [stale('CLIENT_WINS')] });
    expect(outcomes[0]).toMatchObject({
      result: { status: 'APPLIED', version: 3 },
      conflict: { resolution: 'CLIENT_WINS', serverVersion: 2 },
    });
    expect((await history('c'))[0]?.payload).toMatchObject({ clockIn: '2024-01-01T07:00:00.000Z' });
  });

  it('MANUAL leaves both copies for review', async () => {
    const { outcomes } = await f.engine.upsert(nurse, { changes: [stale('MANUAL')] });
    expect(outcomes[0]).toMatchObject({
      result: { status: 'CONFLICT' },
      conflict: { status: 'PENDING_REVIEW', resolution: null },
    });
  });

  it('same version, clock-in moved by more than a minute: TIME_MISMATCH; within it: applied', async () => {
    const moved = await f.engine.upsert(nurse, {
      changes: [
        record('c', {
          mutationId: 'c-moved',
          version: 2,
          payload: { facilityId: 'f1', clockIn: '2024-01-01T08:02:00.000Z' },
        }),
      ],
    });
    expect(moved.outcomes[0]?.conflict).toMatchObject({ type: 'TIME_MISMATCH' });
    const nudged = await f.engine.upsert(nurse, {
      changes: [
        record('c', {
          mutationId: 'c-nudged',
          version: 2,
          payload: { facilityId: 'f1', clockIn: '2024-01-01T08:01:00.000Z' },
        }),
      ],
    });
    expect(nudged.outcomes[0]).toMatchObject({ result: { status: 'APPLIED', version: 3 } });
  });
});

describe('per-change refusals never fail their chunk', () => {
  it('refuses a facility outside the token, a future time and another user’s device', async () => {
    await f.engine.upsert(userOf('other', { facilities: ['f1'] }), {
      changes: [record('theirs', { deviceId: 'dev-other' })],
    });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const { outcomes } = await f.engine.upsert(nurse, {
      changes: [
        record('ok'),
        record('f2', { payload: { facilityId: 'f2', clockIn: '2024-01-01T08:00:00.000Z' } }),
        record('later', { timestamp: future }),
        record('stolen', { deviceId: 'dev-other' }),
      ],
    });
    expect(outcomes.map((o) => o.result.error?.code ?? o.result.status)).toEqual([
      'APPLIED',
      'ACCESS_DENIED',
      'FUTURE_TIMESTAMP',
      'FORBIDDEN',
    ]);
    expect(await history('f2')).toHaveLength(0);
    expect(await history('stolen')).toHaveLength(0);
  });
});

describe('chunks and audit', () => {
  it('commits 120 changes in chunks of 50 and writes one audit row for the request', async () => {
    const changes = Array.from({ length: 120 }, (_, i) => record(`r${i}`));
    const before = f.transactions();
    const { outcomes } = await f.engine.upsert(nurse, {
      changes,
      chunkSize: 50,
      auditAction: 'attendance.sync',
    });
    expect(outcomes.every((o) => o.result.status === 'APPLIED')).toBe(true);
    // Three chunks, then the audit and sync history.
    expect(f.transactions() - before).toBe(4);
    const audit = await f.store.forTenant('t').listAudit({ action: 'attendance.sync' });
    expect(audit).toHaveLength(1);
    expect(audit[0]?.details).toMatchObject({ records: 120, applied: 120, rejected: 0 });
  });
});

describe('savepoints', () => {
  it('an unexpected error fails that change only; the rest of its chunk commits', async () => {
    const store = await createSqliteSyncStore({ file: ':memory:' });
    try {
      const logged: object[] = [];
      const engine = faultyCheckerEngine(store, logged);
      const thing = (mutationId: string, entityId: string, payload: UpsertChange['payload']) => ({
        deviceId: 'd1',
        mutationId,
        entityType: 'thing',
        entityId,
        payload,
        version: 1,
        timestamp: '2026-01-01T00:00:00.000Z',
      });
      await engine.upsert(nurse, {
        changes: [thing('c1', 'a', { n: 1 }), thing('c2', 'b', { n: 1 })],
      });
      const { outcomes } = await engine.upsert(nurse, {
        changes: [thing('u1', 'a', { boom: true }), thing('u2', 'b', { n: 2 })],
      });
      expect(outcomes.map((o) => [o.operation, o.result.status, o.result.error?.code])).toEqual([
        ['UPDATE', 'REJECTED', 'CHANGE_FAILED'],
        ['UPDATE', 'APPLIED', undefined],
      ]);
      expect(logged).toEqual([expect.objectContaining({ deviceId: 'd1', mutationId: 'u1' })]);
      const reads = store.forTenant('t');
      expect((await reads.listHistory('thing', 'a')).map((h) => h.version)).toEqual([1]);
      expect((await reads.listHistory('thing', 'b')).map((h) => h.version)).toEqual([2, 1]);
      // The failed change left no mutation row: sent again, it is applied afresh.
      expect(await reads.getMutation('d1', 'u1')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
