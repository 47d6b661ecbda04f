// Copies of rows with exactly the port's fields: what an adapter stores and hands back is never
// the caller's object, and carries no field the port does not name.
import type { ConflictRow, EntityRow, OutboxRow } from '../core/ports.js';

export function copyEntity(row: EntityRow): EntityRow {
  const copy: EntityRow = {
    type: row.type,
    id: row.id,
    version: row.version,
    deleted: row.deleted,
    body: row.body,
  };
  if (row.fields !== undefined) copy.fields = { ...row.fields };
  return copy;
}

export function copyOutbox(row: OutboxRow): OutboxRow {
  return {
    seq: row.seq,
    mutationId: row.mutationId,
    type: row.type,
    id: row.id,
    operation: row.operation,
    baseVersion: row.baseVersion,
    timestamp: row.timestamp,
    attempts: row.attempts,
    state: row.state,
    error: row.error,
    body: row.body,
  };
}

export function copyConflict(row: ConflictRow): ConflictRow {
  return { id: row.id, body: row.body };
}

/** An `appendOutbox` row with the seq the storage gave it. */
export function appendedOutbox(row: Omit<OutboxRow, 'seq'>, seq: number): OutboxRow {
  return copyOutbox({ ...row, seq });
}
