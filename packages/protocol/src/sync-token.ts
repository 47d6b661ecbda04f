// The shape of a sync token: `v1.<seq>.<epoch>.<scope>` (seq and epoch in base 36, scope a
// 12-hex fingerprint of the reader's view). Servers mint and check them; a client may read the
// feed position, e.g. to estimate how much a first sync has left to pull.

export interface FeedCursor {
  seq: number;
  epoch: number;
  /** Fingerprint of the reader's view. */
  scope: string;
}

export function encodeSyncToken(cursor: FeedCursor): string {
  return `v1.${cursor.seq.toString(36)}.${cursor.epoch.toString(36)}.${cursor.scope}`;
}

/** The cursor inside a token, or undefined when the text is not a v1 sync token. */
export function decodeSyncToken(token: string): FeedCursor | undefined {
  const match = /^v1\.([0-9a-z]{1,12})\.([0-9a-z]{1,8})\.([0-9a-f]{12})$/.exec(token);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { seq: parseInt(match[1], 36), epoch: parseInt(match[2], 36), scope: match[3] };
}

/**
 * Where a first-sync snapshot stands: the feed position it began at (`seq`, it ends by handing
 * over to the delta feed there), the view it is valid for, the entity count it announced, and the
 * last (entityType, entityId) it sent. Text: `s1.<seq>.<epoch>.<scope>.<total>.<type>.<id>` with
 * numbers in base 36 and the id URI-encoded.
 */
export interface SnapshotCursor extends FeedCursor {
  total: number;
  afterType: string;
  afterId: string;
}

export function encodeSnapshotCursor(cursor: SnapshotCursor): string {
  const { seq, epoch, scope, total, afterType, afterId } = cursor;
  return `s1.${seq.toString(36)}.${epoch.toString(36)}.${scope}.${total.toString(36)}.${afterType}.${encodeURIComponent(afterId)}`;
}

/** The cursor inside the text, or undefined when it is not an s1 snapshot cursor. */
export function decodeSnapshotCursor(text: string): SnapshotCursor | undefined {
  const match =
    /^s1\.([0-9a-z]{1,12})\.([0-9a-z]{1,8})\.([0-9a-f]{12})\.([0-9a-z]{1,12})\.([a-z][a-z0-9_]{0,63})\.(.+)$/.exec(
      text,
    );
  if (!match?.[1] || !match[2] || !match[3] || !match[4] || !match[5] || !match[6]) {
    return undefined;
  }
  let afterId: string;
  try {
    afterId = decodeURIComponent(match[6]);
  } catch {
    return undefined;
  }
  return {
    seq: parseInt(match[1], 36),
    epoch: parseInt(match[2], 36),
    scope: match[3],
    total: parseInt(match[4], 36),
    afterType: match[5],
    afterId,
  };
}
