// The collections config: per entity type, a payload schema, an access rule, a conflict strategy,
// merge policies per field and conflict detectors. Built-in entity types come in as presets.
import { ConflictStrategy } from '@syncline/protocol';
import { SyncError } from './errors.js';

/**
 * `tenant`: everyone in the tenant; `owner`: the entity's creator and admins;
 * `{ field, claim }`: the payload's `field` must be listed in the token's `claim` (admins pass).
 * An array means every rule must hold.
 */
export type AccessRule = 'tenant' | 'owner' | { field: string; claim: string } | AccessRule[];

/** How MERGE settles a field that both sides changed; without one the conflict goes to review. */
export const FieldPolicy = {
  CLIENT: 'CLIENT',
  SERVER: 'SERVER',
  LATEST: 'LATEST',
  MAX: 'MAX',
  MIN: 'MIN',
  UNION: 'UNION',
} as const;
export type FieldPolicy = (typeof FieldPolicy)[keyof typeof FieldPolicy];

/** Flags a TIME_MISMATCH when a time field differs from the server's by more than the tolerance. */
export interface TimeDetector {
  fields: string[];
  toleranceMs: number;
}

export interface CollectionConfig {
  /** JSON Schema for the payload (checked on the full state after a merge patch). */
  schema?: Record<string, unknown>;
  access?: AccessRule;
  conflictStrategy?: ConflictStrategy;
  mergePolicy?: Record<string, FieldPolicy>;
  timeDetector?: TimeDetector;
  /**
   * Payload fields holding times that may not lie further in the future than the allowed skew
   * (5 minutes): a change carrying one is refused with FUTURE_TIMESTAMP. `[]` turns a preset's off.
   */
  notInFuture?: string[];
  /** CLIENT_WINS is honoured only for admins of the tenant (a user's choice waits for review). */
  clientWinsAdminOnly?: boolean;
}

export interface CollectionsConfig {
  /** Refuse entity types the config does not name. */
  strict?: boolean;
  /** Include the preset collections the registry is given (default true). */
  presets?: boolean;
  /** The tenant-wide default strategy; SERVER_WINS when absent. */
  defaultStrategy?: ConflictStrategy;
  collections?: Record<string, CollectionConfig>;
}

export const entityTypePattern = /^[a-z][a-z0-9_]{0,63}$/;

/** Resolved per-type settings the engine works with. */
export interface Collection {
  name: string;
  schema: Record<string, unknown> | undefined;
  access: AccessRule;
  conflictStrategy: ConflictStrategy | undefined;
  mergePolicy: Record<string, FieldPolicy>;
  timeDetector: TimeDetector | undefined;
  notInFuture: string[];
  clientWinsAdminOnly: boolean;
}

export interface CollectionRegistry {
  readonly strict: boolean;
  readonly defaultStrategy: ConflictStrategy;
  /** The collection for a type, or a SyncError UNKNOWN_ENTITY_TYPE. */
  get(entityType: string): Collection;
  names(): string[];
  /** The token claims any collection's access rule reads (e.g. `facilities`). */
  claimNames(): string[];
  /** The access rule of a type no collection names (served unless strict). */
  readonly defaultAccess: AccessRule;
}

/**
 * `shipped` are the collections a deployment ships with, handed over by the composition root;
 * a config entry for one of their types overrides it, and `config.presets: false` leaves them out.
 */
/** Who may see a type whose config names no access rule: everyone in the tenant. */
const defaultAccess: AccessRule = 'tenant';

export function createCollectionRegistry(
  config: CollectionsConfig = {},
  shipped: Readonly<Record<string, CollectionConfig>> = {},
): CollectionRegistry {
  const presets = config.presets === false ? {} : shipped;
  const merged: Record<string, CollectionConfig> = { ...presets };
  // A config entry for a preset's type overrides the settings it names and keeps the others (e.g.
  // a config that sets only an access rule keeps the preset's schema and time detector).
  for (const [name, collection] of Object.entries(config.collections ?? {})) {
    merged[name] = Object.hasOwn(presets, name) ? { ...presets[name], ...collection } : collection;
  }
  const resolved = new Map<string, Collection>();
  for (const [name, collection] of Object.entries(merged)) {
    if (!entityTypePattern.test(name)) {
      throw new Error(`collections config: "${name}" is not a valid entity type name`);
    }
    resolved.set(name, toCollection(name, collection));
  }
  const strict = config.strict ?? false;
  assertStrategy('defaultStrategy', config.defaultStrategy);
  return {
    strict,
    defaultStrategy: config.defaultStrategy ?? 'SERVER_WINS',
    defaultAccess,
    get(entityType) {
      const found = resolved.get(entityType);
      if (found) return found;
      if (strict || !entityTypePattern.test(entityType)) {
        throw new SyncError('UNKNOWN_ENTITY_TYPE', `Entity type "${entityType}" is not configured`);
      }
      return toCollection(entityType, {});
    },
    names: () => [...resolved.keys()],
    claimNames: () =>
      [...new Set([...resolved.values()].flatMap((c) => claimsOf(c.access)))].sort(),
  };
}

/**
 * The access rule of a type the feed and the snapshot still serve; undefined for one the config
 * no longer names (strict mode), whose rows no reader is sent.
 */
export function servedRule(
  collections: CollectionRegistry,
  entityType: string,
): AccessRule | undefined {
  try {
    return collections.get(entityType).access;
  } catch (error) {
    if (error instanceof SyncError) return undefined;
    throw error;
  }
}

/** The token claims a rule reads; none for `tenant` and `owner`. */
export function claimsOf(rule: AccessRule): string[] {
  if (Array.isArray(rule)) return rule.flatMap(claimsOf);
  return typeof rule === 'object' ? [rule.claim] : [];
}

/** A strategy the engine knows, or none: a misspelled one must fail here, not at a conflict. */
function assertStrategy(where: string, strategy: string | undefined): void {
  if (strategy !== undefined && !Object.hasOwn(ConflictStrategy, strategy)) {
    throw new Error(
      `collections config: ${where} is not one of ${Object.keys(ConflictStrategy).join(', ')}`,
    );
  }
}

function toCollection(name: string, config: CollectionConfig): Collection {
  assertStrategy(`${name}.conflictStrategy`, config.conflictStrategy);
  for (const [field, policy] of Object.entries(config.mergePolicy ?? {})) {
    if (!Object.hasOwn(FieldPolicy, policy)) {
      throw new Error(
        `collections config: ${name}.mergePolicy.${field} is not one of ${Object.keys(FieldPolicy).join(', ')}`,
      );
    }
  }
  return {
    name,
    schema: config.schema,
    access: config.access ?? defaultAccess,
    conflictStrategy: config.conflictStrategy,
    mergePolicy: config.mergePolicy ?? {},
    timeDetector: config.timeDetector,
    notInFuture: config.notInFuture ?? [],
    clientWinsAdminOnly: config.clientWinsAdminOnly ?? false,
  };
}
