// A LocalStore in a SQLite file through better-sqlite3, for Node and Electron. WAL with
// synchronous=FULL: a write() is one SQLite transaction, durable once its promise resolves; an item
// that fails rolls the whole call back.
import BetterSqlite3 from 'better-sqlite3';
import type {
  ConflictRow,
  EntityRow,
  LocalStore,
  OutboxRow,
  StorageWrite,
} from '../../core/ports.js';
import { assertStorageWrite, LocalStoreClosedError } from '../validate-write.js';

export interface SqliteStorageOptions {
  /** How long a write waits for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
}

export const sqliteStorageDefaults = { busyTimeoutMs: 5000 } as const;

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
  } catch (error) {
    db.close();
    throw error;
  }

  const sql = {
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    getEntity: db.prepare<[string, string], EntityRecord>(
      'SELECT type, id, version, deleted, body FROM entities WHERE type = ? AND id = ?',
    ),
    listEntities: db.prepare<[string], EntityRecord>(
      'SELECT type, id, version, deleted, body FROM entities WHERE type = ? ORDER BY id',
    ),
    listOutbox: db.prepare<[], OutboxRecord>('SELECT * FROM outbox ORDER BY seq'),
    listConflicts: db.prepare<[], ConflictRow>('SELECT id, body FROM conflicts ORDER BY id'),
    putEntity: db.prepare(
      `INSERT OR REPLACE INTO entities (type, id, version, deleted, body)
       VALUES (@type, @id, @version, @deleted, @body)`,
    ),
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
  };

  function apply(write: StorageWrite): void {
    switch (write.kind) {
      case 'putEntity': {
        const { type, id, version, deleted, body } = write.row;
        sql.putEntity.run({ type, id, version, deleted: deleted ? 1 : 0, body });
        return;
      }
      case 'removeEntity':
        sql.removeEntity.run(write.type, write.id);
        return;
      case 'clearEntities':
        sql.clearEntities.run();
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
  // midway with SQLITE_BUSY; a throw inside rolls the transaction back.
  const writeAll = db.transaction((writes: readonly StorageWrite[]) => {
    for (const write of writes) {
      assertStorageWrite(write);
      apply(write);
    }
  }).immediate;

  let closed = false;
  const open = () => {
    if (closed) throw new LocalStoreClosedError();
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
    async listOutbox() {
      open();
      return sql.listOutbox.all().map(toOutbox);
    },
    async listConflicts() {
      open();
      return sql.listConflicts.all().map((r) => ({ id: r.id, body: r.body }));
    },
    // Runs synchronously when called, so concurrent write() calls apply in call order.
    async write(writes) {
      open();
      writeAll(writes);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

function migrate(db: BetterSqlite3.Database): void {
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found === schemaVersion) return;
  if (found > schemaVersion) {
    throw new Error(
      `This SQLite file has local-store schema ${found}; this version of Syncline reads schema ${schemaVersion}. Update the app.`,
    );
  }
  db.transaction(() => {
    db.exec(schema);
    db.pragma(`user_version = ${schemaVersion}`);
  }).immediate();
}
