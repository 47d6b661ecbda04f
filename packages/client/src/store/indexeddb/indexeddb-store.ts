// A LocalStore in the browser's IndexedDB (through idb). Each write() is one readwrite transaction
// over every object store, with strict durability: it resolves only once the transaction has
// committed to disk, and an item that fails aborts the transaction and with it the whole call.
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type {
  ConflictRow,
  EntityRow,
  LocalStore,
  OutboxRow,
  StorageWrite,
} from '../../core/ports.js';
import { copyConflict, copyEntity, copyOutbox } from '../rows.js';
import { assertStorageWrite, LocalStoreClosedError } from '../validate-write.js';

export interface IndexedDbStorageOptions {
  /**
   * Called when another tab upgrades or deletes this database: the store has closed itself so that
   * the other tab is not blocked. The app typically reloads.
   */
  onVersionChange?: () => void;
}

interface LocalDbSchema extends DBSchema {
  /** Keyed by [type, id], so one type's rows are a contiguous key range in id order. */
  entities: { key: [string, string]; value: EntityRow };
  outbox: { key: number; value: OutboxRow };
  conflicts: { key: string; value: ConflictRow };
  meta: { key: string; value: { key: string; value: string } };
}

type StoreName = 'entities' | 'outbox' | 'conflicts' | 'meta';
const storeNames: StoreName[] = ['entities', 'outbox', 'conflicts', 'meta'];
type WriteTx = IDBPTransaction<LocalDbSchema, StoreName[], 'readwrite'>;

const schemaVersion = 1;

/**
 * The IndexedDB database `name` (created on first use) as a LocalStore. The database opens in the
 * background; every call waits for it, and an open that fails rejects every call with its error.
 */
export function indexedDbStorage(name: string, options: IndexedDbStorageOptions = {}): LocalStore {
  let closed = false;
  let db: IDBPDatabase<LocalDbSchema> | undefined;
  const opening = openDB<LocalDbSchema>(name, schemaVersion, {
    upgrade(database) {
      database.createObjectStore('entities', { keyPath: ['type', 'id'] });
      database.createObjectStore('outbox', { keyPath: 'seq' });
      database.createObjectStore('conflicts', { keyPath: 'id' });
      database.createObjectStore('meta', { keyPath: 'key' });
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

  // Transactions over the same stores run in the order they were created. Once the database is
  // open, write() creates its transaction synchronously; before that, writes wait on the same
  // promise and resume in call order. Either way concurrent write() calls apply in call order.
  const writeIn = (database: IDBPDatabase<LocalDbSchema>, writes: readonly StorageWrite[]) => {
    const tx = database.transaction(storeNames, 'readwrite', { durability: 'strict' });
    const requests: Promise<unknown>[] = [];
    try {
      for (const item of writes) {
        assertStorageWrite(item);
        requests.push(applyWrite(tx, item));
      }
    } catch (error) {
      tx.abort();
      // The aborted transaction and its requests reject too; the item's error is the answer.
      void Promise.allSettled([tx.done, ...requests]);
      return Promise.reject(error);
    }
    return Promise.all([...requests, tx.done]).then(() => undefined);
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
    async listOutbox() {
      return (await (await open()).getAll('outbox')).map(copyOutbox);
    },
    async listConflicts() {
      return (await (await open()).getAll('conflicts')).map(copyConflict);
    },
    write(writes) {
      if (closed) return Promise.reject(new LocalStoreClosedError());
      if (db) {
        try {
          return writeIn(db, writes);
        } catch (error) {
          return Promise.reject(error);
        }
      }
      return open().then((database) => writeIn(database, writes));
    },
    async close() {
      closed = true;
      db?.close();
    },
  };
}

function applyWrite(tx: WriteTx, write: StorageWrite): Promise<unknown> {
  switch (write.kind) {
    case 'putEntity':
      return tx.objectStore('entities').put(copyEntity(write.row));
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
