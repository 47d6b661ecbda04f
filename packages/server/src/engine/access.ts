// Access rules: who may see and change an entity of a collection, within a tenant.
import type { Actor } from './actor.js';
import type { AccessRule, CollectionRegistry } from './collections.js';
import type { FeedCondition, FeedVisibility, JsonObject } from './ports.js';

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

/**
 * The reader's access rules as the conditions the store checks on each row of the feed or the
 * current entities. A field part whose claim the token lacks, or lists no value a payload could
 * hold, refuses every version (the version before too), so the type is never seen.
 */
export function storeVisibility(actor: Actor, collections: CollectionRegistry): FeedVisibility {
  const types = new Map<string, readonly FeedCondition[] | null>();
  for (const name of collections.names()) {
    types.set(name, conditionsOf(actor, collections.get(name).access));
  }
  const otherTypes = collections.strict ? null : conditionsOf(actor, collections.defaultAccess);
  return { types, otherTypes };
}

function conditionsOf(actor: Actor, rule: AccessRule): FeedCondition[] | null {
  if (actor.role === 'admin') return [];
  const conditions: FeedCondition[] = [];
  for (const part of partsOf(rule)) {
    if (part === 'tenant') continue;
    if (part === 'owner') {
      conditions.push({ owner: actor.userId });
      continue;
    }
    const allowed = actor.claims[part.claim];
    if (!Array.isArray(allowed)) return null;
    // What `===` can match in a parsed payload: no object, array or non-finite number.
    const anyOf = allowed
      .filter(
        (item) =>
          item === null ||
          typeof item === 'string' ||
          typeof item === 'boolean' ||
          (typeof item === 'number' && Number.isFinite(item)),
      )
      .map((item) => JSON.stringify(item));
    if (anyOf.length === 0) return null;
    conditions.push({ field: part.field, anyOf });
  }
  return conditions;
}

function partsOf(rule: AccessRule): Exclude<AccessRule, AccessRule[]>[] {
  return Array.isArray(rule) ? rule.flatMap(partsOf) : [rule];
}
