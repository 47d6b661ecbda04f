// Rebase: what a read shows is the confirmed server state with the device's own outbox replayed
// on top, oldest first. Pure functions over rows, so the same rule serves get, find and tests.
import { applyMergePatch, type JsonObject } from '@syncline/protocol';
import type { EntityRow, OutboxRow } from './ports.js';

/** The entity's data as the confirmed row holds it (undefined for a tombstone or no row). */
export function confirmedData(row: EntityRow | undefined): JsonObject | undefined {
  if (!row || row.deleted || row.body === null) return undefined;
  return JSON.parse(row.body) as JsonObject;
}

/** Replays one outbox row over `data`. */
export function replay(data: JsonObject | undefined, row: OutboxRow): JsonObject | undefined {
  const body = row.body === null ? null : (JSON.parse(row.body) as JsonObject);
  switch (row.operation) {
    case 'CREATE':
      return body ?? {};
    case 'UPDATE':
      // An update of something this device no longer sees (deleted meanwhile) shows nothing:
      // the server will settle it as a conflict.
      return data === undefined ? undefined : (applyMergePatch(data, body ?? {}) as JsonObject);
    case 'DELETE':
      return undefined;
  }
}

/** Confirmed state plus the entity's outbox rows (already filtered to it and ordered by seq). */
export function rebase(
  confirmed: EntityRow | undefined,
  outbox: readonly OutboxRow[],
): JsonObject | undefined {
  return outbox.reduce(replay, confirmedData(confirmed));
}

/**
 * The server version a new change on this entity is made on: the confirmed version moved on by
 * every queued change before it (a CREATE starts at 1, each later change adds one).
 */
export function expectedVersion(
  confirmed: EntityRow | undefined,
  outbox: readonly OutboxRow[],
): number {
  let version = confirmed?.version ?? 0;
  for (const row of outbox) version = row.operation === 'CREATE' ? 1 : version + 1;
  return version;
}
