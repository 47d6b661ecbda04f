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
