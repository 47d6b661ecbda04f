// A fresh device's first sync: each live entity's latest state once, read from the current-entities
// table instead of replaying every version from the feed. The snapshot pins the feed position it
// began at (H) and serves only entities whose stored version is at or below H; anything written
// after H (an update, a create, a delete) is left to the delta feed from H, which the last page's
// sync token starts at. So a write landing during the snapshot reaches the device exactly once,
// and nothing before H is missed. Pages follow (entityType, entityId) order, the table's key.
import {
  decodeSnapshotCursor,
  encodeSnapshotCursor,
  type ServerChange,
  type SnapshotRequest,
  type SnapshotResponse,
} from '@syncline/protocol';
import { isAllowed } from './access.js';
import type { Actor } from './actor.js';
import type { AccessRule, CollectionRegistry } from './collections.js';
import { SyncError } from './errors.js';
import type { Crypto, EntityCount, EntityRecord, TenantReads } from './ports.js';
import { encodeCursor, viewScope } from './sync-token.js';

/** The rule of a type the config still names; undefined for one it no longer serves (strict). */
function ruleOf(collections: CollectionRegistry, entityType: string): AccessRule | undefined {
  try {
    return collections.get(entityType).access;
  } catch (error) {
    if (error instanceof SyncError) return undefined;
    throw error;
  }
}

/** Whether the rule is the owner rule, alone or as a part: then only own entities count. */
const involvesOwner = (rule: AccessRule): boolean =>
  rule === 'owner' || (Array.isArray(rule) && rule.some(involvesOwner));

/**
 * How many entities the reader will about receive: exact for tenant and owner rules, an upper
 * bound under field rules (the claim check runs on each row as it is served).
 */
function totalFor(actor: Actor, collections: CollectionRegistry, counts: EntityCount[]): number {
  let total = 0;
  for (const { entityType, count, own } of counts) {
    const rule = ruleOf(collections, entityType);
    if (rule === undefined) continue;
    total += actor.role !== 'admin' && involvesOwner(rule) ? own : count;
  }
  return total;
}

/** An entity's latest state as the server change a device applies. */
function toSnapshotChange(entity: EntityRecord): ServerChange {
  return {
    entityType: entity.entityType,
    entityId: entity.entityId,
    operation: entity.version === 1 ? 'CREATE' : 'UPDATE',
    payload: entity.payload,
    version: entity.version,
    clientVersion: entity.version,
    timestamp: entity.updatedAt,
    updatedBy: entity.updatedBy,
    deviceId: entity.deviceId,
    checksum: entity.checksum,
    deletedAt: null,
    seq: entity.seq,
  };
}

/**
 * One snapshot page for a reader. A cursor that this server did not mint for this view, or that
 * the tenant has moved past (cache invalidation, history pruned above its position, so the delta
 * from H could miss a delete), is refused with INVALID_SNAPSHOT_CURSOR: the device begins again.
 */
export async function snapshotPage(
  reads: TenantReads,
  actor: Actor,
  collections: CollectionRegistry,
  crypto: Crypto,
  request: Pick<SnapshotRequest, 'cursor' | 'entityTypes'>,
  pageSize: number,
): Promise<SnapshotResponse> {
  const state = await reads.getTenantState();
  const scope = viewScope(actor, collections, request.entityTypes, crypto);
  const entityTypes = request.entityTypes ? { entityTypes: request.entityTypes } : {};
  let start: { seq: number; total: number; after?: { entityType: string; entityId: string } };
  if (request.cursor) {
    const cursor = decodeSnapshotCursor(request.cursor);
    const valid =
      cursor !== undefined &&
      cursor.epoch === state.epoch &&
      cursor.scope === scope &&
      cursor.seq <= state.seq &&
      cursor.seq >= (state.prunedSeq ?? 0);
    if (!valid) {
      throw new SyncError(
        'INVALID_SNAPSHOT_CURSOR',
        'The snapshot cursor is not valid for this reader any more; start the snapshot again',
      );
    }
    start = {
      seq: cursor.seq,
      total: cursor.total,
      after: { entityType: cursor.afterType, entityId: cursor.afterId },
    };
  } else {
    const counts = await reads.countEntities({
      ...entityTypes,
      maxSeq: state.seq,
      createdBy: actor.userId,
    });
    start = { seq: state.seq, total: totalFor(actor, collections, counts) };
  }

  const rows = await reads.readEntities({
    ...entityTypes,
    ...(start.after ? { after: start.after } : {}),
    maxSeq: start.seq,
    limit: pageSize + 1,
  });
  const hasMore = rows.length > pageSize;
  const page = hasMore ? rows.slice(0, pageSize) : rows;
  const changes: ServerChange[] = [];
  for (const entity of page) {
    const rule = ruleOf(collections, entity.entityType);
    if (rule !== undefined && isAllowed(actor, rule, entity))
      changes.push(toSnapshotChange(entity));
  }
  const last = page.at(-1);
  return {
    changes,
    cursor:
      hasMore && last
        ? encodeSnapshotCursor({
            seq: start.seq,
            epoch: state.epoch,
            scope,
            total: start.total,
            afterType: last.entityType,
            afterId: last.entityId,
          })
        : null,
    hasMore,
    syncToken: encodeCursor({ seq: start.seq, epoch: state.epoch, scope }),
    total: start.total,
  };
}
