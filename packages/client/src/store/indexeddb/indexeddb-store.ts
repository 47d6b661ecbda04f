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

/** Opens (creating it on first use) the IndexedDB database `name` as a LocalStore. */
export async function indexedDbStorage(
  name: string,
  options: IndexedDbStorageOptions = {},
): Promise<LocalStore> {
  let closed = false;
  const db: IDBPDatabase<LocalDbSchema> = await openDB<LocalDbSchema>(name, schemaVersion, {
    upgrade(database) {
      database.createObjectStore('entities', { keyPath: ['type', 'id'] });
      database.createObjectStore('outbox', { keyPath: 'seq' });
      database.createObjectStore('conflicts', { keyPath: 'id' });
      database.createObjectStore('meta', { keyPath: 'key' });
    },
    blocking() {
      closed = true;
      db.close();
      options.onVersionChange?.();
    },
  });

  const open = (): IDBPDatabase<LocalDbSchema> => {
    if (closed) throw new LocalStoreClosedError();
    return db;
  };

  return {
    async getMeta(key) {
      return (await open().get('meta', key))?.value;
    },
    async getEntity(type, id) {
      const row = await open().get('entities', [type, id]);
      return row && copyEntity(row);
    },
    async listEntities(type) {
      // [type] sorts before every [type, id] and [type, []] after them: arrays follow strings.
      const range = IDBKeyRange.bound([type], [type, []]);
      return (await open().getAll('entities', range)).map(copyEntity);
    },
    async listOutbox() {
      return (await open().getAll('outbox')).map(copyOutbox);
    },
    async listConflicts() {
      return (await open().getAll('conflicts')).map(copyConflict);
    },
    // Not an async function up to the transaction: transactions over the same stores run in the
    // order they were created, so concurrent write() calls apply in call order.
    write(writes: readonly StorageWrite[]): Promise<void> {
      let tx: WriteTx;
      try {
        tx = open().transaction(storeNames, 'readwrite', { durability: 'strict' });
      } catch (error) {
        return Promise.reject(error);
      }
      const requests: Promise<unknown>[] = [];
      try {
        for (const write of writes) {
          assertStorageWrite(write);
          requests.push(applyWrite(tx, write));
        }
      } catch (error) {
        tx.abort();
        // The aborted transaction and its requests reject too; the item's error is the answer.
        void Promise.allSettled([tx.done, ...requests]);
        return Promise.reject(error);
      }
      return Promise.all([...requests, tx.done]).then(() => undefined);
    },
    async close() {
      closed = true;
      db.close();
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
