// Attendance records as seed 000 shapes them, and its rules as the device can check them before
// the server does: no clock time in the future, a clock-out after its clock-in. Times are ISO
// strings in UTC; "today" is the device's local day.

export interface AttendanceRecord {
  facilityId: string;
  clockIn: string | null;
  clockOut: string | null;
  clockInLatitude: number | null;
  clockInLongitude: number | null;
  clockOutLatitude: number | null;
  clockOutLongitude: number | null;
  deviceId: string;
  clientTimestamp: string;
}

export interface Position {
  latitude: number;
  longitude: number;
}

/** The server refuses clock times further ahead of its clock than this (seed 000). */
export const futureSkewMs = 5 * 60_000;
/** A clock time moved further than this on the server is a TIME_MISMATCH (seed 000). */
export const timeToleranceMs = 60_000;

export const attendanceRules = {
  future:
    'Clock times in the future are refused: the server turns away any time more than 5 minutes ahead of its clock.',
  mismatch:
    'A synced clock time corrected by more than a minute is a time mismatch: it waits for an admin’s review.',
} as const;

export function clockInRecord(input: {
  facilityId: string;
  position: Position;
  deviceId: string;
  now: Date;
}): AttendanceRecord {
  const at = input.now.toISOString();
  return {
    facilityId: input.facilityId,
    clockIn: at,
    clockOut: null,
    clockInLatitude: input.position.latitude,
    clockInLongitude: input.position.longitude,
    clockOutLatitude: null,
    clockOutLongitude: null,
    deviceId: input.deviceId,
    clientTimestamp: at,
  };
}

export function clockOutPatch(position: Position, now: Date): Partial<AttendanceRecord> {
  return {
    clockOut: now.toISOString(),
    clockOutLatitude: position.latitude,
    clockOutLongitude: position.longitude,
  };
}

const sameLocalDay = (a: Date, b: Date) =>
  a.getFullYear() === b.getFullYear() &&
  a.getMonth() === b.getMonth() &&
  a.getDate() === b.getDate();

/** Records clocked in on the device's current day, newest first. */
export function todaysRecords<T extends Pick<AttendanceRecord, 'clockIn'>>(
  records: readonly T[],
  now: Date,
): T[] {
  return records
    .filter((r) => r.clockIn !== null && sameLocalDay(new Date(r.clockIn), now))
    .sort((a, b) => Date.parse(b.clockIn ?? '') - Date.parse(a.clockIn ?? ''));
}

/** The shift still open (clocked in, not out), the latest if several. */
export function openShift<T extends Pick<AttendanceRecord, 'clockIn' | 'clockOut'>>(
  records: readonly T[],
): T | undefined {
  return records
    .filter((r) => r.clockIn !== null && r.clockOut === null)
    .sort((a, b) => Date.parse(b.clockIn ?? '') - Date.parse(a.clockIn ?? ''))[0];
}

/** `HH:MM` on the local day of `dayOf`, as an ISO time; undefined for anything else. */
export function timeOnDay(dayOf: string, hhmm: string): string | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!match) return undefined;
  const day = new Date(dayOf);
  if (Number.isNaN(day.getTime())) return undefined;
  day.setHours(Number(match[1]), Number(match[2]), 0, 0);
  return day.toISOString();
}

export type CorrectionProblem = 'INVALID_TIME' | 'FUTURE' | 'BEFORE_CLOCK_IN' | 'AFTER_CLOCK_OUT';

export const correctionMessages: Record<CorrectionProblem, string> = {
  INVALID_TIME: 'Enter a time as hours and minutes.',
  FUTURE: 'That time is in the future. Clock times in the future are refused.',
  BEFORE_CLOCK_IN: 'Clock-out must come after clock-in.',
  AFTER_CLOCK_OUT: 'Clock-in must come before clock-out.',
};

/** What is wrong with setting `field` of `record` to `value`, or null when the server may take it. */
export function checkCorrection(
  record: Pick<AttendanceRecord, 'clockIn' | 'clockOut'>,
  field: 'clockIn' | 'clockOut',
  value: string | undefined,
  now: Date,
): CorrectionProblem | null {
  if (value === undefined || Number.isNaN(Date.parse(value))) return 'INVALID_TIME';
  const at = Date.parse(value);
  if (at > now.getTime()) return 'FUTURE';
  if (field === 'clockOut' && record.clockIn !== null && at <= Date.parse(record.clockIn)) {
    return 'BEFORE_CLOCK_IN';
  }
  if (field === 'clockIn' && record.clockOut !== null && at >= Date.parse(record.clockOut)) {
    return 'AFTER_CLOCK_OUT';
  }
  return null;
}

/** Whether the server will see the correction as a time mismatch (moved by over a minute). */
export const isMismatch = (before: string | null, after: string) =>
  before !== null && Math.abs(Date.parse(after) - Date.parse(before)) > timeToleranceMs;
