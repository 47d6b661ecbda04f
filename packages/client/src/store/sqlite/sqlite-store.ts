// A LocalStore in a SQLite file through better-sqlite3, for Node and Electron. WAL with
// synchronous=FULL: a write() is one SQLite transaction, durable once its promise resolves; an item
// that fails rolls the whole call back. Any number of processes may open the same file: the
// revision and the outbox counter live in the file and move inside each BEGIN IMMEDIATE
// transaction; `exclusive` is a lease row with an expiry, taken and renewed in such a transaction;
// other processes' commits are noticed through PRAGMA data_version.
import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import {
  LocalStoreChangedError,
  type CompoundIndex,
  type ConflictRow,
  type EntityRow,
  type IndexValue,
  type LocalStore,
  type OutboxRow,
  type StorageWrite,
  type WriteResult,
} from '../../core/ports.js';
import { InProcessLocks } from '../in-process-lock.js';
import { ensureQueryTables, indexStatements, querySql } from './sqlite-query.js';
import { adapterMetaPrefix, assertStorageWrite, LocalStoreClosedError } from '../validate-write.js';
import { WatchListeners } from '../watch-listeners.js';

export interface SqliteStorageOptions {
  /** How long a write waits for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
  /**
   * How long an `exclusive` lease lasts unless renewed (ms). The holder renews it at a third of
   * this; a process that dies holding it keeps the others out this long at most.
   */
  leaseMs?: number;
  /** How often a watched store looks for other processes' commits (ms). */
  watchIntervalMs?: number;
}

export const sqliteStorageDefaults = {
  busyTimeoutMs: 5000,
  leaseMs: 15_000,
  watchIntervalMs: 250,
} as const;

const revisionKey = `${adapterMetaPrefix}revision`;
const lastSeqKey = `${adapterMetaPrefix}outbox.lastSeq`;
const leaseKey = (name: string) => `${adapterMetaPrefix}lease.${name}`;

/** Waits between two looks at a lease someone else holds: short at first, then calmer. */
const leasePollMs = (attempt: number) => Math.min(250, 10 * 2 ** attempt);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Lease {
  holder: string;
  expiresAt: number;
}

/** The schema version this adapter writes, kept in `PRAGMA user_version`. */
const schemaVersion = 1;

// STRICT tables refuse a value of the wrong type even if a bug got past the checks above them.
const schema = `
  CREATE TABLE entities (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    body TEXT,
    PRIMARY KEY (type, id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    mutation_id TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    operation TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    body TEXT
  ) STRICT;
  CREATE TABLE conflicts (id TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;
`;

interface EntityRecord {
  type: string;
  id: string;
  version: number;
  deleted: number;
  body: string | null;
  fields: string | null;
}

interface OutboxRecord {
  seq: number;
  mutation_id: string;
  type: string;
  id: string;
  operation: OutboxRow['operation'];
  base_version: number;
  timestamp: string;
  attempts: number;
  state: OutboxRow['state'];
  error: string | null;
  body: string | null;
}

const toEntity = (r: EntityRecord): EntityRow => ({
  type: r.type,
  id: r.id,
  version: r.version,
  deleted: r.deleted === 1,
  body: r.body,
  ...(r.fields === null ? {} : { fields: JSON.parse(r.fields) as Record<string, IndexValue> }),
});

const toOutbox = (r: OutboxRecord): OutboxRow => ({
  seq: r.seq,
  mutationId: r.mutation_id,
  type: r.type,
  id: r.id,
  operation: r.operation,
  baseVersion: r.base_version,
  timestamp: r.timestamp,
  attempts: r.attempts,
  state: r.state,
  error: r.error,
  body: r.body,
});

