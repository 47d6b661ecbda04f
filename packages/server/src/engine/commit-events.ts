// After-commit events: what a committed transaction changed, described without the data, so that
// realtime fan-out can tell which connected readers may see it. Gathered explicitly by the code
// that writes (CommitEvents, carried beside the transaction); announced only once the transaction
// has committed.
import type { Actor } from './actor.js';
import { claimsOf, type AccessRule, type CollectionRegistry } from './collections.js';
import { SyncError } from './errors.js';
import type { JsonObject, NewHistoryRecord, SyncStore, TenantTx } from './ports.js';

/** One entity version a transaction wrote, with what access rules need and nothing more. */
export interface CommittedChange {
  entityType: string;
  entityId: string;
  seq: number;
  /** The creator: `owner` rules. */
  createdBy: string;
  /**
   * For each payload field a `{ field, claim }` rule reads: the scalar values it held before and
   * after this version (a reader who saw the entity before must learn that it left the view).
   */
  fields: Record<string, Array<string | number | boolean | null>>;
}

export type CommitEvent =
  /** Entity versions committed; seq and epoch are the tenant's after the commit. */
  | { kind: 'changes'; tenant: string; seq: number; epoch: number; changes: CommittedChange[] }
  /** The cache epoch moved (invalidation): every reader's token now answers reset. */
  | { kind: 'epoch'; tenant: string; seq: number; epoch: number }
  /** A device was unregistered: its open streams end. */
  | { kind: 'device-revoked'; tenant: string; deviceId: string };

export type CommitListener = (event: CommitEvent) => void;

/** The fields each `{ field, claim }` rule of a collection reads. */
export function ruleFields(rule: AccessRule): string[] {
  if (Array.isArray(rule)) return [...new Set(rule.flatMap(ruleFields))];
  return typeof rule === 'object' ? [rule.field] : [];
}

type Scalar = string | number | boolean | null;
const isScalar = (value: unknown): value is Scalar =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'number' ||
  typeof value === 'boolean';

/** The version an appended one replaced: only its payload is read. */
type Before = { payload: JsonObject | null } | undefined;

/** A written version as an event describes it. */
type Appended = Pick<NewHistoryRecord, 'entityType' | 'entityId' | 'createdBy' | 'payload'>;

/**
 * What one tenant transaction committed, gathered by the code that writes it: each entity version
 * (`appended`), an epoch bump, a device revocation. What a rolled-back savepoint wrote is
 * forgotten (`savepoint`, `checkpoint`); nothing is told until `announce`, after COMMIT.
 * Without a listener it gathers nothing.
 */
export class CommitEvents {
  readonly #changes: CommittedChange[] = [];
  readonly #revoked: string[] = [];
  #epochMoved = false;
  /** The rule's fields, worked out once per type and transaction, not once per row. */
  readonly #fieldsByType = new Map<string, string[]>();

  constructor(private readonly fieldsOf?: (entityType: string) => string[]) {}

  /** Whether anything was gathered that needs the tenant's seq and epoch after the commit. */
  get moved(): boolean {
    return this.#changes.length > 0 || this.#epochMoved;
  }

