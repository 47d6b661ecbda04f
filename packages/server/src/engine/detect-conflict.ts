// Conflict detection for one incoming change against the server's current state, in DESIGN.md's
// order (checksum damage is refused earlier, in validation): DUPLICATE_CREATE, DELETED,
// VERSION_MISMATCH, then the collection's time detector.
import type { ConflictType } from '@syncline/protocol';
import type { Collection } from './collections.js';
import { deepEqual } from './json.js';
import type { EntityRecord } from './ports.js';
import type { IncomingChange } from './validate-change.js';

export type Detection =
  | { kind: 'apply' }
  /** Nothing to do: the server already holds exactly this (identical create, delete of a tombstone). */
  | { kind: 'noop' }
  | { kind: 'missing' }
  | { kind: 'conflict'; type: ConflictType; fields?: string[] };

export function detectConflict(
  change: IncomingChange,
  current: EntityRecord | undefined,
  collection: Collection,
): Detection {
  if (!current) return change.operation === 'CREATE' ? { kind: 'apply' } : { kind: 'missing' };
  const tombstone = current.deletedAt !== null;
  if (change.operation === 'CREATE') {
    if (tombstone) return { kind: 'conflict', type: 'DELETED' };
    return deepEqual(current.payload, change.payload)
      ? { kind: 'noop' }
      : { kind: 'conflict', type: 'DUPLICATE_CREATE' };
  }
  if (tombstone) {
    return change.operation === 'DELETE' ? { kind: 'noop' } : { kind: 'conflict', type: 'DELETED' };
  }
  if (change.clientVersion !== current.version)
    return { kind: 'conflict', type: 'VERSION_MISMATCH' };
  const moved = movedTimeFields(change, current, collection);
  if (moved.length > 0) return { kind: 'conflict', type: 'TIME_MISMATCH', fields: moved };
  return { kind: 'apply' };
}

/** Time fields the change moves further than the collection's tolerance from the server's value. */
function movedTimeFields(
  change: IncomingChange,
  current: EntityRecord,
  collection: Collection,
): string[] {
  const detector = collection.timeDetector;
  if (!detector || change.operation !== 'UPDATE' || !change.payload || !current.payload) return [];
  return detector.fields.filter((field) => {
    if (!Object.hasOwn(change.payload ?? {}, field)) return false;
    const ours = Date.parse(String(current.payload?.[field]));
    const theirs = Date.parse(String(change.payload?.[field]));
    return (
      Number.isFinite(ours) &&
      Number.isFinite(theirs) &&
      Math.abs(ours - theirs) > detector.toleranceMs
    );
  });
}
