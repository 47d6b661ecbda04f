// After-commit events: what a committed transaction changed, described without the data, so that
// realtime fan-out can tell which connected readers may see it. Collected by wrapping the store
// the engine writes through; announced only once the transaction has committed.
import type { Actor } from './actor.js';
import { claimsOf, type AccessRule, type CollectionRegistry } from './collections.js';
import { SyncError } from './errors.js';
import type {
  HistoryRecord,
  JsonObject,
  NewHistoryRecord,
  SyncStore,
  TenantStore,
  TenantTx,
} from './ports.js';

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

/**
 * A store whose tenant transactions report, after COMMIT, the versions they appended, an epoch
 * bump or a device revocation. A transaction that rolls back reports nothing; a listener that
 * throws is logged by the caller's listener, never by failing the (already committed) request.
 */
export function observeCommits(
  store: SyncStore,
  collections: CollectionRegistry,
  listener: CommitListener,
): SyncStore {
  const fieldsOf = (entityType: string): string[] => {
    try {
      const rule = collections.get(entityType).access;
      return claimsOf(rule).length === 0 ? [] : ruleFields(rule);
    } catch (error) {
      if (error instanceof SyncError) return [];
      throw error;
    }
  };

  const observeTenant = (tenant: string, inner: TenantStore): TenantStore =>
    new Proxy(inner, {
      get(target, property, receiver) {
        if (property !== 'transact') return Reflect.get(target, property, receiver) as unknown;
        return async <T>(fn: (tx: TenantTx) => Promise<T>): Promise<T> => {
          const changes: CommittedChange[] = [];
          const revoked: string[] = [];
          // Asked for every row the transaction writes: the rule's fields are worked out once per
          // type and transaction, not once per row.
          const fieldsByType = new Map<string, string[]>();
          const fieldsOfType = (entityType: string): string[] => {
            let names = fieldsByType.get(entityType);
            if (!names) {
              names = fieldsOf(entityType);
              fieldsByType.set(entityType, names);
            }
            return names;
          };
          let epochMoved = false;
          let after = { seq: 0, epoch: 0 };
          const result = await target.transact(async (tx) => {
            const watched = watchTx(tx, {
              appended: (record, before, seq) => {
                const names = fieldsOfType(record.entityType);
                const fields: CommittedChange['fields'] = {};
                for (const name of names) {
                  const values: Scalar[] = [];
                  const was = before?.payload?.[name];
                  const is = record.payload?.[name];
                  if (was !== undefined && isScalar(was)) values.push(was);
                  if (is !== undefined && isScalar(is) && is !== was) values.push(is);
                  fields[name] = values;
                }
                changes.push({
                  entityType: record.entityType,
                  entityId: record.entityId,
                  seq,
                  createdBy: record.createdBy,
                  fields,
                });
              },
              needsBefore: (entityType) => fieldsOfType(entityType).length > 0,
              epochBumped: () => {
                epochMoved = true;
              },
              deviceRevoked: (deviceId) => revoked.push(deviceId),
              checkpoint: () => {
                const [changed, revokedCount, moved] = [changes.length, revoked.length, epochMoved];
                return () => {
                  changes.length = changed;
                  revoked.length = revokedCount;
                  epochMoved = moved;
                };
              },
            });
            const value = await fn(watched);
            // Read inside the transaction (the tenant row is locked): exactly this commit's state.
            if (changes.length > 0 || epochMoved) after = await tx.getTenantState();
            return value;
          });
          if (changes.length > 0) listener({ kind: 'changes', tenant, ...after, changes });
          if (epochMoved) listener({ kind: 'epoch', tenant, ...after });
          for (const deviceId of revoked) listener({ kind: 'device-revoked', tenant, deviceId });
          return result;
        };
      },
    });

  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'forTenant') return Reflect.get(target, property, receiver) as unknown;
      return (tenant: string) => observeTenant(tenant, target.forTenant(tenant));
    },
  });
}

/** The version an appended one replaced: only its payload is read. */
type Before = { payload: JsonObject | null } | undefined;

interface TxWatch {
  appended(record: NewHistoryRecord, before: Before, seq: number): void;
  needsBefore(entityType: string): boolean;
  epochBumped(): void;
  deviceRevoked(deviceId: string): void;
  /** Notes what was seen so far; the function it returns forgets what came after. */
  checkpoint(): () => void;
}

function watchTx(tx: TenantTx, watch: TxWatch): TenantTx {
  return new Proxy(tx, {
    get(target, property, receiver) {
      switch (property) {
        case 'appendHistory':
          return async (record: NewHistoryRecord) => {
            // The entity row still holds the version before this one (putEntity follows).
            const before = watch.needsBefore(record.entityType)
              ? await target.getEntity(record.entityType, record.entityId)
              : undefined;
            const seq = await target.appendHistory(record);
            watch.appended(record, before, seq);
            return seq;
          };
        case 'insertHistory':
          return async (records: readonly HistoryRecord[]) => {
            const befores = await versionsBefore(target, records, watch);
            await target.insertHistory(records);
            records.forEach((record, i) => watch.appended(record, befores[i], record.seq));
          };
        case 'savepoint':
          return async <T>(fn: () => Promise<T>): Promise<T> => {
            // What a rolled-back savepoint wrote never commits, so it is never announced.
            const rewind = watch.checkpoint();
            try {
              return await target.savepoint(fn);
            } catch (error) {
              rewind();
              throw error;
            }
          };
        case 'bumpEpoch':
          return async () => {
            const epoch = await target.bumpEpoch();
            watch.epochBumped();
            return epoch;
          };
        case 'upsertDevice':
          return async (device: Parameters<TenantTx['upsertDevice']>[0]) => {
            await target.upsertDevice(device);
            if (!device.isActive) watch.deviceRevoked(device.deviceId);
          };
        default: {
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function'
            ? (value as (...a: unknown[]) => unknown).bind(target)
            : value;
        }
      }
    },
  });
}

/**
 * For each record, the version it replaces: the one before it in the list, else the entity row
 * (which still holds the version before the batch: the entities are written after the history).
 * One read for all the entities that a rule needs.
 */
async function versionsBefore(
  tx: TenantTx,
  records: readonly HistoryRecord[],
  watch: TxWatch,
): Promise<Before[]> {
  const keyOf = (r: { entityType: string; entityId: string }) =>
    `${r.entityType}\u0000${r.entityId}`;
  const needed = records.filter((r) => watch.needsBefore(r.entityType));
  if (needed.length === 0) return records.map(() => undefined);
  const stored = new Map<string, Before>(
    (
      await tx.getEntities(needed.map((r) => ({ entityType: r.entityType, entityId: r.entityId })))
    ).map((e) => [keyOf(e), e]),
  );
  return records.map((record) => {
    if (!watch.needsBefore(record.entityType)) return undefined;
    const key = keyOf(record);
    const before = stored.get(key);
    stored.set(key, record);
    return before;
  });
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
