// The benchmarks' workload: attendance clock-ins as seed 000's app records them (~220 bytes of
// payload each), at 25 facilities that the clerk's token lists (the attendance preset checks the
// `facilities` claim), all in the past.
import type { Change } from '@syncline/protocol';

export const FACILITIES = Array.from({ length: 25 }, (_, i) => `facility-${i}`);

/** The i-th clock-in of `deviceId`; `prefix` keeps entity ids apart between runs and tenants. */
export function attendance(i: number, deviceId: string, prefix: string): Change {
  const clockIn = new Date(Date.now() - 24 * 3_600_000 - i * 1000);
  const clockOut = new Date(clockIn.getTime() + 8 * 3_600_000 - 60_000);
  const clientTimestamp = new Date(Date.now() - 1000).toISOString();
  return {
    mutationId: `${deviceId}-${i}`,
    entityType: 'attendance',
    entityId: `att-${prefix}-${i}`,
    operation: 'CREATE',
    clientVersion: 1,
    timestamp: clientTimestamp,
    payload: {
      facilityId: FACILITIES[i % FACILITIES.length] as string,
      clockIn: clockIn.toISOString(),
      clockOut: clockOut.toISOString(),
      clockInLatitude: -1.2921 + (i % 100) / 10_000,
      clockInLongitude: 36.8219 + (i % 100) / 10_000,
      deviceId,
      clientTimestamp,
    },
  };
}

/** `count` clock-ins of one device. */
export const attendanceBatch = (count: number, deviceId: string, prefix: string, from = 0) =>
  Array.from({ length: count }, (_, i) => attendance(from + i, deviceId, prefix));

export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
