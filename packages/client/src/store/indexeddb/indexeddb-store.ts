// A LocalStore in the browser's IndexedDB (through idb). Each write() is one readwrite transaction
// over every object store, with strict durability: it resolves only once the transaction has
// committed to disk, and an item that fails aborts the transaction and with it the whole call.
// IndexedDB runs readwrite transactions over the same stores one at a time across every
// connection, so the revision and the outbox counter, read and bumped inside each transaction,
// are shared by all tabs. Tabs hear of each other's writes on a BroadcastChannel and take turns in
// `exclusive` through Web Locks.
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import {
  LocalStoreChangedError,
  type ConflictRow,
  type LocalStore,
  type OutboxRow,
  type StorageWrite,
  type WriteOptions,
  type WriteResult,
} from '../../core/ports.js';
import { InProcessLocks } from '../in-process-lock.js';
import {
  fieldsIndex,
  queryIndexedEntities,
  toRecord,
  type EntityRecord,
  type EntityStore,
} from './indexeddb-query.js';
import { appendedOutbox, copyConflict, copyEntity, copyOutbox } from '../rows.js';
import { adapterMetaPrefix, assertStorageWrite, LocalStoreClosedError } from '../validate-write.js';
import { WatchListeners } from '../watch-listeners.js';

export interface IndexedDbStorageOptions {
  /**
   * Called when another tab upgrades or deletes this database: the store has closed itself so that
   * the other tab is not blocked. The app typically reloads.
   */
  onVersionChange?: () => void;
}

interface LocalDbSchema extends DBSchema {
  /** Keyed by [type, id], so one type's rows are a contiguous key range in id order. */
  entities: { key: [string, string]; value: EntityRecord; indexes: { fields: string } };
  outbox: { key: number; value: OutboxRow };
  conflicts: { key: string; value: ConflictRow };
  meta: { key: string; value: { key: string; value: string } };
}

type StoreName = 'entities' | 'outbox' | 'conflicts' | 'meta';
const storeNames: StoreName[] = ['entities', 'outbox', 'conflicts', 'meta'];
type WriteTx = IDBPTransaction<LocalDbSchema, StoreName[], 'readwrite'>;

/**
 * 1: the four stores; 2: the entities' 'fields' index (indexed queries); 3: its keys as strings,
 * with every pair of fields; 4: pairs only for the compounds a collection declares.
 */
const schemaVersion = 4;

const revisionKey = `${adapterMetaPrefix}revision`;
const lastSeqKey = `${adapterMetaPrefix}outbox.lastSeq`;

