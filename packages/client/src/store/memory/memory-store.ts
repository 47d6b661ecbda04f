// A LocalStore held in memory: nothing survives the process. For tests, server-side rendering and
// apps that do not need offline durability. write() stages its changes on copies and swaps them in
// only when every item applied, so a failing item leaves the store as it was.
import type {
  ConflictRow,
  EntityRow,
  LocalStore,
  OutboxRow,
  StorageWrite,
} from '../../core/ports.js';
import { copyConflict, copyEntity, copyOutbox } from '../rows.js';
import { assertStorageWrite, LocalStoreClosedError } from '../validate-write.js';

interface MemoryState {
  /** Entities by type, then by id. */
  entities: Map<string, Map<string, EntityRow>>;
  outbox: Map<number, OutboxRow>;
  conflicts: Map<string, ConflictRow>;
  meta: Map<string, string>;
}

const byNumber = (a: number, b: number) => a - b;
// Ids sort by UTF-16 code units, the order IndexedDB gives string keys and SQLite's BINARY
// collation gives strings of the Basic Multilingual Plane.
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Creates an empty in-memory LocalStore. */
export function memoryStorage(): LocalStore {
  let state: MemoryState = {
    entities: new Map(),
    outbox: new Map(),
    conflicts: new Map(),
    meta: new Map(),
  };
  let closed = false;

  const current = (): MemoryState => {
    if (closed) throw new LocalStoreClosedError();
    return state;
  };

  return {
    async getMeta(key) {
      return current().meta.get(key);
    },
    async getEntity(type, id) {
      const row = current().entities.get(type)?.get(id);
      return row && copyEntity(row);
    },
    async listEntities(type) {
      const rows = current().entities.get(type);
      if (!rows) return [];
      return [...rows.keys()].sort(byString).map((id) => copyEntity(rows.get(id)!));
    },
    async listOutbox() {
      const { outbox } = current();
      return [...outbox.keys()].sort(byNumber).map((seq) => copyOutbox(outbox.get(seq)!));
    },
    async listConflicts() {
      const { conflicts } = current();
      return [...conflicts.keys()].sort(byString).map((id) => copyConflict(conflicts.get(id)!));
    },
    async write(writes: readonly StorageWrite[]) {
      const staged = new StagedState(current());
      for (const write of writes) {
        assertStorageWrite(write);
        staged.apply(write);
      }
      state = staged.next;
    },
    async close() {
      closed = true;
    },
  };
}

/** A copy-on-write view of the state: each map is copied the first time a write touches it. */
class StagedState {
  readonly next: MemoryState;
  readonly #copied = new Set<string>();

  constructor(base: MemoryState) {
    this.next = { ...base };
  }

  apply(write: StorageWrite): void {
    switch (write.kind) {
      case 'putEntity':
        this.#entitiesOf(write.row.type).set(write.row.id, copyEntity(write.row));
        return;
      case 'removeEntity':
        this.#entitiesOf(write.type).delete(write.id);
        return;
      case 'clearEntities':
        this.next.entities = new Map();
        this.#copied.clear();
        this.#copied.add('entities');
        return;
      case 'putOutbox':
        this.#outbox().set(write.row.seq, copyOutbox(write.row));
        return;
      case 'removeOutbox':
        this.#outbox().delete(write.seq);
        return;
      case 'putConflict':
        this.#conflicts().set(write.row.id, copyConflict(write.row));
        return;
      case 'removeConflict':
        this.#conflicts().delete(write.id);
        return;
      case 'setMeta':
        if (write.value === null) this.#meta().delete(write.key);
        else this.#meta().set(write.key, write.value);
        return;
    }
  }

  #firstTouch(name: string): boolean {
    if (this.#copied.has(name)) return false;
    this.#copied.add(name);
    return true;
  }

  #entitiesOf(type: string): Map<string, EntityRow> {
    if (this.#firstTouch('entities')) this.next.entities = new Map(this.next.entities);
    if (this.#firstTouch(`entities:${type}`)) {
      this.next.entities.set(type, new Map(this.next.entities.get(type)));
    }
    return this.next.entities.get(type)!;
  }

  #outbox(): Map<number, OutboxRow> {
    if (this.#firstTouch('outbox')) this.next.outbox = new Map(this.next.outbox);
    return this.next.outbox;
  }

  #conflicts(): Map<string, ConflictRow> {
    if (this.#firstTouch('conflicts')) this.next.conflicts = new Map(this.next.conflicts);
    return this.next.conflicts;
  }

  #meta(): Map<string, string> {
    if (this.#firstTouch('meta')) this.next.meta = new Map(this.next.meta);
    return this.next.meta;
  }
}
