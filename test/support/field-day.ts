// A field worker's day over a bad link: the SDK (real HTTP transport) pulls the assets it looks
// after, goes offline, records attendance clock-ins (seed 000) and asset edits (seed 002), then
// comes back online through the throttling proxy and pushes it all. Afterwards the server is
// asked, over a direct connection, whether every mutation was applied exactly once: each
// attendance record at version 1 with its payload, each asset at 1 + its edits with the last
// edit's fields. Shared by the throttled-network test and `npm run bench`.
import { performance } from 'node:perf_hooks';
import type { Change, ServerChange } from '@syncline/protocol';
import { createSyncClient, memoryStorage } from '../../packages/client/src/index.js';
import type { NetworkEvent, NetworkSignal } from '../../packages/client/src/index.js';
import { pullAll, postJson } from './http.js';
import { startThrottlingProxy, type ThrottlingProxyOptions } from './throttling-proxy.js';

export interface FieldDayOptions {
  /** The server, reached directly for the set-up and the audit. */
  serverUrl: string;
  /** A field worker's token (its `facilities` claim lists FIELD_DAY_FACILITIES). */
  token: string;
  attendance: number;
  assetEdits: number;
  /** Assets the worker looks after (the edits go round them). */
  assets: number;
  /** gzip request bodies and accept compressed answers (default true). */
  gzip?: boolean;
  proxy?: ThrottlingProxyOptions;
  /** Changes per push (default the SDK's 100). */
  batchSize?: number;
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  /** A name that keeps the run's entity ids apart from other runs on the same server. */
  runId: string;
}

export interface FieldDayResult {
  changes: number;
  /** JSON bytes of what the app wrote: the created records and the edits' patches. */
  payloadBytes: number;
  /** Bytes through the proxy both ways, from going online until the outbox was empty. */
  wireBytes: { up: number; down: number };
  /** Bytes through the proxy while offline (must be 0: nothing is sent). */
  offlineBytes: number;
  durationMs: number;
  drops: number;
  seed: number;
  /** What the audit found wrong; empty when every mutation was applied exactly once. */
  problems: string[];
}

export const FIELD_DAY_FACILITIES = ['facility-north', 'facility-south', 'facility-depot'];

