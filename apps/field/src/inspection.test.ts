import { describe, expect, it } from 'vitest';
import { inspectionPatch } from './inspection.js';

const now = new Date('2026-03-01T08:00:00Z');

describe('inspectionPatch', () => {
  it('writes status, trimmed notes, the reading as a number, when and by whom', () => {
    expect(
      inspectionPatch({ status: 'repair', notes: ' leak ', reading: '4,2' }, 'amina', now),
    ).toEqual({
      patch: {
        status: 'repair',
        notes: 'leak',
        reading: 4.2,
        inspectedAt: now.toISOString(),
        inspectedBy: 'amina',
      },
    });
    expect(inspectionPatch({ status: 'ok', notes: '', reading: ' ' }, 'a', now)).toMatchObject({
      patch: { reading: null },
    });
  });

  it('refuses no status, a reading that is not a number and overlong notes', () => {
    expect(inspectionPatch({ status: '', notes: '', reading: '' }, 'a', now)).toEqual({
      problem: 'NO_STATUS',
    });
    expect(inspectionPatch({ status: 'ok', notes: '', reading: '12 bar' }, 'a', now)).toEqual({
      problem: 'BAD_READING',
    });
    expect(
      inspectionPatch({ status: 'ok', notes: 'x'.repeat(2001), reading: '' }, 'a', now),
    ).toEqual({ problem: 'NOTES_TOO_LONG' });
  });
});
