// The outbox: local changes waiting for the server, drained FIFO by `seq`. The rows live in the
// LocalStore, which gives each new row its seq inside the write's transaction, so that any number
// of writers share one sequence. This mirror keeps them in memory so that every read can rebase
// without a storage scan; it follows the writes the client commits (`observe`), and is loaded
// afresh (`replace`) whenever another writer changed the storage.
import {
  OutboxState,
  type LocalStore,
  type OutboxRow,
  type StorageWrite,
  type WriteResult,
} from './ports.js';

export class Outbox {
  private rows = new Map<number, OutboxRow>();

  static async load(storage: LocalStore): Promise<Outbox> {
    const outbox = new Outbox();
    outbox.replace(await storage.listOutbox());
    return outbox;
  }

  /** The write that queues a new row; the storage gives it its seq. */
  static append(row: Omit<OutboxRow, 'seq'>): StorageWrite {
    return { kind: 'appendOutbox', row };
  }

  /** Takes the rows as the storage holds them now. */
  replace(rows: readonly OutboxRow[]): void {
    // The Map keeps insertion order: loaded in seq order, and every new row has a higher seq.
    this.rows = new Map([...rows].sort((a, b) => a.seq - b.seq).map((row) => [row.seq, row]));
  }

  /** Brings the mirror in step with writes that the storage has committed. */
  observe(writes: readonly StorageWrite[], result: WriteResult): void {
    let appended = 0;
    for (const write of writes) {
      if (write.kind === 'putOutbox') this.rows.set(write.row.seq, write.row);
      else if (write.kind === 'removeOutbox') this.rows.delete(write.seq);
      else if (write.kind === 'appendOutbox') {
        const seq = result.appended[appended++];
        if (seq !== undefined) this.rows.set(seq, { ...write.row, seq });
      }
    }
  }

  /** Every row, oldest first. */
  all(): OutboxRow[] {
    return [...this.rows.values()];
  }

  pending(): OutboxRow[] {
    return [...this.rows.values()].filter((row) => row.state === OutboxState.PENDING);
  }

  failed(): OutboxRow[] {
    return this.all().filter((row) => row.state === OutboxState.FAILED);
  }

  /** The rows of one entity, oldest first: what a read replays over the confirmed state. */
  forEntity(type: string, id: string): OutboxRow[] {
    return this.all().filter((row) => row.type === type && row.id === id);
  }

  forType(type: string): OutboxRow[] {
    return this.all().filter((row) => row.type === type);
  }

  get(seq: number): OutboxRow | undefined {
    return this.rows.get(seq);
  }

  byMutationId(mutationId: string): OutboxRow | undefined {
    for (const row of this.rows.values()) if (row.mutationId === mutationId) return row;
    return undefined;
  }
}
