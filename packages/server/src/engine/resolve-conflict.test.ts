import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConflict, suggestResolution, type ConflictInput } from './resolve-conflict.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647);
console.log(`resolve-conflict properties: fast-check seed ${seed}`);

const base: ConflictInput = {
  type: 'VERSION_MISMATCH',
  strategy: 'SERVER_WINS',
  operation: 'UPDATE',
  base: { name: 'pump', status: 'ok' },
  server: { name: 'pump', status: 'broken' },
  client: { name: 'Pump 2', status: 'ok' },
  clientTime: '2026-01-01T10:00:00.000Z',
  serverTime: '2026-01-01T09:00:00.000Z',
  policies: {},
  clientMayWin: true,
};

describe('resolveConflict', () => {
  it('SERVER_WINS keeps the server copy and settles the conflict', () => {
    expect(resolveConflict(base)).toEqual({
      action: 'keep',
      data: null,
      status: 'RESOLVED',
      resolution: 'SERVER_WINS',
    });
  });

  it('CLIENT_WINS writes the client copy, or waits for review when only admins may win', () => {
    expect(resolveConflict({ ...base, strategy: 'CLIENT_WINS' })).toMatchObject({
      action: 'write',
      data: base.client,
    });
    expect(
      resolveConflict({ ...base, strategy: 'CLIENT_WINS', clientMayWin: false }),
    ).toMatchObject({
      action: 'keep',
      status: 'PENDING_REVIEW',
    });
  });

  it('LAST_WRITE_WINS follows the later edit and keeps the server copy on a tie', () => {
    const lww = { ...base, strategy: 'LAST_WRITE_WINS' as const };
    expect(resolveConflict(lww).action).toBe('write');
    expect(resolveConflict({ ...lww, clientTime: '2026-01-01T08:00:00.000Z' }).action).toBe('keep');
    expect(resolveConflict({ ...lww, clientTime: lww.serverTime }).action).toBe('keep');
  });

  it('MERGE combines disjoint edits and sends overlapping ones to review', () => {
    expect(resolveConflict({ ...base, strategy: 'MERGE' })).toEqual({
      action: 'write',
      data: { name: 'Pump 2', status: 'broken' },
      status: 'RESOLVED',
      resolution: 'MERGE',
    });
    const overlap = resolveConflict({
      ...base,
      strategy: 'MERGE',
      client: { name: 'pump', status: 'retired' },
    });
    expect(overlap).toMatchObject({
      action: 'keep',
      status: 'PENDING_REVIEW',
      overlapping: ['status'],
    });
  });

  it('MERGE of a delete or of a moved clock time waits for a person', () => {
    expect(
      resolveConflict({ ...base, strategy: 'MERGE', operation: 'DELETE', client: null }).status,
    ).toBe('PENDING_REVIEW');
    expect(resolveConflict({ ...base, strategy: 'MERGE', type: 'TIME_MISMATCH' }).status).toBe(
      'PENDING_REVIEW',
    );
  });

  it('MANUAL never changes the server copy', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('VERSION_MISMATCH', 'DELETED', 'DUPLICATE_CREATE', 'TIME_MISMATCH'),
        (type) => {
          const out = resolveConflict({
            ...base,
            type: type as ConflictInput['type'],
            strategy: 'MANUAL',
          });
          expect(out).toEqual({
            action: 'keep',
            data: null,
            status: 'PENDING_REVIEW',
            resolution: null,
          });
        },
      ),
      { seed },
    );
  });
});

describe('suggestResolution', () => {
  it('suggests MERGE for disjoint edits, SERVER_WINS when the server is newer, else CLIENT_WINS', () => {
    expect(suggestResolution(base)).toBe('MERGE');
    const overlapping = { ...base, client: { name: 'pump', status: 'retired' } };
    expect(suggestResolution(overlapping)).toBe('CLIENT_WINS');
    expect(suggestResolution({ ...overlapping, serverTime: '2026-01-01T11:00:00.000Z' })).toBe(
      'SERVER_WINS',
    );
  });
});
