// Sync tokens and page tokens: opaque to devices, a feed position plus what the position is
// valid for. A token from an older cache epoch (after invalidation), or minted for another view
// (another tenant, another user, other access claims, another entityTypes filter), makes the
// device pull afresh: rows skipped as invisible under the old view may be visible now. So does a
// token this server never issued (a client's placeholder, garbage, an older format).
import {
  canonicalJson,
  decodeSyncToken,
  encodeSyncToken,
  type FeedCursor,
} from '@syncline/protocol';
import type { Actor } from './actor.js';
import type { CollectionRegistry } from './collections.js';
import type { Crypto } from './ports.js';

export type { FeedCursor };
export const encodeCursor = encodeSyncToken;
export const decodeCursor = decodeSyncToken;

/** What decides which feed rows a reader sees: who, with which rule-relevant claims, which types. */
export function viewScope(
  actor: Actor,
  collections: CollectionRegistry,
  entityTypes: readonly string[] | undefined,
  crypto: Crypto,
): string {
  const claims = Object.fromEntries(
    collections.claimNames().map((name) => [name, actor.claims[name] ?? null]),
  );
  const view = {
    tenant: actor.tenant,
    user: actor.userId,
    role: actor.role,
    claims,
    types: entityTypes ? [...new Set(entityTypes)].sort() : null,
  };
  return crypto.sha256Hex(canonicalJson(view)).slice(0, 12);
}

/**
 * Whether a feed position minted for a view still holds for it: the same cache epoch and view,
 * inside the feed, and not below what was pruned (where a pruned tombstone may lie unseen). Pull
 * tokens and snapshot cursors are both judged by it.
 */
export function positionHolds(
  position: { seq: number; epoch: number; scope: string },
  view: { seq: number; epoch: number; scope: string; prunedSeq?: number | undefined },
): boolean {
  return (
    position.epoch === view.epoch &&
    position.scope === view.scope &&
    position.seq <= view.seq &&
    position.seq >= (view.prunedSeq ?? 0)
  );
}
