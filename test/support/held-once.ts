// The exactly-once check the SDK's browser tests share: the server holds each write of a device
// once, as one history entry per mutation, and the device's queue shows them all SYNCED.
import type { HistoryEntry } from '@syncline/protocol';
import { expect } from 'vitest';
import { getJson } from './http.js';
import type { ServerProcess } from './server-process.js';

export async function expectHeldOnce(
  server: ServerProcess,
  tenant: string,
  written: { collection: string; ids: readonly string[]; writes: number; deviceId: string },
): Promise<void> {
  const admin = server.token('boss', tenant, 'admin');
  const histories = await Promise.all(
    written.ids.map((id) =>
      getJson<{ history: HistoryEntry[] }>(
        `${server.url}/api/sync/entities/${written.collection}/${id}/history`,
        admin,
      ),
    ),
  );
  const entries = histories.flatMap(({ history }) => history);
  expect(entries).toHaveLength(written.writes);
  expect(new Set(entries.map((entry) => entry.mutationId)).size).toBe(written.writes);
  const stats = await getJson<{ total: number; byStatus: Record<string, number> }>(
    `${server.url}/api/sync/queue/stats?deviceId=${encodeURIComponent(written.deviceId)}`,
    admin,
  );
  expect(stats).toMatchObject({ total: written.writes, byStatus: { SYNCED: written.writes } });
}
