// How many realtime streams one user and one tenant may hold open on this instance. Each stream is
// a socket held for hours; without a cap one user can hold thousands. Counted per instance (with
// many instances a user may hold up to the cap on each): a count shared through Redis would
// outlive a crashed instance's streams, and the cap is there to protect each instance.
import { streamCapsDefaults, type StreamCaps } from '../config/limits.js';

export { streamCapsDefaults, type StreamCaps };

export interface StreamSlot {
  /** Frees the slot; calling it again does nothing. */
  release(): void;
}

export type StreamSlotResult =
  { ok: true; slot: StreamSlot } | { ok: false; cap: 'user' | 'tenant'; limit: number };

export interface StreamSlots {
  /** Takes a slot for one stream of the user, or says which cap is reached. */
  acquire(tenant: string, userId: string): StreamSlotResult;
  /** Slots held, for tests and metrics. */
  held(tenant: string, userId?: string): number;
}

export function createStreamSlots(caps: StreamCaps): StreamSlots {
  const counts = new Map<string, number>();
  const userKey = (tenant: string, userId: string) => JSON.stringify([tenant, userId]);
  const tenantKey = (tenant: string) => JSON.stringify([tenant]);
  const add = (key: string, delta: number) => {
    const next = (counts.get(key) ?? 0) + delta;
    if (next === 0) counts.delete(key);
    else counts.set(key, next);
  };

  return {
    acquire(tenant, userId) {
      const user = userKey(tenant, userId);
      const all = tenantKey(tenant);
      if ((counts.get(user) ?? 0) >= caps.perUser) {
        return { ok: false, cap: 'user', limit: caps.perUser };
      }
      if ((counts.get(all) ?? 0) >= caps.perTenant) {
        return { ok: false, cap: 'tenant', limit: caps.perTenant };
      }
      add(user, 1);
      add(all, 1);
      let held = true;
      return {
        ok: true,
        slot: {
          release() {
            if (!held) return;
            held = false;
            add(user, -1);
            add(all, -1);
          },
        },
      };
    },
    held: (tenant, userId) =>
      counts.get(userId === undefined ? tenantKey(tenant) : userKey(tenant, userId)) ?? 0,
  };
}
