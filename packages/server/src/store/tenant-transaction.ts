// The one tenant-transaction rule every writer of the store follows (sync writes, offline
// operations, pruning): wait in this process's per-tenant queue, take one dedicated connection,
// open the dialect's write transaction (SQLite BEGIN IMMEDIATE, PostgreSQL READ COMMITTED), lock
// the tenant's row where the dialect needs it (FOR UPDATE), run the work, then commit or roll back.
// On SQLite the group commit (sqlite/group-commit.ts) does the waiting, opening and committing:
// each writer is a savepoint of a transaction that queued writers share.
import { sql, type Kysely } from 'kysely';
import type { KeyedQueue } from '../engine/keyed-queue.js';
import type { Database, StoreDialect } from './schema.js';
import type { GroupCommit } from './sqlite/group-commit.js';

/** The part of a dialect's traits a transaction needs. */
export interface TransactionTraits {
  readonly dialect: StoreDialect;
  /** Opens a write transaction (e.g. `begin immediate` on SQLite). */
  readonly begin: string;
  /** Whether the tenant row is locked with SELECT … FOR UPDATE (false where `begin` locks all). */
  readonly lockTenantRow: boolean;
}

export interface TenantTransactionScope {
  readonly db: Kysely<Database>;
  readonly traits: TransactionTraits;
  /** Queues each tenant's transactions in this process before they take a connection. */
  readonly queue?: KeyedQueue | undefined;
  /**
   * Runs the transactions instead, queued writers sharing one COMMIT (SQLite: one connection,
   * one writer at a time anyway); it opens and commits the transaction itself.
   */
  readonly group?: GroupCommit | undefined;
}

/** How a store orders its tenants' write transactions (see TenantTransactionScope). */
export type TenantWriteOrder = Pick<TenantTransactionScope, 'queue' | 'group'>;

/** The tenant's row as the lock found it. */
export interface LockedTenant {
  readonly seq: number;
  readonly epoch: number;
  readonly prunedSeq: number;
}

export interface TenantTransactionOptions {
  /**
   * Create the tenant row when missing (writers), or run without one (`tenant` undefined in the
   * callback: a tenant without a row has written nothing, which maintenance skips).
   */
  readonly createTenant: boolean;
}

/**
 * Runs `fn` in one transaction holding `tenant`'s write lock to commit; rolls back when it
 * throws (a failing rollback never hides the error that caused it). Transactions do not nest:
 * starting another one for the same tenant inside `fn` waits on the queue `fn` holds.
 */
export function withTenantTransaction<T>(
  scope: TenantTransactionScope,
  tenant: string,
  options: TenantTransactionOptions,
  fn: (conn: Kysely<Database>, locked: LockedTenant | undefined) => Promise<T>,
): Promise<T> {
  if (scope.group) {
    return scope.group(tenant, async (conn) =>
      fn(conn, await lockTenant(conn, scope.traits, tenant, options.createTenant)),
    );
  }
  const run = () => transactNow(scope, tenant, options, fn);
  return scope.queue ? scope.queue(tenant, run) : run();
}

function transactNow<T>(
  scope: TenantTransactionScope,
  tenant: string,
  options: TenantTransactionOptions,
  fn: (conn: Kysely<Database>, locked: LockedTenant | undefined) => Promise<T>,
): Promise<T> {
  return onHeldConnection(scope.db, scope.traits.begin, async (conn) => {
    const locked = await lockTenant(conn, scope.traits, tenant, options.createTenant);
    return fn(conn, locked);
  });
}

/**
 * Runs `fn` in one read-only transaction opened with `beginRead` (a consistent view): outside the
 * tenant's queue and without its write lock, so a pull never waits on, or holds up, a writer.
 */
export function withReadTransaction<T>(
  db: Kysely<Database>,
  beginRead: string,
  fn: (conn: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return onHeldConnection(db, beginRead, fn);
}

/** One dedicated connection from `begin` to COMMIT, rolled back when `fn` throws. */
function onHeldConnection<T>(
  db: Kysely<Database>,
  begin: string,
  fn: (conn: Kysely<Database>) => Promise<T>,
): Promise<T> {
  // On SQLite that is Kysely's single connection (held, so nothing else interleaves); on
  // PostgreSQL a pooled client.
  return db.connection().execute(async (conn) => {
    await sql.raw(begin).execute(conn);
    try {
      const result = await fn(conn);
      await sql.raw('commit').execute(conn);
      return result;
    } catch (err) {
      // The rollback's own failure (e.g. SQLite already rolled back, or the connection is
      // gone) must not hide the error that caused it.
      await sql
        .raw('rollback')
        .execute(conn)
        .catch(() => undefined);
      throw err;
    }
  });
}

/**
 * Takes the tenant's write lock, creating the tenant row on first use when asked. On PostgreSQL
 * the row lock is held to commit, so the tenant's writers queue here; the common case is one query.
 */
async function lockTenant(
  conn: Kysely<Database>,
  traits: TransactionTraits,
  tenant: string,
  create: boolean,
): Promise<LockedTenant | undefined> {
  const found = await selectTenantRow(conn, traits, tenant);
  if (found || !create) return found;
  await conn
    .insertInto('tenants')
    .values({ tenant, seq: 0, epoch: 0, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('tenant').doNothing())
    .execute();
  // A concurrent first writer may have inserted it; either way the row exists now and must
  // be locked before anything else happens in this transaction.
  const locked = await selectTenantRow(conn, traits, tenant);
  if (!locked) throw new Error(`tenant row for ${tenant} vanished while locking it`);
  return locked;
}

async function selectTenantRow(
  conn: Kysely<Database>,
  traits: TransactionTraits,
  tenant: string,
): Promise<LockedTenant | undefined> {
  const q = conn
    .selectFrom('tenants')
    .select(['seq', 'epoch', 'pruned_seq'])
    .where('tenant', '=', tenant);
  const row = await (traits.lockTenantRow ? q.forUpdate() : q).executeTakeFirst();
  return (
    row && { seq: Number(row.seq), epoch: Number(row.epoch), prunedSeq: Number(row.pruned_seq) }
  );
}