/** Opens (creating it on first use) the SQLite file at `path` as a LocalStore. */
export function sqliteStorage(path: string, options: SqliteStorageOptions = {}): LocalStore {
  const db = new BetterSqlite3(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? sqliteStorageDefaults.busyTimeoutMs}`);
    migrate(db);
    ensureQueryTables(db);
  } catch (error) {
    db.close();
    throw error;
  }

  const sql = {
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    getEntity: db.prepare<[string, string], EntityRecord>(
      'SELECT type, id, version, deleted, body, fields FROM entities WHERE type = ? AND id = ?',
    ),
    listEntities: db.prepare<[string], EntityRecord>(
      'SELECT type, id, version, deleted, body, fields FROM entities WHERE type = ? ORDER BY id',
    ),
    listOutbox: db.prepare<[], OutboxRecord>('SELECT * FROM outbox ORDER BY seq'),
    listConflicts: db.prepare<[], ConflictRow>('SELECT id, body FROM conflicts ORDER BY id'),
    removeEntity: db.prepare('DELETE FROM entities WHERE type = ? AND id = ?'),
    clearEntities: db.prepare('DELETE FROM entities'),
    putOutbox: db.prepare(
      `INSERT OR REPLACE INTO outbox (seq, mutation_id, type, id, operation, base_version,
         timestamp, attempts, state, error, body)
       VALUES (@seq, @mutationId, @type, @id, @operation, @baseVersion, @timestamp, @attempts,
         @state, @error, @body)`,
    ),
    removeOutbox: db.prepare('DELETE FROM outbox WHERE seq = ?'),
    putConflict: db.prepare('INSERT OR REPLACE INTO conflicts (id, body) VALUES (@id, @body)'),
    removeConflict: db.prepare('DELETE FROM conflicts WHERE id = ?'),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    removeMeta: db.prepare('DELETE FROM meta WHERE key = ?'),
    maxSeq: db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM outbox'),
  };

  const indexed = indexStatements(db);
  const puts = entityPuts(db, indexed);
  /** Prepared once per query shape: the SQL depends on the fields and operators, not values. */
  const queries = new Map<string, BetterSqlite3.Statement<unknown[], EntityRecord>>();

  const readCount = (key: string): number => {
    const parsed = Number(sql.getMeta.get(key)?.value ?? 0);
    return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 0;
  };

  function apply(write: Exclude<StorageWrite, { kind: 'appendOutbox' }>): void {
    switch (write.kind) {
      case 'putEntity': {
        const one = puts.begin();
        one.add(write.row, write.compounds);
        one.flush();
        return;
      }
      case 'removeEntity':
        sql.removeEntity.run(write.type, write.id);
        indexed.remove(write.type, write.id);
        return;
      case 'clearEntities':
        sql.clearEntities.run();
        indexed.clear();
        return;
      case 'putOutbox': {
        const { seq, mutationId, type, id, operation, baseVersion } = write.row;
        const { timestamp, attempts, state, error, body } = write.row;
        sql.putOutbox.run({
          seq,
          mutationId,
          type,
          id,
          operation,
          baseVersion,
          timestamp,
          attempts,
          state,
          error,
          body,
        });
        return;
      }
      case 'removeOutbox':
        sql.removeOutbox.run(write.seq);
        return;
      case 'putConflict':
        sql.putConflict.run({ id: write.row.id, body: write.row.body });
        return;
      case 'removeConflict':
        sql.removeConflict.run(write.id);
        return;
      case 'setMeta':
        if (write.value === null) sql.removeMeta.run(write.key);
        else sql.setMeta.run(write.key, write.value);
        return;
    }
  }

  // IMMEDIATE takes the write lock up front, so a second connection waits instead of failing
  // midway with SQLITE_BUSY, and the revision read here cannot move before COMMIT; a throw inside
  // rolls the transaction back.
  const writeAll = db.transaction(
    (writes: readonly StorageWrite[], ifRevision: number | undefined): WriteResult => {
      const revision = readCount(revisionKey);
      if (ifRevision !== undefined && ifRevision !== revision) {
        throw new LocalStoreChangedError(ifRevision, revision);
      }
      if (writes.length === 0) return { revision, appended: [] };
      let lastSeq = Math.max(readCount(lastSeqKey), sql.maxSeq.get()?.seq ?? 0);
      const appended: number[] = [];
      const rows = puts.begin();
      for (const write of writes) {
        assertStorageWrite(write);
        // A run of entity rows (a pulled page) goes in many rows to a statement; anything else
        // applies after the rows before it.
        if (write.kind === 'putEntity') {
          rows.add(write.row, write.compounds);
          continue;
        }
        rows.flush();
        if (write.kind === 'appendOutbox') {
          lastSeq += 1;
          appended.push(lastSeq);
          apply({ kind: 'putOutbox', row: { ...write.row, seq: lastSeq } });
          continue;
        }
        if (write.kind === 'putOutbox') lastSeq = Math.max(lastSeq, write.row.seq);
        apply(write);
      }
      rows.flush();
      sql.setMeta.run(lastSeqKey, String(lastSeq));
      sql.setMeta.run(revisionKey, String(revision + 1));
      return { revision: revision + 1, appended };
    },
  ).immediate;

  let closed = false;
  const open = () => {
    if (closed) throw new LocalStoreClosedError();
  };

  // ---- exclusive: a lease row per name -------------------------------------------------------
  const holder = randomUUID();
  const sections = new InProcessLocks();
  const renewals = new Set<ReturnType<typeof setInterval>>();
  const held = new Set<string>();
  const leaseMs = options.leaseMs ?? sqliteStorageDefaults.leaseMs;
  const readLease = (name: string): Lease | undefined => {
    const text = sql.getMeta.get(leaseKey(name))?.value;
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as Lease;
    } catch {
      return undefined;
    }
  };
  /** Takes or renews the lease when it is free, expired or ours; says whether it is ours now. */
  const claim = db.transaction((name: string): boolean => {
    const lease = readLease(name);
    const now = Date.now();
    if (lease && lease.holder !== holder && lease.expiresAt > now) return false;
    const next: Lease = { holder, expiresAt: now + leaseMs };
    sql.setMeta.run(leaseKey(name), JSON.stringify(next));
    return true;
  }).immediate;
  const release = db.transaction((name: string) => {
    if (readLease(name)?.holder === holder) sql.removeMeta.run(leaseKey(name));
  }).immediate;

  const acquire = async (name: string) => {
    for (let attempt = 0; ; attempt++) {
      open();
      // A plain read first: polling must not take the write lock while the lease is clearly held.
      const lease = readLease(name);
      if (!lease || lease.holder === holder || lease.expiresAt <= Date.now()) {
        if (claim(name)) return;
      }
      await sleep(leasePollMs(attempt));
    }
  };

  // ---- watch: other connections' commits move PRAGMA data_version ------------------------------
  const listeners = new WatchListeners();
  let watchTimer: ReturnType<typeof setInterval> | undefined;
  let dataVersion = 0;
  const readDataVersion = () => db.pragma('data_version', { simple: true }) as number;
  const startWatching = () => {
    if (watchTimer || closed) return;
    dataVersion = readDataVersion();
    watchTimer = setInterval(() => {
      if (closed) return;
      const now = readDataVersion();
      if (now === dataVersion) return;
      dataVersion = now;
      listeners.notify();
    }, options.watchIntervalMs ?? sqliteStorageDefaults.watchIntervalMs);
    watchTimer.unref?.();
  };
  const stopWatching = () => {
    if (watchTimer) clearInterval(watchTimer);
    watchTimer = undefined;
  };

  return {
    async getMeta(key) {
      open();
      return sql.getMeta.get(key)?.value;
    },
    async getEntity(type, id) {
      open();
      const record = sql.getEntity.get(type, id);
      return record && toEntity(record);
    },
    async listEntities(type) {
      open();
      return sql.listEntities.all(type).map(toEntity);
    },
    async queryEntities(type, query) {
      open();
      const { sql: text, params } = querySql(type, query);
      let statement = queries.get(text);
      if (!statement) {
        statement = db.prepare<unknown[], EntityRecord>(text);
        queries.set(text, statement);
      }
      return statement.all(...params).map(toEntity);
    },
    async listOutbox() {
      open();
      return sql.listOutbox.all().map(toOutbox);
    },
    async listConflicts() {
      open();
      return sql.listConflicts.all().map((r) => ({ id: r.id, body: r.body }));
    },
    async revision() {
      open();
      return readCount(revisionKey);
    },
    // Runs synchronously when called, so concurrent write() calls apply in call order.
    async write(writes, options = {}) {
      open();
      const result = writeAll(writes, options.ifRevision);
      if (writes.length > 0) listeners.notify();
      return result;
    },
    exclusive(name, fn) {
      return sections.run(name, async () => {
        await acquire(name);
        held.add(name);
        const renewal = setInterval(() => {
          try {
            if (!closed) claim(name);
          } catch {
            // A busy file: the next renewal tries again, well before the lease runs out.
          }
        }, leaseMs / 3);
        renewal.unref?.();
        renewals.add(renewal);
        try {
          return await fn();
        } finally {
          clearInterval(renewal);
          renewals.delete(renewal);
          held.delete(name);
          if (!closed) release(name);
        }
      });
    },
    watch(listener) {
      const unsubscribe = listeners.add(listener);
      startWatching();
      return () => {
        unsubscribe();
        if (listeners.size === 0) stopWatching();
      };
    },
    async close() {
      if (closed) return;
      for (const name of held) release(name);
      for (const renewal of renewals) clearInterval(renewal);
      stopWatching();
      closed = true;
      db.close();
    },
  };
}

/** An entity row to put, with its collection's declared compounds. */
interface Put {
  row: EntityRow;
  compounds: readonly CompoundIndex[] | undefined;
}

/** Entity rows to a multi-row statement: each run of better-sqlite3 costs as much as many rows. */
const PUT_ROWS = 100;
const PUT_COLUMNS = 6;

/**
 * Writes entity rows PUT_ROWS to an INSERT, their old indexed values removed by one DELETE per
 * batch. `begin()` starts one write() call's collection: a refused call leaves nothing behind
 * for the next. A key met twice writes what came before it first, so the later row wins as it
 * would one at a time. Used inside a write transaction only.
 */
function entityPuts(db: BetterSqlite3.Database, indexed: ReturnType<typeof indexStatements>) {
  const values = (rows: number, columns: number) =>
    Array.from({ length: rows }, () => `(${Array(columns).fill('?').join(', ')})`).join(', ');
  const statements = (rows: number) => ({
    insert: db.prepare(
      `INSERT OR REPLACE INTO entities (type, id, version, deleted, body, fields)
       VALUES ${values(rows, PUT_COLUMNS)}`,
    ),
    unindex: db.prepare(
      `DELETE FROM entity_fields WHERE (type, id) IN (VALUES ${values(rows, 2)})`,
    ),
    unpair: db.prepare(`DELETE FROM entity_pairs WHERE (type, id) IN (VALUES ${values(rows, 2)})`),
  });
  const full = statements(PUT_ROWS);
  const single = statements(1);

  const write = (batch: readonly Put[]) => {
    if (batch.length !== PUT_ROWS && batch.length !== 1) {
      for (const put of batch) write([put]);
      return;
    }
    const params: unknown[] = [];
    const keys: string[] = [];
    for (const { row } of batch) {
      const fields = row.fields === undefined ? null : JSON.stringify(row.fields);
      params.push(row.type, row.id, row.version, row.deleted ? 1 : 0, row.body, fields);
      keys.push(row.type, row.id);
    }
    const run = batch.length === PUT_ROWS ? full : single;
    run.insert.run(params);
    run.unindex.run(keys);
    run.unpair.run(keys);
    for (const { row, compounds } of batch) indexed.add(row, compounds);
  };

  return {
    begin() {
      let rows: Put[] = [];
      const keys = new Set<string>();
      const flush = (): void => {
        if (rows.length === 0) return;
        const batch = rows;
        rows = [];
        keys.clear();
        write(batch);
      };
      const add = (row: EntityRow, compounds?: readonly CompoundIndex[]): void => {
        const key = `${row.type}\u0000${row.id}`;
        if (keys.has(key)) flush();
        rows.push({ row, compounds });
        keys.add(key);
        if (rows.length === PUT_ROWS) flush();
      };
      return { add, flush };
    },
  };
}

function migrate(db: BetterSqlite3.Database): void {
  const check = () => {
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > schemaVersion) {
      throw new Error(
        `This SQLite file has local-store schema ${found}; this version of Syncline reads schema ${schemaVersion}. Update the app.`,
      );
    }
    return found === schemaVersion;
  };
  if (check()) return;
  // Looked at again under the write lock: another process may have created the schema meanwhile.
  db.transaction(() => {
    if (check()) return;
    db.exec(schema);
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}
