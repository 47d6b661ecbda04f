// Access rules: who may see and change an entity of a collection, within a tenant.
import type { Actor } from './actor.js';
import type { AccessRule } from './collections.js';
import type { JsonObject } from './ports.js';

export interface AccessSubject {
  /** The entity's creator; for a create, the actor itself. */
  createdBy: string;
  /** The payload the rule looks at; null for a tombstone. */
  payload: JsonObject | null;
}

/** Which part of a rule refused, and why, in words a device's user can act on. */
export type AccessRefusal =
  | { kind: 'owner' }
  /** The token carries no such claim (e.g. a token minted without `facilities`). */
  | { kind: 'no-claim'; claim: string; field: string }
  | { kind: 'not-listed'; claim: string; field: string };

/** Admins of the tenant pass every rule; tombstones pass field rules (they carry no fields). */
export function isAllowed(actor: Actor, rule: AccessRule, subject: AccessSubject): boolean {
  return accessRefusal(actor, rule, subject) === undefined;
}

/** Why the rule refuses the actor (the first part of it that does), or undefined. */
export function accessRefusal(
  actor: Actor,
  rule: AccessRule,
  subject: AccessSubject,
): AccessRefusal | undefined {
  if (actor.role === 'admin') return undefined;
  if (Array.isArray(rule)) {
    for (const part of rule) {
      const refusal = accessRefusal(actor, part, subject);
      if (refusal) return refusal;
    }
    return undefined;
  }
  if (rule === 'tenant') return undefined;
  if (rule === 'owner') return subject.createdBy === actor.userId ? undefined : { kind: 'owner' };
  if (subject.payload === null) return undefined;
  const allowed = actor.claims[rule.claim];
  const where = { claim: rule.claim, field: rule.field };
  if (!Array.isArray(allowed)) return { kind: 'no-claim', ...where };
  const value = subject.payload[rule.field];
  return allowed.some((item) => item === value) ? undefined : { kind: 'not-listed', ...where };
}
