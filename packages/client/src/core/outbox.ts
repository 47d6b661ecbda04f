// The outbox: local changes waiting for the server, drained FIFO by `seq`. The rows live in the
// LocalStore; this mirror keeps them in memory so that every read can rebase without a storage
// scan. The mirror follows the writes the client commits (`observe`), never the other way round.
import { OutboxState, type LocalStore, type OutboxRow, type StorageWrite } from './ports.js';

const LAST_SEQ = 'outbox.lastSeq';

export class Outbox {
  private rows = new Map<number, OutboxRow>();
  private lastSeq = 0;

  static async load(storage: LocalStore): Promise<Outbox> {
    const outbox = new Outbox();
    // The Map keeps insertion order: loaded in seq order, and every new row has a higher seq.
    const rows = (await storage.listOutbox()).sort((a, b) => a.seq - b.seq);
    for (const row of rows) outbox.rows.set(row.seq, row);
    const stored = Number((await storage.getMeta(LAST_SEQ)) ?? 0);
    const highest = Math.max(0, ...outbox.rows.keys());
    outbox.lastSeq = Math.max(Number.isFinite(stored) ? stored : 0, highest);
    return outbox;
  }

  /** The writes that queue a new row; `seq` is reserved now, so call it inside the write lock. */
  add(row: Omit<OutboxRow, 'seq'>): { row: OutboxRow; writes: StorageWrite[] } {
    const seq = this.lastSeq + 1;
    const full: OutboxRow = { ...row, seq };
    return {
      row: full,
      writes: [
        { kind: 'putOutbox', row: full },
        { kind: 'setMeta', key: LAST_SEQ, value: String(seq) },
      ],
    };
  }

  /** Brings the mirror in step with writes that the storage has committed. */
  observe(writes: readonly StorageWrite[]): void {
    for (const write of writes) {
      if (write.kind === 'putOutbox') this.rows.set(write.row.seq, write.row);
      else if (write.kind === 'removeOutbox') this.rows.delete(write.seq);
      else if (write.kind === 'setMeta' && write.key === LAST_SEQ && write.value !== null)
        this.lastSeq = Math.max(this.lastSeq, Number(write.value));
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
