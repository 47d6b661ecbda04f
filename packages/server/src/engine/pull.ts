// Reading the change feed for a device: from a cursor, in sequence order, filtered by the
// collections' access rules. The cursor advances past rows the actor may not see; an entity that
// leaves the reader's view is sent as a `revoked` removal so the device drops its copy.
import type { ServerChange } from '@syncline/protocol';
import { isAllowed } from './access.js';
import type { Actor } from './actor.js';
import { claimsOf, servedRule, type CollectionRegistry } from './collections.js';
import { SyncError } from './errors.js';
import type { HistoryRecord, TenantReads } from './ports.js';
import type { Crypto } from './ports.js';
import { decodeCursor, encodeCursor, positionHolds, viewScope } from './sync-token.js';

export interface FeedPage {
  changes: ServerChange[];
  /** The last sequence number scanned: the next cursor. */
  lastSeq: number;
  hasMore: boolean;
}

export async function readFeedPage(
  reads: TenantReads,
  actor: Actor,
  collections: CollectionRegistry,
  query: { afterSeq: number; entityTypes?: readonly string[]; limit: number },
): Promise<FeedPage> {
  const rows = await reads.readFeed({ ...query, limit: query.limit + 1 });
  const hasMore = rows.length > query.limit;
  const page = hasMore ? rows.slice(0, query.limit) : rows;
  const changes: ServerChange[] = [];
  for (const row of page) {
    const seen = await visibility(reads, actor, collections, row);
    if (seen === 'visible') changes.push(toServerChange(row));
    else if (seen === 'revoked') changes.push(toRevokedChange(row));
  }
  return { changes, lastSeq: page.at(-1)?.seq ?? query.afterSeq, hasMore };
}

/**
 * Whether the reader sees this version. Under a `{ field, claim }` rule the field can move, so the
 * version before decides two cases: a tombstone is shown only to readers who saw the entity
 * alive, and a version that left the reader's view is 'revoked' for readers who saw the one before.
 */
async function visibility(
  reads: TenantReads,
  actor: Actor,
  collections: CollectionRegistry,
  row: HistoryRecord,
): Promise<'visible' | 'hidden' | 'revoked'> {
  const rule = servedRule(collections, row.entityType);
  if (rule === undefined) return 'hidden';
  if (actor.role === 'admin' || claimsOf(rule).length === 0) {
    return isAllowed(actor, rule, row) ? 'visible' : 'hidden';
  }
  const alive = row.payload !== null;
  if (alive && isAllowed(actor, rule, row)) return 'visible';
  const before =
    row.version > 1
      ? await reads.getHistoryVersion(row.entityType, row.entityId, row.version - 1)
      : undefined;
  const sawBefore = before?.payload != null && isAllowed(actor, rule, before);
  if (!sawBefore) return 'hidden';
  return alive ? 'revoked' : 'visible';
}

/** A removal from the reader's view: drop the local copy; the entity lives on, out of sight. */
function toRevokedChange(row: HistoryRecord): ServerChange {
  return {
    ...toServerChange(row),
    operation: 'DELETE',
    payload: null,
    updatedBy: '',
    deviceId: null,
    checksum: null,
    revoked: true,
  };
}

export function toServerChange(row: HistoryRecord): ServerChange {
  return {
    entityType: row.entityType,
    entityId: row.entityId,
    operation: row.operation,
    payload: row.payload,
    version: row.version,
    clientVersion: row.version,
    timestamp: row.updatedAt,
    updatedBy: row.updatedBy,
    deviceId: row.deviceId,
    checksum: row.checksum,
    deletedAt: row.deletedAt,
    seq: row.seq,
  };
}

/**
 * Where a pull starts: a page token, else a sync token, else a timestamp, else the beginning.
 * A token this server did not issue for this view (garbage, a placeholder, another tenant's, one
 * past the tenant's feed), or minted before the last cache invalidation, restarts from the
 * beginning with `reset`; so does a position below the prune horizon, where a pruned tombstone
 * may lie unseen. A push with such a token still applies its changes.
 */
export async function resolveCursor(
  reads: TenantReads,
  view: { seq: number; epoch: number; scope: string; prunedSeq?: number | undefined },
  from: PullRequest,
): Promise<{ afterSeq: number; reset: boolean }> {
  const pruned = (afterSeq: number) => afterSeq < (view.prunedSeq ?? 0);
  const token = from.pageToken ?? from.syncToken;
  if (token) {
    const cursor = decodeCursor(token);
    const valid = cursor !== undefined && positionHolds(cursor, view);
    return valid ? { afterSeq: cursor.seq, reset: false } : { afterSeq: 0, reset: true };
  }
  if (from.lastSyncTimestamp) {
    const time = Date.parse(from.lastSyncTimestamp);
    if (!Number.isFinite(time))
      throw new SyncError('VALIDATION_FAILED', 'lastSyncTimestamp is not a date-time');
    const afterSeq = await reads.seqBefore(new Date(time).toISOString());
    return pruned(afterSeq) ? { afterSeq: 0, reset: true } : { afterSeq, reset: false };
  }
  return { afterSeq: 0, reset: false };
}

export interface PullRequest {
  entityTypes?: readonly string[] | undefined;
  pageToken?: string | null | undefined;
  syncToken?: string | null | undefined;
  lastSyncTimestamp?: string | null | undefined;
}

/** One page of the feed for a reader, with the token that continues it. */
export async function pullPage(
  reads: TenantReads,
  actor: Actor,
  collections: CollectionRegistry,
  crypto: Crypto,
  request: PullRequest,
  limit: number,
): Promise<FeedPage & { token: string; reset: boolean }> {
  const { seq, epoch, prunedSeq } = await reads.getTenantState();
  const scope = viewScope(actor, collections, request.entityTypes, crypto);
  const cursor = await resolveCursor(reads, { seq, epoch, scope, prunedSeq }, request);
  const page = await readFeedPage(reads, actor, collections, {
    afterSeq: cursor.afterSeq,
    ...(request.entityTypes ? { entityTypes: request.entityTypes } : {}),
    limit,
  });
  return { ...page, token: encodeCursor({ seq: page.lastSeq, epoch, scope }), reset: cursor.reset };
}