function controllableNetwork() {
  const listeners = new Set<(event: NetworkEvent) => void>();
  let online = true;
  const signal: NetworkSignal = {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    signal,
    set(value: boolean) {
      online = value;
      for (const listener of listeners) listener(value ? 'online' : 'offline');
    },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

export async function runFieldDay(options: FieldDayOptions): Promise<FieldDayResult> {
  const gzip = options.gzip ?? true;
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const { runId } = options;
  const workerDevice = `field-${runId}`;

  // The assets exist before the day (made at the office), each at version 1.
  const assetIds = Array.from({ length: options.assets }, (_, i) => `asset-${runId}-${i}`);
  const now = new Date().toISOString();
  const setup: Change[] = assetIds.map((id, i) => ({
    mutationId: `setup-${id}`,
    entityType: 'asset',
    entityId: id,
    operation: 'CREATE',
    clientVersion: 1,
    timestamp: now,
    payload: {
      name: `Water pump ${i}`,
      serialNumber: `WP-${1000 + i}`,
      location: 'Depot north',
      status: 'in_service',
      condition: 'good',
      notes: '',
    },
  }));
  await postJson(`${options.serverUrl}/api/sync`, options.token, {
    deviceId: `office-${runId}`,
    changes: setup,
  });

  const proxy = await startThrottlingProxy(options.serverUrl, options.proxy);
  const network = controllableNetwork();
  // Without gzip: identity answers too, for the comparison.
  const plainFetch = (input: string, init?: RequestInit) =>
    fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), 'accept-encoding': 'identity' },
    });
  const client = createSyncClient({
    url: proxy.url,
    getToken: () => options.token,
    deviceId: workerDevice,
    storage: memoryStorage(),
    network: network.signal,
    realtime: false,
    retry: { initialDelayMs: 250, maxDelayMs: 2_000 },
    timeouts: { connectMs: 2_000, readMs: 10_000 },
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(gzip ? {} : { compress: null, fetch: plainFetch }),
  });
  const problems: string[] = [];
  try {
    const assets = client.collection<Record<string, unknown>>('asset');
    client.start();
    await until(
      'the assets to arrive',
      async () => (await Promise.all(assetIds.map((id) => assets.get(id)))).every(Boolean),
      timeoutMs,
    );

    // Offline: the day's work.
    network.set(false);
    proxy.setOnline(false);
    const offlineStart = proxy.bytes();
    const attendance = client.collection<Record<string, unknown>>('attendance');
    const expectedAttendance = new Map<string, Record<string, unknown>>();
    const lastEdit = new Map<string, Record<string, unknown>>();
    const editsPer = new Map<string, number>();
    let payloadBytes = 0;
    // Clock-outs too must lie in the past (the attendance preset refuses future times).
    const dayStart = Date.now() - 16 * 3_600_000;
    for (let i = 0; i < Math.max(options.attendance, options.assetEdits); i++) {
      if (i < options.attendance) {
        const clockIn = new Date(dayStart + i * 30_000);
        const record = {
          facilityId: FIELD_DAY_FACILITIES[i % FIELD_DAY_FACILITIES.length] as string,
          clockIn: clockIn.toISOString(),
          clockOut: new Date(clockIn.getTime() + 8 * 3_600_000).toISOString(),
          clockInLatitude: -1.9536 + (i % 50) / 10_000,
          clockInLongitude: 30.0606 + (i % 50) / 10_000,
          deviceId: workerDevice,
          clientTimestamp: clockIn.toISOString(),
        };
        const id = `att-${runId}-${i}`;
        await attendance.create(record, { id });
        expectedAttendance.set(id, record);
        payloadBytes += bytesOf(record);
      }
      if (i < options.assetEdits) {
        const id = assetIds[i % assetIds.length] as string;
        const n = (editsPer.get(id) ?? 0) + 1;
        const patch = {
          status: n % 3 === 0 ? 'needs_repair' : 'in_service',
          condition: ['good', 'fair', 'worn'][n % 3] as string,
          notes: `Inspection ${n}: seals checked, output ${40 + (i % 20)} l/min`,
          lastInspectedAt: new Date(dayStart + i * 60_000).toISOString(),
        };
        await assets.update(id, patch);
        editsPer.set(id, n);
        lastEdit.set(id, { ...lastEdit.get(id), ...patch });
        payloadBytes += bytesOf(patch);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const offlineEnd = proxy.bytes();
    const offlineBytes = offlineEnd.up + offlineEnd.down - offlineStart.up - offlineStart.down;
    const changes = options.attendance + options.assetEdits;
    if (client.status.pending !== changes)
      problems.push(`${client.status.pending} pending offline, not ${changes}`);

    // Back online: everything goes out through the bad link.
    const started = performance.now();
    proxy.setOnline(true);
    network.set(true);
    await until(
      'the outbox to drain',
      () =>
        client.status.pending === 0 &&
        client.status.state === 'idle' &&
        client.status.lastSyncAt !== null,
      timeoutMs,
    );
    const durationMs = performance.now() - started;
    const after = proxy.bytes();
    const wireBytes = { up: after.up - offlineEnd.up, down: after.down - offlineEnd.down };
    if (client.status.failed > 0) {
      const first = (await client.failed())[0];
      problems.push(`${client.status.failed} changes failed, e.g. ${JSON.stringify(first?.error)}`);
    }
    client.stop();

    // The audit, over a direct connection.
    const { changes: feed } = await pullAll(options.serverUrl, options.token, `audit-${runId}`);
    const versions = new Map<string, ServerChange[]>();
    for (const change of feed) {
      const key = `${change.entityType}/${change.entityId}`;
      versions.set(key, [...(versions.get(key) ?? []), change]);
    }
    const latest = (key: string) => versions.get(key)?.at(-1);
    for (const [id, record] of expectedAttendance) {
      const got = latest(`attendance/${id}`);
      if (!got) problems.push(`attendance ${id} missing`);
      else if (got.version !== 1) problems.push(`attendance ${id} at version ${got.version}`);
      else if (JSON.stringify(got.payload) !== JSON.stringify({ ...got.payload, ...record }))
        problems.push(`attendance ${id} payload differs`);
    }
    const stray = [...versions.keys()].filter(
      (key) => key.startsWith('attendance/') && !expectedAttendance.has(key.slice(11)),
    );
    if (stray.length > 0) problems.push(`${stray.length} attendance records nobody made`);
    for (const id of assetIds) {
      const got = latest(`asset/${id}`);
      const expected = 1 + (editsPer.get(id) ?? 0);
      if (!got) problems.push(`asset ${id} missing`);
      else if (got.version !== expected)
        problems.push(`asset ${id} at version ${got.version}, not ${expected}`);
      else if (
        JSON.stringify(got.payload) !== JSON.stringify({ ...got.payload, ...lastEdit.get(id) })
      )
        problems.push(`asset ${id} does not carry its last edit`);
    }
    return {
      changes,
      payloadBytes,
      wireBytes,
      offlineBytes,
      durationMs,
      drops: proxy.drops(),
      seed: proxy.seed,
      problems,
    };
  } finally {
    client.stop();
    await client.close();
    await proxy.close();
  }
}
