// Reading the change feed for a device: from a cursor, in sequence order, filtered by the
// collections' access rules. The cursor advances past rows the actor may not see; an entity that
// leaves the reader's view is sent as a `revoked` removal so the device drops its copy. Changes
// leave as the JSON text the store rendered, the stored payload spliced in (change-json-sql.ts).
// The store judges each row by the reader's rules (FeedVisibility); the engine settles only the
// rows it leaves undecided, parsing their payloads and reading the version before.
import type { ServerChange } from '@syncline/protocol';
import { isAllowed, storeVisibility } from './access.js';
import type { Actor } from './actor.js';
import { changeJson } from './change-json.js';
import { claimsOf, servedRule, type AccessRule, type CollectionRegistry } from './collections.js';
import { SyncError } from './errors.js';
import type { FeedEntryDetail, HistoryRecord, JsonObject, TenantReads } from './ports.js';
import type { Crypto } from './ports.js';
import { decodeCursor, encodeCursor, positionHolds, viewScope } from './sync-token.js';

export interface FeedPage {
  /** Each change as the JSON text of a ServerChange. */
  changes: string[];
  /** The last sequence number scanned: the next cursor. */
  lastSeq: number;
  hasMore: boolean;
}

/**
 * Rows the reader already holds (a push's own changes, applied as sent): scanned, not sent. They
 * are the versions the push wrote after feed position `after`, `count` of them, of `entityTypes`.
 */
export interface HeldRows {
  has(row: FeedEntryDetail): boolean;
  after: number;
  count: number;
  entityTypes: ReadonlySet<string>;
}

/**
 * Feed positions (after, through] that hold nothing but held rows. A page that reaches them
 * passes them all, whatever its limit, without reading them: none is sent, so the device's
 * cursor moves past its own batch instead of echoing it on its next syncs.
 */
export interface HeldTail {
  after: number;
  through: number;
}

export async function readFeedPage(
  reads: TenantReads,
  actor: Actor,
  collections: CollectionRegistry,
  query: { afterSeq: number; entityTypes?: readonly string[]; limit: number },
  held?: HeldRows,
  tail?: HeldTail,
): Promise<FeedPage> {
  const rows = await reads.readFeedEntries({
    ...query,
    limit: query.limit + 1,
    visibility: storeVisibility(actor, collections),
    ...(held ? { allDetails: true } : {}),
    ...(tail ? { beforeSeq: tail.after + 1 } : {}),
  });
  const hasMore = rows.length > query.limit;
  const page = hasMore ? rows.slice(0, query.limit) : rows;
  const changes: string[] = [];
  const rules = new Map<string, TypeRule | null>();
  for (const { seq, visible, changeJson, detail } of page) {
    if (held && detail && held.has(detail)) continue;
    if (visible === true && changeJson !== null) {
      changes.push(changeJson);
      continue;
    }
    if (visible === false || !detail) continue;
    let rule = rules.get(detail.entityType);
    if (rule === undefined) {
      rule = typeRule(actor, collections, detail.entityType);
      rules.set(detail.entityType, rule);
    }
    // Only a row that left the reader's view waits on a read of the version before.
    const seen =
      rule === null
        ? 'hidden'
        : (visibilityOfRow(actor, rule, detail) ??
          (await visibilityBefore(reads, actor, rule, detail)));
    if (seen === 'visible' && changeJson !== null) changes.push(changeJson);
    else if (seen === 'revoked') changes.push(revokedChangeJson(seq, detail));
  }
  const lastSeq = tail && !hasMore ? tail.through : (page.at(-1)?.seq ?? query.afterSeq);
  return { changes, lastSeq, hasMore };
}

/**
 * The held rows' positions, when every position after `held.after` is one of them (the tenant
 * was locked: nothing else wrote since), no type filter leaves one out and the cursor is not past
 * their start.
 */
