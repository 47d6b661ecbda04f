// Devices: listing, registering (an admin may hand a device on), claiming and unregistering; and
// the check every sync makes of the device it comes from (touchDevice).
import type { Device, RegisterDeviceRequest } from '@syncline/protocol';
import type { Actor } from '../actor.js';
import {
  anotherUsersDevice,
  assertDeviceUsable,
  isAdmin,
  ownScope,
  ownsOrAdmin,
} from '../authorize.js';
import type { CommitEvents } from '../commit-events.js';
import type { EngineContext } from '../context.js';
import { SyncError } from '../errors.js';
import type { DeviceRecord, TenantTx } from '../ports.js';
import { toWireDevice } from '../wire.js';

export async function listDevices(engine: EngineContext, actor: Actor): Promise<Device[]> {
  await engine.syncNotes.flush(actor.tenant);
  const devices = await engine.store.forTenant(actor.tenant).listDevices(ownScope(actor));
  return devices.map(toWireDevice);
}

export async function registerDevice(
  engine: EngineContext,
  actor: Actor,
  request: RegisterDeviceRequest,
): Promise<Device> {
  const now = engine.clock.now().toISOString();
  const owner = request.userId ?? actor.userId;
  if (!ownsOrAdmin(actor, owner)) {
    throw new SyncError('ADMIN_REQUIRED', 'Only admins may register a device to another user');
  }
  await engine.syncNotes.flush(actor.tenant);
  return engine.transact(actor.tenant, async (tx, events) => {
    const existing = await tx.getDevice(request.deviceId);
    if (existing && existing.userId !== owner) {
      // Revoked or not, a device stays with its user: only an admin hands it on.
      if (!isAdmin(actor)) throw anotherUsersDevice(request.deviceId);
      return reassignDevice(tx, events, actor, existing, owner, request, now);
    }
    const device: DeviceRecord = {
      deviceId: request.deviceId,
      userId: owner,
      deviceName: request.deviceName ?? existing?.deviceName ?? null,
      platform: request.platform ?? existing?.platform ?? null,
      appVersion: request.appVersion ?? existing?.appVersion ?? null,
      schemaVersions: existing?.schemaVersions ?? null,
      lastSyncAt: existing?.lastSyncAt ?? null,
      syncToken: existing?.syncToken ?? null,
      isActive: true,
      createdAt: existing?.createdAt ?? now,
    };
    await tx.upsertDevice(device);
    if (existing && !existing.isActive) {
      await tx.insertAudit({
        actor: actor.userId,
        action: 'device.register',
        target: request.deviceId,
        details: null,
        createdAt: now,
      });
    }
    return toWireDevice(device);
  });
}

export async function claimDevice(
  engine: EngineContext,
  actor: Actor,
  deviceId: string,
): Promise<void> {
  await engine.store.forTenant(actor.tenant).transact(async (tx) => {
    await touchDevice(tx, actor, deviceId, engine.clock.now().toISOString());
  });
}

export async function unregisterDevice(
  engine: EngineContext,
  actor: Actor,
  deviceId: string,
): Promise<void> {
  const now = engine.clock.now().toISOString();
  await engine.syncNotes.flush(actor.tenant);
  await engine.transact(actor.tenant, async (tx, events) => {
    const device = await tx.getDevice(deviceId);
    if (!device || !ownsOrAdmin(actor, device.userId)) {
      throw new SyncError('NOT_FOUND', `Device ${deviceId} not found`);
    }
    await tx.upsertDevice({ ...device, isActive: false });
    events.deviceRevoked(deviceId);
    await tx.insertAudit({
      actor: actor.userId,
      action: 'device.revoke',
      target: deviceId,
      details: null,
      createdAt: now,
    });
  });
}

/**
 * Refuses another user's device (whether active or revoked: a device id belongs to the user who
 * first synced with it until an admin reassigns it; nothing about it is told) and a revoked one;
 * registers an unknown one to the caller; notes the sync time.
 */
export async function touchDevice(
  tx: TenantTx,
  actor: Actor,
  deviceId: string,
  now: string,
  deviceName?: string,
  schemaVersions?: string | null,
): Promise<void> {
  const device = await usableDevice(tx, actor, deviceId);
  await tx.upsertDevice(touchedDevice(actor, deviceId, device, now, deviceName, schemaVersions));
}

/** The device's row, once touchDevice's checks pass (undefined: not registered yet). */
export async function usableDevice(
  tx: TenantTx,
  actor: Actor,
  deviceId: string,
): Promise<DeviceRecord | undefined> {
  const device = await tx.getDevice(deviceId);
  assertDeviceUsable(actor, deviceId, device);
  return device;
}

/** The row touchDevice writes: the caller's device, synced `now`. */
export function touchedDevice(
  actor: Actor,
  deviceId: string,
  device: DeviceRecord | undefined,
  now: string,
  deviceName?: string,
  schemaVersions?: string | null,
): DeviceRecord {
  return {
    deviceId,
    userId: actor.userId,
    deviceName: deviceName ?? device?.deviceName ?? null,
    platform: device?.platform ?? null,
    appVersion: device?.appVersion ?? null,
    // A request that does not say keeps what the device said before.
    schemaVersions: schemaVersions ?? device?.schemaVersions ?? null,
    lastSyncAt: now,
    syncToken: device?.syncToken ?? null,
    isActive: true,
    createdAt: device?.createdAt ?? now,
  };
}
/**
 * An admin hands a device on: its old owner's registration ends (their streams on it close), and
 * the new owner starts afresh: no name, sync token or sync time is inherited.
 */
async function reassignDevice(
  tx: TenantTx,
  events: CommitEvents,
  admin: Actor,
  existing: DeviceRecord,
  owner: string,
  request: RegisterDeviceRequest,
  now: string,
): Promise<Device> {
  if (existing.isActive) {
    await tx.upsertDevice({ ...existing, isActive: false });
    events.deviceRevoked(existing.deviceId);
  }
  const device: DeviceRecord = {
    deviceId: existing.deviceId,
    userId: owner,
    deviceName: request.deviceName ?? null,
    platform: request.platform ?? null,
    appVersion: request.appVersion ?? null,
    schemaVersions: null,
    lastSyncAt: null,
    syncToken: null,
    isActive: true,
    createdAt: now,
  };
  await tx.upsertDevice(device);
  await tx.insertAudit({
    actor: admin.userId,
    action: 'device.reassign',
    target: existing.deviceId,
    details: { from: existing.userId, to: owner },
    createdAt: now,
  });
  return toWireDevice(device);
}
