import { describe, expect, it } from 'vitest';
import {
  checkCorrection,
  clockInRecord,
  clockOutPatch,
  isMismatch,
  openShift,
  timeOnDay,
  todaysRecords,
} from './attendance.js';

const at = (hhmm: string, day = '2026-03-01') => new Date(`${day}T${hhmm}:00`).toISOString();
const now = new Date(at('12:00'));

describe('clocking in and out', () => {
  it('records the facility, the time and the position in seed 000’s fields', () => {
    const record = clockInRecord({
      facilityId: 'f1',
      position: { latitude: -1.9536, longitude: 30.0606 },
      deviceId: 'd1',
      now,
    });
    expect(record).toMatchObject({
      facilityId: 'f1',
      clockIn: now.toISOString(),
      clockOut: null,
      clockInLatitude: -1.9536,
      clockInLongitude: 30.0606,
      deviceId: 'd1',
      clientTimestamp: now.toISOString(),
    });
    expect(clockOutPatch({ latitude: 1, longitude: 2 }, now)).toEqual({
      clockOut: now.toISOString(),
      clockOutLatitude: 1,
      clockOutLongitude: 2,
    });
  });

  it('finds today’s records newest first and the open shift', () => {
    const records = [
      { id: 'a', clockIn: at('08:00'), clockOut: at('09:00') },
      { id: 'b', clockIn: at('10:00'), clockOut: null },
      { id: 'c', clockIn: at('10:00', '2026-02-28'), clockOut: null },
      { id: 'd', clockIn: null, clockOut: null },
    ];
    expect(todaysRecords(records, now).map((r) => r.id)).toEqual(['b', 'a']);
    expect(openShift(records)?.id).toBe('b');
    expect(openShift(records.slice(0, 1))).toBeUndefined();
  });
});

describe('corrections under seed 000’s rules', () => {
  const record = { clockIn: at('08:00'), clockOut: at('11:00') };

  it('refuses a time in the future and times out of order', () => {
    expect(checkCorrection(record, 'clockIn', at('12:30'), now)).toBe('FUTURE');
    expect(checkCorrection(record, 'clockOut', at('07:00'), now)).toBe('BEFORE_CLOCK_IN');
    expect(checkCorrection(record, 'clockIn', at('11:30'), now)).toBe('AFTER_CLOCK_OUT');
    expect(checkCorrection(record, 'clockIn', undefined, now)).toBe('INVALID_TIME');
    expect(checkCorrection(record, 'clockIn', at('07:55'), now)).toBeNull();
  });

  it('sets a typed time on the record’s day, and tells a move of over a minute', () => {
    expect(timeOnDay(at('08:00'), '07:45')).toBe(at('07:45'));
    expect(timeOnDay(at('08:00'), '7:45')).toBeUndefined();
    expect(timeOnDay(at('08:00'), '24:00')).toBeUndefined();
    expect(timeOnDay('not a date', '07:45')).toBeUndefined();
    expect(isMismatch(at('08:00'), at('08:01'))).toBe(false);
    expect(isMismatch(at('08:00'), at('08:02'))).toBe(true);
    expect(isMismatch(null, at('08:02'))).toBe(false);
  });
});