function heldTail(
  held: HeldRows | undefined,
  tenantSeq: number,
  afterSeq: number,
  entityTypes: readonly string[] | undefined,
): HeldTail | undefined {
  if (!held || held.count === 0 || tenantSeq - held.after !== held.count) return undefined;
  if (afterSeq > held.after) return undefined;
  if (entityTypes && [...held.entityTypes].some((type) => !entityTypes.includes(type))) {
    return undefined;
  }
  return { after: held.after, through: tenantSeq };
}

/** A revoked row as a removal that tells nothing else (a visible one goes as the store wrote it). */
function revokedChangeJson(seq: number, row: FeedEntryDetail): string {
  return changeJson({
    entityType: row.entityType,
    entityId: row.entityId,
    operation: 'DELETE',
    payloadJson: null,
    version: row.version,
    clientVersion: row.version,
    timestamp: row.updatedAt,
    updatedBy: '',
    deviceId: null,
    checksum: null,
    deletedAt: row.deletedAt,
    seq,
    revoked: true,
  });
}

/** A served type's access rule, and whether it looks into payloads (a field rule, not for admins). */
interface TypeRule {
  rule: AccessRule;
  readsPayload: boolean;
}

/** Looked up once a page per type; null for a type the config no longer serves. */
function typeRule(
  actor: Actor,
  collections: CollectionRegistry,
  entityType: string,
): TypeRule | null {
  const rule = servedRule(collections, entityType);
  if (rule === undefined) return null;
  return { rule, readsPayload: actor.role !== 'admin' && claimsOf(rule).length > 0 };
}

type Visibility = 'visible' | 'hidden' | 'revoked';

/**
 * Whether the reader sees this version, or undefined when the version before decides. Under a
 * `{ field, claim }` rule the field can move, so the version before decides two cases: a tombstone
 * is shown only to readers who saw the entity alive, and a version that left the reader's view is
 * 'revoked' for readers who saw the one before.
 */
function visibilityOfRow(
  actor: Actor,
  { rule, readsPayload }: TypeRule,
  row: FeedEntryDetail,
): Visibility | undefined {
  if (!readsPayload) {
    // No field rule: the payload is not looked at, so it is not parsed.
    return isAllowed(actor, rule, { createdBy: row.createdBy, payload: null })
      ? 'visible'
      : 'hidden';
  }
  // The rule's parts that read no payload (owner) decide first. An entity's creator is the same in
  // every version, so a reader they refuse never saw any version: nothing to parse, nothing to revoke.
  if (!isAllowed(actor, rule, { createdBy: row.createdBy, payload: null })) return 'hidden';
  if (row.payloadJson === null) return undefined;
  const payload = JSON.parse(row.payloadJson) as JsonObject;
  return isAllowed(actor, rule, { createdBy: row.createdBy, payload }) ? 'visible' : undefined;
}

/** The field-rule cases visibilityOfRow leaves open: a tombstone, or a version out of view. */
async function visibilityBefore(
  reads: TenantReads,
  actor: Actor,
  { rule }: TypeRule,
  row: FeedEntryDetail,
): Promise<Visibility> {
  const before =
    row.version > 1
      ? await reads.getHistoryVersion(row.entityType, row.entityId, row.version - 1)
      : undefined;
  const sawBefore = before?.payload != null && isAllowed(actor, rule, before);
  if (!sawBefore) return 'hidden';
  return row.payloadJson !== null ? 'revoked' : 'visible';
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
  held?: HeldRows,
): Promise<FeedPage & { token: string; reset: boolean }> {
  const { seq, epoch, prunedSeq } = await reads.getTenantState();
  const scope = viewScope(actor, collections, request.entityTypes, crypto);
  const cursor = await resolveCursor(reads, { seq, epoch, scope, prunedSeq }, request);
  const page = await readFeedPage(
    reads,
    actor,
    collections,
    {
      afterSeq: cursor.afterSeq,
      ...(request.entityTypes ? { entityTypes: request.entityTypes } : {}),
      limit,
    },
    held,
    heldTail(held, seq, cursor.afterSeq, request.entityTypes),
  );
  return { ...page, token: encodeCursor({ seq: page.lastSeq, epoch, scope }), reset: cursor.reset };
}
