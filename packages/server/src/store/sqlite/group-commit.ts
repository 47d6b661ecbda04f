// Group commit on SQLite: the write transactions queued while one runs share its COMMIT. With
// synchronous=FULL every COMMIT waits for an fsync (milliseconds on most disks, far more than a
// 10-change push costs), and SQLite runs one writer at a time anyway; so when writers queue, each
// one runs in a savepoint of a transaction opened once, and one COMMIT makes the whole group
// durable. Nobody is answered before that COMMIT: what a caller is told has committed, has.
//
// A writer that throws rolls back to its savepoint and fails alone; an error that ends the
// transaction itself (SQLite rolled it back, or COMMIT failed) fails every writer of the group,
// none of whose work then committed. Writers are taken one per tenant in turn, so a tenant with
// many queued writes holds up another tenant's by one writer, not by all of its own. A group is
// bounded in writers and in time, and the event loop turns between writers, so readers and new
// connections wait at most one bounded group.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** Runs `work` as one writer of a group transaction for `tenant`; settles after its COMMIT. */
export interface GroupCommit {
  <T>(tenant: string, work: (conn: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Since start: COMMITs made, and the writers they made durable (a metric's source). */
  readonly stats: Readonly<GroupCommitStats>;
}

export interface GroupCommitStats {
  commits: number;
  writers: number;
}

export interface GroupCommitOptions {
  /** Opens the group's write transaction (SQLite: `begin immediate`). */
  begin: string;
  /** At most this many writers share one COMMIT (default 64). */
  maxWriters?: number;
  /** No writer joins a group that has run this long (default 25 ms). */
  maxMillis?: number;
}

interface Writer {
  work: (conn: Kysely<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const savepoint = 'group_writer';

export function createGroupCommit(db: Kysely<Database>, options: GroupCommitOptions): GroupCommit {
  const maxWriters = options.maxWriters ?? 64;
  const maxMillis = options.maxMillis ?? 25;
  // Tenants in turn order, each with its writers in call order.
  const waiting = new Map<string, Writer[]>();
  let lastTenant: string | undefined;
  let draining = false;
  const stats: GroupCommitStats = { commits: 0, writers: 0 };

  // The oldest waiting tenant other than the one that wrote last (when another waits): each
  // tenant's writers wait behind at most one writer of every other tenant.
  const takeNext = (): Writer | undefined => {
    let chosen: string | undefined;
    for (const tenant of waiting.keys()) {
      chosen = tenant;
      if (tenant !== lastTenant) break;
    }
    const writers = chosen === undefined ? undefined : waiting.get(chosen);
    if (chosen === undefined || !writers) return undefined;
    const writer = writers.shift();
    waiting.delete(chosen);
    if (writers.length > 0) waiting.set(chosen, writers);
    lastTenant = chosen;
    return writer;
  };

  const runGroup = (first: Writer) =>
    db.connection().execute(async (conn) => {
      const started = Date.now();
      const committed: { writer: Writer; value: unknown }[] = [];
      let writer: Writer | undefined = first;
      try {
        await sql.raw(options.begin).execute(conn);
        for (let ran = 1; writer; ran++) {
          const outcome = await runWriter(conn, writer);
          if (outcome.ok) committed.push({ writer, value: outcome.value });
          else writer.reject(outcome.error);
          if (ran >= maxWriters || Date.now() - started >= maxMillis) break;
          // A turn of the event loop between writers: sockets are read, and the writes they
          // bring can join this group.
          await nextTurn();
          writer = takeNext();
        }
        await sql.raw('commit').execute(conn);
        stats.commits++;
        stats.writers += committed.length;
      } catch (error) {
        await sql
          .raw('rollback')
          .execute(conn)
          .catch(() => undefined);
        // Nothing of this group committed: every writer in it fails (a settled one stays so).
        writer?.reject(error);
        for (const { writer: done } of committed) done.reject(error);
        return;
      }
      for (const { writer: done, value } of committed) done.resolve(value);
    });

  const drain = async () => {
    draining = true;
    try {
      for (let writer = takeNext(); writer; writer = takeNext()) {
        try {
          await runGroup(writer);
        } catch (error) {
          // The connection could not be had (closed store): this writer fails; so would the rest.
          writer.reject(error);
        }
      }
    } finally {
      draining = false;
    }
  };

  const run = <T>(tenant: string, work: (conn: Kysely<Database>) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const writer: Writer = { work, resolve: resolve as (value: unknown) => void, reject };
      const writers = waiting.get(tenant);
      if (writers) writers.push(writer);
      else waiting.set(tenant, [writer]);
      if (!draining) void drain();
    });
  return Object.assign(run, { stats });
}

type WriterOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * One writer in a savepoint of the group's transaction. Its own failure is its outcome; a failure
 * of the savepoint statements themselves means the transaction is gone, and is thrown.
 */
async function runWriter(conn: Kysely<Database>, writer: Writer): Promise<WriterOutcome> {
  await sql.raw(`savepoint ${savepoint}`).execute(conn);
  let outcome: WriterOutcome;
  try {
    outcome = { ok: true, value: await writer.work(conn) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    await sql.raw(`release savepoint ${savepoint}`).execute(conn);
    return outcome;
  }
  try {
    await sql.raw(`rollback to savepoint ${savepoint}`).execute(conn);
    await sql.raw(`release savepoint ${savepoint}`).execute(conn);
  } catch {
    // The writer's error ended the transaction (SQLite rolls back on some errors): the group
    // fails with that cause.
    throw outcome.error;
  }
  return outcome;
}
