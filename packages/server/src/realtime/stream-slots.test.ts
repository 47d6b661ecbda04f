// The stream caps: per user and per tenant, freed on release, and a release counts once.
import { describe, expect, it } from 'vitest';
import { createStreamSlots } from './stream-slots.js';

describe('stream slots', () => {
  it('refuses past the per-user cap and frees a slot on release, once', () => {
    const slots = createStreamSlots({ perUser: 2, perTenant: 10 });
    const a = slots.acquire('t1', 'u1');
    const b = slots.acquire('t1', 'u1');
    expect(slots.acquire('t1', 'u1')).toEqual({ ok: false, cap: 'user', limit: 2 });
    // Another user, and the same user id in another tenant, have caps of their own.
    expect(slots.acquire('t1', 'u2').ok).toBe(true);
    expect(slots.acquire('t2', 'u1').ok).toBe(true);
    if (!a.ok || !b.ok) throw new Error('expected slots');
    a.slot.release();
    a.slot.release();
    expect(slots.held('t1', 'u1')).toBe(1);
    expect(slots.acquire('t1', 'u1').ok).toBe(true);
    expect(slots.acquire('t1', 'u1').ok).toBe(false);
  });

  it('refuses past the per-tenant cap whoever asks', () => {
    const slots = createStreamSlots({ perUser: 5, perTenant: 3 });
    for (const user of ['a', 'b', 'c']) expect(slots.acquire('t', user).ok).toBe(true);
    expect(slots.acquire('t', 'd')).toEqual({ ok: false, cap: 'tenant', limit: 3 });
    expect(slots.held('t')).toBe(3);
    expect(slots.acquire('other', 'd').ok).toBe(true);
  });
});
