// What a pull leaves behind (the device's last sync time and sync token, one sync-history row),
// kept in a small per-process buffer and written later, one transaction per tenant, instead of a
// write transaction (and its fsync) on every page a device reads. The revoke check stays a read
// at request time; a note never changes whether a device is active or whose it is.
import type { SyncHistoryRecord, SyncStore, TenantTx } from './ports.js';

export interface SyncNote {
  userId: string;
  deviceId: string;
  lastSyncAt: string;
  /** The token the pull answered; absent when the device's token stays (a snapshot mid-way). */
  syncToken?: string;
  history: SyncHistoryRecord;
}

export interface SyncNotes {
  note(tenant: string, note: SyncNote): void;
  /** Writes every buffered note of the tenant (of all tenants without one) and resolves after. */
  flush(tenant?: string): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
}

export const syncNotesDefaults = { flushMs: 1000 } as const;

export function createSyncNotes(
  store: SyncStore,
  options: { flushMs?: number; onError?: (error: unknown) => void } = {},
): SyncNotes {
  const flushMs = options.flushMs ?? syncNotesDefaults.flushMs;
  const pending = new Map<string, SyncNote[]>();
  /** Flushes in flight per tenant, so that a flush waits for notes already taken by another. */
  const writing = new Map<string, Promise<void>>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flushTenant = async (tenant: string): Promise<void> => {
    await writing.get(tenant);
    const notes = pending.get(tenant);
    if (!notes) return;
    pending.delete(tenant);
    const write = store
      .forTenant(tenant)
      .transact((tx) => writeNotes(tx, notes))
      .finally(() => writing.delete(tenant));
    writing.set(tenant, write);
    await write;
  };

  const flush = async (tenant?: string): Promise<void> => {
    const tenants = tenant === undefined ? [...pending.keys(), ...writing.keys()] : [tenant];
    const outcomes = await Promise.allSettled([...new Set(tenants)].map(flushTenant));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  };

  return {
    note(tenant, note) {
      const notes = pending.get(tenant);
      if (notes) notes.push(note);
      else pending.set(tenant, [note]);
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        flush().catch((error: unknown) => options.onError?.(error));
      }, flushMs);
      // Node's timers keep the process alive; a buffer of notes must not.
      (timer as { unref?: () => void }).unref?.();
    },
    flush,
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await flush();
    },
  };
}

/**
 * One device row update per device and every history row. The device is read again here: a note
 * moves its sync time and token forward only (a push's own transaction may have noted a later
 * sync meanwhile), and leaves a device that was revoked or handed to another user as it is now.
 */
async function writeNotes(tx: TenantTx, notes: readonly SyncNote[]): Promise<void> {
  const latest = new Map<string, { userId: string; lastSyncAt: string; syncToken?: string }>();
  for (const note of notes) {
    const seen = latest.get(note.deviceId);
    const syncToken = note.syncToken ?? seen?.syncToken;
    latest.set(note.deviceId, {
      userId: note.userId,
      lastSyncAt: note.lastSyncAt,
      ...(syncToken !== undefined ? { syncToken } : {}),
    });
  }
  for (const [deviceId, note] of latest) {
    const device = await tx.getDevice(deviceId);
    if (!device || device.userId !== note.userId || !device.isActive) continue;
    if (device.lastSyncAt !== null && device.lastSyncAt > note.lastSyncAt) continue;
    const syncToken = note.syncToken ?? device.syncToken;
    if (note.lastSyncAt === device.lastSyncAt && syncToken === device.syncToken) continue;
    await tx.upsertDevice({ ...device, lastSyncAt: note.lastSyncAt, syncToken });
  }
  for (const note of notes) await tx.insertSyncHistory(note.history);
}
