import type { ConflictView } from '@syncline/client';
import { describe, expect, it } from 'vitest';
import { conflictDifferences, explainConflict, explainFailure } from './problems.js';

const conflict = (overrides: Partial<ConflictView>): ConflictView => ({
  id: 'c1',
  type: 'VERSION_MISMATCH',
  entityType: 'asset',
  entityId: 'pump-7',
  mutationId: 'm1',
  deviceId: 'd1',
  clientVersion: 1,
  serverVersion: 2,
  clientData: { name: 'Pump', status: 'repair', notes: 'leak' },
  serverData: { name: 'Pump', status: 'ok', notes: 'leak' },
  baseData: null,
  suggestedResolution: 'SERVER_WINS',
  resolution: 'SERVER_WINS',
  status: 'RESOLVED',
  resolvedBy: null,
  resolvedAt: null,
  createdAt: '2026-03-01T08:00:00.000Z',
  waitingForReview: false,
  ...overrides,
});

describe('explaining what the server said', () => {
  it('names a lost conflict, one waiting for review, and a time mismatch', () => {
    expect(explainConflict(conflict({})).title).toBe('Your change to this asset lost a conflict');
    expect(
      explainConflict(
        conflict({ status: 'PENDING_REVIEW', waitingForReview: true, resolution: null }),
      ).title,
    ).toBe('Your change to this asset waits for review');
    const mismatch = explainConflict(
      conflict({ type: 'TIME_MISMATCH', entityType: 'attendance', waitingForReview: true }),
    );
    expect(mismatch.title).toBe('Clock time moved by more than a minute');
    expect(mismatch.detail).toMatch(/admin’s review/);
  });

  it('lists only the fields that differ, status first, with their labels', () => {
    const differences = conflictDifferences(
      conflict({
        clientData: { status: 'repair', inspectedBy: 'a', notes: 'x' },
        serverData: { status: 'ok', inspectedBy: 'b', notes: 'x' },
      }),
    );
    expect(differences).toEqual([
      { field: 'status', label: 'Status', yours: 'repair', kept: 'ok' },
      { field: 'inspectedBy', label: 'Inspected by', yours: 'a', kept: 'b' },
    ]);
    expect(conflictDifferences(conflict({ clientData: null, serverData: null }))).toEqual([]);
  });

  it('explains a future clock time, and falls back to the server’s own message', () => {
    const failed = (code: string | null) => ({
      mutationId: 'm1',
      type: 'attendance',
      id: 'a1',
      operation: 'CREATE' as const,
      attempts: 1,
      error: code ? { code, message: `server says ${code}` } : null,
    });
    expect(explainFailure(failed('FUTURE_TIMESTAMP')).title).toBe(
      'The server refused a clock time in the future',
    );
    expect(explainFailure(failed('ACCESS_DENIED')).detail).toBe('server says ACCESS_DENIED');
    expect(explainFailure(failed('SOMETHING_ELSE')).detail).toBe(
      'server says SOMETHING_ELSE (SOMETHING_ELSE)',
    );
    expect(explainFailure(failed(null)).detail).toMatch(/failed 1 times/);
  });
});
