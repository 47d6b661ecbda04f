// Every "who may" rule of the engine in one place: a user reaches their own records, devices and
// queue; an admin reaches the whole tenant's. Routes and commands call these instead of comparing
// user ids themselves, so a rule changes here or nowhere.
import { isAdmin, type Actor } from './actor.js';
import { SyncError } from './errors.js';
import type { MutationRecord } from './ports.js';

export { isAdmin };

/** Refuses anyone but a tenant admin (403 ADMIN_REQUIRED). */
export function requireAdmin(actor: Actor): void {
  if (!isAdmin(actor)) throw new SyncError('ADMIN_REQUIRED');
}

/** Whether the actor may act on something `ownerId` owns: their own, or any for admins. */
export function ownsOrAdmin(actor: Actor, ownerId: string): boolean {
  return isAdmin(actor) || ownerId === actor.userId;
}

/** The filter of what the actor may list: their own records, or the tenant's for admins. */
export function ownScope(actor: Actor): { userId?: string } {
  return isAdmin(actor) ? {} : { userId: actor.userId };
}

/**
 * The user filter of a listing that may name a user: an admin gets the one named (or all), a
 * user only their own, and naming another user is refused (403 FORBIDDEN with `refusal`).
 */
export function scopeFor(
  actor: Actor,
  requested: string | undefined,
  refusal: string,
): { userId?: string } {
  if (isAdmin(actor)) return requested !== undefined ? { userId: requested } : {};
  if (requested !== undefined && requested !== actor.userId) {
    throw new SyncError('FORBIDDEN', refusal);
  }
  return { userId: actor.userId };
}

/**
 * A record another user made under an id the actor now reuses (a mutation, queue item or
 * operation id): refused, whoever asks, so an id never lets one user reach another's outcome.
 */
export function assertOwnRecord(actor: Actor, ownerId: string, refusal: string): void {
  if (ownerId !== actor.userId) throw new SyncError('FORBIDDEN', refusal);
}

/** Another user's device: refused, and nothing about it (name, state, sync token) is told. */
export function anotherUsersDevice(deviceId: string): SyncError {
  return new SyncError('FORBIDDEN', `Device ${deviceId} belongs to another user`);
}

/**
 * A device the actor may sync as: unknown (it becomes theirs) or their own and still registered.
 * Another user's is refused before its state is told, so a probe learns nothing of it.
 */
export function assertDeviceUsable(
  actor: Actor,
  deviceId: string,
  device: { userId: string; isActive: boolean } | undefined,
): void {
  if (!device) return;
  if (device.userId !== actor.userId) throw anotherUsersDevice(deviceId);
  if (!device.isActive) {
    throw new SyncError('DEVICE_REVOKED', `Device ${deviceId} was unregistered; register it again`);
  }
}

/**
 * Whom a queued mutation is re-run as: its owner. An admin's retry carries none of the admin's
 * claims (the owner's are not stored), so claim rules refuse rather than widen what was allowed.
 */
export function ownerOf(actor: Actor, mutation: MutationRecord): Actor {
  if (mutation.userId === actor.userId) return actor;
  return { tenant: actor.tenant, userId: mutation.userId, role: 'user', claims: {} };
}
