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

/** Admins of the tenant pass every rule; tombstones pass field rules (they carry no fields). */
export function isAllowed(actor: Actor, rule: AccessRule, subject: AccessSubject): boolean {
  if (actor.role === 'admin') return true;
  if (Array.isArray(rule)) return rule.every((part) => isAllowed(actor, part, subject));
  if (rule === 'tenant') return true;
  if (rule === 'owner') return subject.createdBy === actor.userId;
  if (subject.payload === null) return true;
  const allowed = actor.claims[rule.claim];
  const value = subject.payload[rule.field];
  if (!Array.isArray(allowed)) return false;
  return allowed.some((item) => item === value);
}
