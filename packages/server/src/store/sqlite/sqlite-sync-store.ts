// The embedded SQLite adapter: better-sqlite3 under Kysely's SQLite dialect, with the shared
// query layer. One connection, WAL journal, fsync on every commit.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type SqliteDatabase } from 'kysely';
import { KyselySyncStore, migratedOrClosed, type DialectTraits } from '../kysely-sync-store.js';
import type { Database } from '../schema.js';
import { createGroupCommit } from './group-commit.js';
import { createSqliteHotPath, type SqliteStatement } from './sqlite-hot-path.js';
import { TurnTakingSqliteDialect } from './turn-taking-dialect.js';
import { backstopCheckpointPages, startWalCheckpointer } from './wal-checkpointer.js';

/** The part of better-sqlite3 this adapter uses (Kysely's own part plus `pragma`). */
export interface SqliteDriverDatabase extends SqliteDatabase {
  pragma(source: string): unknown;
  /** A SELECT's rows as arrays of column values (better-sqlite3's raw mode). */
  selectRows?(sql: string, parameters: readonly unknown[]): unknown[][];
  /** A statement prepared for keeps, outside the bounded cache (the hot path's). */
  prepareHot?(sql: string): SqliteStatement;
}

export interface SqliteSyncStoreOptions {
  /** Database file; ':memory:' for a throwaway database (tests). */
  file: string;
  /** Run migrations before returning (default true). */
  migrate?: boolean;
}

export const sqliteTraits: Omit<DialectTraits, 'hotPath'> = {
  dialect: 'sqlite',
  // IMMEDIATE takes SQLite's write lock at BEGIN: a second process (e.g. `syncline migrate`)
  // waits out busy_timeout up front instead of failing on a read-to-write lock upgrade.
  begin: 'begin immediate',
  // A reader holds the one connection, so it needs no lock of its own beyond SQLite's snapshot.
  beginRead: 'begin deferred',
  lockTenantRow: false,
};

export function openSqliteDatabase(file: string): SqliteDriverDatabase {
  const onDisk = file !== ':memory:' && !file.startsWith('file:');
  if (onDisk) mkdirSync(dirname(file), { recursive: true });
  const db = new BetterSqlite3(file);
  // WAL + synchronous=FULL: a committed transaction survives SIGKILL and power loss.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (!onDisk) return withStatementCache(db);
  // Checkpoints run on a worker thread; this connection checkpoints only as a backstop.
  db.pragma(`wal_autocheckpoint = ${backstopCheckpointPages}`);
  const checkpointer = startWalCheckpointer(file);
  const database = withStatementCache(db);
  return {
    ...database,
    close() {
      checkpointer.stop();
      database.close();
    },
  };
}

/**
 * Kysely prepares every statement anew; preparing costs as much as running one. The engine's
 * queries are parameterized, so their SQL text repeats and a bounded cache of prepared
 * statements serves them. Kysely's connection mutex means no statement is shared mid-execution.
 */
export function withStatementCache(db: BetterSqlite3.Database, size = 256): SqliteDriverDatabase {
  const cache = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  // Raw-mode statements apart from Kysely's: raw() changes what a statement answers.
  const raw = new Map<string, BetterSqlite3.Statement<unknown[], unknown[]>>();
  return {
    close: () => db.close(),
    pragma: (source) => db.pragma(source),
    prepareHot: (sql) => db.prepare(sql),
    selectRows(sql, parameters) {
      let statement = raw.get(sql);
      if (!statement) {
        statement = db.prepare<unknown[], unknown[]>(sql).raw(true);
        if (raw.size >= size) raw.delete(raw.keys().next().value as string);
        raw.set(sql, statement);
      }
      return statement.all(...parameters);
    },
    prepare(sql) {
      let statement = cache.get(sql);
      if (statement) {
        // Map order doubles as recency order for the eviction below.
        cache.delete(sql);
      } else {
        statement = db.prepare(sql);
        if (cache.size >= size) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

/**
 * A `SyncStore` on SQLite. Isolation: serializable. Kysely's SQLite driver has a single
 * connection guarded by a mutex, and a group of writers holds it from BEGIN IMMEDIATE to COMMIT
 * (group-commit.ts: each `transact()` is one savepoint of it, answered after the COMMIT), so all
 * transactions of every tenant run one at a time and reads never interleave with a transaction
 * in flight; a reader therefore sees change-feed seqs strictly in commit order.
 * Another process on the same file is kept out by SQLite's write lock (waiting up to 5 s).
 */
export async function createSqliteSyncStore(
  options: SqliteSyncStoreOptions,
): Promise<KyselySyncStore> {
  const database = openSqliteDatabase(options.file);
  const { selectRows } = database;
  // The statements run on the database directly: a transaction holds Kysely's only connection.
  const hot = createSqliteHotPath((sql) =>
    database.prepareHot ? database.prepareHot(sql) : database.prepare(sql),
  );
  const traits: DialectTraits = { ...sqliteTraits, hotPath: () => hot };
  const db = new Kysely<Database>({ dialect: new TurnTakingSqliteDialect({ database }) });
  const store = new KyselySyncStore(
    db,
    selectRows
      ? {
          ...traits,
          selectRows: (query) => selectRows.call(database, query.sql, query.parameters),
        }
      : traits,
    undefined,
    // Writers queued while one runs share its COMMIT (one fsync), taken one per tenant in turn:
    // a tenant sending many requests at once (a retry hammered by several callers) holds up
    // another tenant's sync by one writer, not by all of its own.
    { group: createGroupCommit(db, { begin: sqliteTraits.begin }) },
  );
  return migratedOrClosed(store, options.migrate);
}