  #fieldsOfType(entityType: string): string[] {
    let names = this.#fieldsByType.get(entityType);
    if (!names) {
      names = this.fieldsOf?.(entityType) ?? [];
      this.#fieldsByType.set(entityType, names);
    }
    return names;
  }

  /** Whether `appended` reads the version before (a `{ field, claim }` rule needs its values). */
  needsBefore(entityType: string): boolean {
    return this.fieldsOf !== undefined && this.#fieldsOfType(entityType).length > 0;
  }

  /** An entity version written under `seq`, replacing `before`. */
  appended(record: Appended, before: Before, seq: number): void {
    if (!this.fieldsOf) return;
    const fields: CommittedChange['fields'] = {};
    for (const name of this.#fieldsOfType(record.entityType)) {
      const values: Scalar[] = [];
      const was = before?.payload?.[name];
      const is = record.payload?.[name];
      if (was !== undefined && isScalar(was)) values.push(was);
      if (is !== undefined && isScalar(is) && is !== was) values.push(is);
      fields[name] = values;
    }
    this.#changes.push({
      entityType: record.entityType,
      entityId: record.entityId,
      seq,
      createdBy: record.createdBy,
      fields,
    });
  }

  epochBumped(): void {
    if (this.fieldsOf) this.#epochMoved = true;
  }

  deviceRevoked(deviceId: string): void {
    if (this.fieldsOf) this.#revoked.push(deviceId);
  }

  /** Notes what was gathered so far; the function it returns forgets what came after. */
  checkpoint(): () => void {
    const [changed, revoked, moved] = [
      this.#changes.length,
      this.#revoked.length,
      this.#epochMoved,
    ];
    return () => {
      this.#changes.length = changed;
      this.#revoked.length = revoked;
      this.#epochMoved = moved;
    };
  }

  /** `fn` in a savepoint of `tx`: what a rolled-back savepoint wrote never commits, nor is told. */
  async savepoint<T>(tx: Pick<TenantTx, 'savepoint'>, fn: () => Promise<T>): Promise<T> {
    const rewind = this.checkpoint();
    try {
      return await tx.savepoint(fn);
    } catch (error) {
      rewind();
      throw error;
    }
  }

  /** Tells `listener` what committed; `after` is the tenant's seq and epoch after the commit. */
  announce(tenant: string, after: { seq: number; epoch: number }, listener: CommitListener): void {
    if (this.#changes.length > 0) {
      listener({ kind: 'changes', tenant, ...after, changes: this.#changes });
    }
    if (this.#epochMoved) listener({ kind: 'epoch', tenant, ...after });
    for (const deviceId of this.#revoked) listener({ kind: 'device-revoked', tenant, deviceId });
  }
}

/** A tenant transaction whose writes gather their events on `events`. */
export type CommitTransaction = <T>(
  tenant: string,
  fn: (tx: TenantTx, events: CommitEvents) => Promise<T>,
) => Promise<T>;

/**
 * Runs tenant transactions on `store` and, once each has committed, tells `listener` the events
 * its writes gathered. A transaction that rolls back tells nothing; without a listener nothing is
 * gathered.
 */
export function commitTransaction(
  store: SyncStore,
  collections: CollectionRegistry,
  listener: CommitListener | undefined,
): CommitTransaction {
  const fieldsOf = listener ? ruleFieldsOf(collections) : undefined;
  return async (tenant, fn) => {
    const events = new CommitEvents(fieldsOf);
    let after = { seq: 0, epoch: 0 };
    const result = await store.forTenant(tenant).transact(async (tx) => {
      const value = await fn(tx, events);
      // Read inside the transaction (the tenant row is locked): exactly this commit's state.
      if (events.moved) after = await tx.getTenantState();
      return value;
    });
    if (listener) events.announce(tenant, after, listener);
    return result;
  };
}

/** The fields a collection's access rule reads, none when it reads no claim (or is unknown). */
function ruleFieldsOf(collections: CollectionRegistry): (entityType: string) => string[] {
  return (entityType) => {
    try {
      const rule = collections.get(entityType).access;
      return claimsOf(rule).length === 0 ? [] : ruleFields(rule);
    } catch (error) {
      if (error instanceof SyncError) return [];
      throw error;
    }
  };
}

/**
 * Whether a reader may see this change (or learn it left the view) on its next pull: the same
 * rules as the pull, applied to the values before and after. It may answer yes for a change
 * the pull then filters out (a poke is only a hint); it never answers no to one the pull shows.
 */
export function mayConcern(
  actor: Actor,
  collections: CollectionRegistry,
  change: CommittedChange,
): boolean {
  let rule: AccessRule;
  try {
    rule = collections.get(change.entityType).access;
  } catch (error) {
    if (error instanceof SyncError) return false;
    throw error;
  }
  if (actor.role === 'admin') return true;
  return ruleMayHold(actor, rule, change);
}

function ruleMayHold(actor: Actor, rule: AccessRule, change: CommittedChange): boolean {
  if (Array.isArray(rule)) return rule.every((part) => ruleMayHold(actor, part, change));
  if (rule === 'tenant') return true;
  if (rule === 'owner') return change.createdBy === actor.userId;
  const allowed = actor.claims[rule.claim];
  if (!Array.isArray(allowed)) return false;
  return (change.fields[rule.field] ?? []).some((value) => allowed.includes(value));
}
