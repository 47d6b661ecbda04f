// Sync tokens and page tokens: opaque to devices, a feed position plus the tenant's cache epoch.
// A token from an older epoch (after cache invalidation) makes the device pull afresh.
import { SyncError } from './errors.js';

export interface FeedCursor {
  seq: number;
  epoch: number;
}

const PREFIX = 'v1.';

export function encodeCursor(cursor: FeedCursor): string {
  return `${PREFIX}${cursor.seq.toString(36)}.${cursor.epoch.toString(36)}`;
}

export function decodeCursor(token: string): FeedCursor {
  const match = /^v1\.([0-9a-z]{1,12})\.([0-9a-z]{1,8})$/.exec(token);
  if (!match?.[1] || !match[2]) {
    throw new SyncError('INVALID_SYNC_TOKEN', 'The sync token is not one this server issued');
  }
  return { seq: parseInt(match[1], 36), epoch: parseInt(match[2], 36) };
}
