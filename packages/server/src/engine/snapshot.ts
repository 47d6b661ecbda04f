// A fresh device's first sync: each live entity's latest state once, read from the current-entities
// table instead of replaying every version from the feed. The snapshot pins the feed position it
// began at (H) and serves only entities whose stored version is at or below H; anything written
// after H (an update, a create, a delete) is left to the delta feed from H, which the last page's
// sync token starts at. So a write landing during the snapshot reaches the device exactly once,
// and nothing before H is missed. Pages follow (entityType, entityId) order, the table's key.
import {
  decodeSnapshotCursor,
  encodeSnapshotCursor,
  type SnapshotRequest,
  type SnapshotResponse,
} from '@syncline/protocol';
import { isAllowed, storeVisibility } from './access.js';
import type { Actor } from './actor.js';
import { changeJson, spliceJson } from './change-json.js';
import { claimsOf, servedRule, type AccessRule, type CollectionRegistry } from './collections.js';
import { SyncError } from './errors.js';
import type { Crypto, EntityCount, JsonObject, SnapshotEntity, TenantReads } from './ports.js';
import { encodeCursor, positionHolds, viewScope } from './sync-token.js';

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
    const rule = servedRule(collections, entityType);
    if (rule === undefined) continue;
    total += actor.role !== 'admin' && involvesOwner(rule) ? own : count;
  }
  return total;
}

/** An entity's latest state as the server change a device applies, as JSON text. */
function snapshotChangeJson(entity: SnapshotEntity): string {
  return changeJson({
    entityType: entity.entityType,
    entityId: entity.entityId,
    operation: entity.version === 1 ? 'CREATE' : 'UPDATE',
    payloadJson: entity.payloadJson,
    version: entity.version,
    clientVersion: entity.version,
    timestamp: entity.updatedAt,
    updatedBy: entity.updatedBy,
    deviceId: entity.deviceId,
    checksum: entity.checksum,
    deletedAt: null,
    seq: entity.seq,
  });
}

/** A snapshot answer whose changes are already JSON text (see change-json.ts). */
export interface SnapshotPage extends Omit<SnapshotResponse, 'changes'> {
  changes: string[];
}

/**
 * The page as a SnapshotResponse's JSON, in UTF-8. The cursor comes first and the changes last:
 * a device can ask for the next page as soon as the first bytes of this one arrive.
 */
export function snapshotPageJson(page: SnapshotPage): Buffer {
  return spliceJson(
    `{"cursor":${page.cursor === null ? 'null' : JSON.stringify(page.cursor)},` +
      `"hasMore":${page.hasMore},` +
      `"syncToken":${JSON.stringify(page.syncToken)},` +
      `"total":${page.total},` +
      '"changes":[',
    page.changes,
    ']}',
  );
}

/**
 * Whether the reader may see an entity of the type: undefined for a type the config no longer
 * serves. Only a field rule looks into the payload, and not for admins: the stored text is parsed
 * for those alone.
 */
function visibilityOf(
  actor: Actor,
  collections: CollectionRegistry,
  entityType: string,
): ((entity: SnapshotEntity) => boolean) | undefined {
  const rule = servedRule(collections, entityType);
  if (rule === undefined) return undefined;
  const readsPayload = actor.role !== 'admin' && claimsOf(rule).length > 0;
  return (entity) => {
    const payload =
      readsPayload && entity.payloadJson !== null
        ? (JSON.parse(entity.payloadJson) as JsonObject)
        : null;
    return isAllowed(actor, rule, { createdBy: entity.createdBy, payload });
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
): Promise<SnapshotPage> {
  const state = await reads.getTenantState();
  const scope = viewScope(actor, collections, request.entityTypes, crypto);
  const entityTypes = request.entityTypes ? { entityTypes: request.entityTypes } : {};
  let start: { seq: number; total: number; after?: { entityType: string; entityId: string } };
  if (request.cursor) {
    const cursor = decodeSnapshotCursor(request.cursor);
    if (cursor === undefined || !positionHolds(cursor, { ...state, scope })) {
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

  // The store skips what the reader may not see and vouches for what it may: only undecided
  // entities (a field the store could not read) are judged here.
  const rows = await reads.readEntities({
    ...entityTypes,
    ...(start.after ? { after: start.after } : {}),
    maxSeq: start.seq,
    limit: pageSize + 1,
    visibility: storeVisibility(actor, collections),
  });
  const hasMore = rows.length > pageSize;
  const page = hasMore ? rows.slice(0, pageSize) : rows;
  const changes: string[] = [];
  const visibility = new Map<string, ReturnType<typeof visibilityOf>>();
  for (const entity of page) {
    let visible = visibility.get(entity.entityType);
    if (!visibility.has(entity.entityType)) {
      visible = visibilityOf(actor, collections, entity.entityType);
      visibility.set(entity.entityType, visible);
    }
    if (entity.visible === true || visible?.(entity)) changes.push(snapshotChangeJson(entity));
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