/** Web Locks where the platform has them (browsers, workers); structurally typed. */
interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}
const webLocks = (): LockManagerLike | undefined =>
  (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;

/**
 * Without Web Locks (Node with an IndexedDB shim, old browsers) `exclusive` holds among the
 * instances of this JavaScript realm only.
 */
const realmLocks = new InProcessLocks();

const count = (value: string | undefined): number => {
  const parsed = Number(value ?? 0);
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 0;
};
/**
 * The IndexedDB database `name` (created on first use) as a LocalStore. The database opens in the
 * background; every call waits for it, and an open that fails rejects every call with its error.
 */
export function indexedDbStorage(name: string, options: IndexedDbStorageOptions = {}): LocalStore {
  let closed = false;
  let db: IDBPDatabase<LocalDbSchema> | undefined;
  const opening = openDB<LocalDbSchema>(name, schemaVersion, {
    upgrade(database, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        database.createObjectStore('entities', { keyPath: ['type', 'id'] });
        database.createObjectStore('outbox', { keyPath: 'seq' });
        database.createObjectStore('conflicts', { keyPath: 'id' });
        database.createObjectStore('meta', { keyPath: 'key' });
      }
      if (oldVersion < 2) {
        // Rows written before have no index keys; the sync core indexes them again on open.
        tx.objectStore('entities').createIndex(fieldsIndex, 'ix', { multiEntry: true });
      }
      if (oldVersion >= 1 && oldVersion < 4) {
        // Indexed rows get their keys anew, in this upgrade: no query sees a row without them.
        // One key per field, no pairs: no earlier version could declare a compound, so one the
        // app declares now differs from the declaration kept in meta, and the core writes the
        // rows again with its keys before any query.
        return rewriteIndexKeys(tx.objectStore('entities'));
      }
    },
    blocking() {
      closed = true;
      db?.close();
      options.onVersionChange?.();
    },
  }).then((opened) => {
    db = opened;
    if (closed) opened.close();
    return opened;
  });
  // A store nobody uses must not report its failed open as an unhandled rejection.
  opening.catch(() => undefined);

  const open = async (): Promise<IDBPDatabase<LocalDbSchema>> => {
    if (closed) throw new LocalStoreClosedError();
    const database = db ?? (await opening);
    if (closed) throw new LocalStoreClosedError();
    return database;
  };

  const listeners = new WatchListeners();
  // Other tabs' writes arrive here; the channel opens with the first watch or write.
  let channel: BroadcastChannel | undefined;
  const openChannel = () => {
    if (channel || closed || typeof BroadcastChannel !== 'function') return channel;
    channel = new BroadcastChannel(`syncline-store:${name}`);
    channel.onmessage = () => listeners.notify();
    // Node's channel would keep the process alive; browsers have no unref.
    (channel as { unref?: () => void }).unref?.();
    return channel;
  };

  // Transactions over the same stores run in the order they were created. Once the database is
  // open, write() creates its transaction synchronously; before that, writes wait on the same
  // promise and resume in call order. Either way concurrent write() calls apply in call order.
  const writeIn = (
    database: IDBPDatabase<LocalDbSchema>,
    writes: readonly StorageWrite[],
    options: WriteOptions,
  ): Promise<WriteResult> => {
    const tx = database.transaction(storeNames, 'readwrite', { durability: 'strict' });
    const meta = tx.objectStore('meta');
    const requests: Promise<unknown>[] = [];
    // Only IndexedDB requests are awaited in here: anything else would let the transaction commit.
    const apply = async (): Promise<WriteResult> => {
      const revision = count((await meta.get(revisionKey))?.value);
      if (options.ifRevision !== undefined && options.ifRevision !== revision) {
        throw new LocalStoreChangedError(options.ifRevision, revision);
      }
      if (writes.length === 0) return { revision, appended: [] };
      let lastSeq = count((await meta.get(lastSeqKey))?.value);
      const highest = await tx.objectStore('outbox').openCursor(null, 'prev');
      lastSeq = Math.max(lastSeq, highest ? Number(highest.key) : 0);
      const appended: number[] = [];
      for (const item of writes) {
        assertStorageWrite(item);
        if (item.kind === 'appendOutbox') {
          lastSeq += 1;
          appended.push(lastSeq);
          requests.push(tx.objectStore('outbox').put(appendedOutbox(item.row, lastSeq)));
          continue;
        }
        if (item.kind === 'putOutbox') lastSeq = Math.max(lastSeq, item.row.seq);
        requests.push(applyWrite(tx, item));
      }
      requests.push(meta.put({ key: lastSeqKey, value: String(lastSeq) }));
      requests.push(meta.put({ key: revisionKey, value: String(revision + 1) }));
      await Promise.all(requests);
      return { revision: revision + 1, appended };
    };
    const applied = apply();
    return applied.then(
      async (result) => {
        await tx.done;
        if (writes.length > 0) {
          listeners.notify();
          openChannel()?.postMessage(result.revision);
        }
        return result;
      },
      (error: unknown) => {
        // The aborted transaction's requests reject too; the first failure is the answer.
        try {
          tx.abort();
        } catch {
          // Already finished: a failed request aborts the transaction by itself.
        }
        void Promise.allSettled([tx.done, ...requests]);
        throw error;
      },
    );
  };

  return {
    async getMeta(key) {
      return (await (await open()).get('meta', key))?.value;
    },
    async getEntity(type, id) {
      const row = await (await open()).get('entities', [type, id]);
      return row && copyEntity(row);
    },
    async listEntities(type) {
      // [type] sorts before every [type, id] and [type, []] after them: arrays follow strings.
      const range = IDBKeyRange.bound([type], [type, []]);
      return (await (await open()).getAll('entities', range)).map(copyEntity);
    },
    async queryEntities(type, query) {
      const tx = (await open()).transaction('entities', 'readonly');
      const rows = await queryIndexedEntities(
        tx.objectStore('entities') as unknown as EntityStore,
        type,
        query,
      );
      return rows.map(copyEntity);
    },
    async listOutbox() {
      return (await (await open()).getAll('outbox')).map(copyOutbox);
    },
    async listConflicts() {
      return (await (await open()).getAll('conflicts')).map(copyConflict);
    },
    async revision() {
      return count((await (await open()).get('meta', revisionKey))?.value);
    },
    write(writes, options = {}) {
      if (closed) return Promise.reject(new LocalStoreClosedError());
      if (db) {
        try {
          return writeIn(db, writes, options);
        } catch (error) {
          return Promise.reject(error);
        }
      }
      return open().then((database) => writeIn(database, writes, options));
    },
    async exclusive(lockName, fn) {
      await open();
      const key = `syncline:${name}:${lockName}`;
      const locks = webLocks();
      return locks ? locks.request(key, fn) : realmLocks.run(key, fn);
    },
    watch(listener) {
      openChannel();
      return listeners.add(listener);
    },
    async close() {
      closed = true;
      channel?.close();
      channel = undefined;
      db?.close();
    },
  };
}

/** Stores every indexed row again with its index keys (toRecord), one cursor step each. */
async function rewriteIndexKeys(entities: {
  openCursor(): Promise<{
    value: EntityRecord;
    update(value: EntityRecord): Promise<unknown>;
    continue(): Promise<unknown>;
  } | null>;
}): Promise<void> {
  let cursor = await entities.openCursor();
  while (cursor) {
    if (cursor.value.fields && !cursor.value.deleted) await cursor.update(toRecord(cursor.value));
    cursor = (await cursor.continue()) as typeof cursor;
  }
}

function applyWrite(
  tx: WriteTx,
  write: Exclude<StorageWrite, { kind: 'appendOutbox' }>,
): Promise<unknown> {
  switch (write.kind) {
    case 'putEntity':
      return tx.objectStore('entities').put(toRecord(copyEntity(write.row), write.compounds));
    case 'removeEntity':
      return tx.objectStore('entities').delete([write.type, write.id]);
    case 'clearEntities':
      return tx.objectStore('entities').clear();
    case 'putOutbox':
      return tx.objectStore('outbox').put(copyOutbox(write.row));
    case 'removeOutbox':
      return tx.objectStore('outbox').delete(write.seq);
    case 'putConflict':
      return tx.objectStore('conflicts').put(copyConflict(write.row));
    case 'removeConflict':
      return tx.objectStore('conflicts').delete(write.id);
    case 'setMeta':
      return write.value === null
        ? tx.objectStore('meta').delete(write.key)
        : tx.objectStore('meta').put({ key: write.key, value: write.value });
  }
}
