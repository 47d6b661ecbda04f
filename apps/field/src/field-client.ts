// The app's sync client: @syncline/client over IndexedDB (encrypted at rest under a passphrase
// when the user chose one), one database per user of the tenant, syncing the three collections
// the field app works on. The page and the service worker build it the same way.
import {
  createSyncClient,
  indexedDbStorage,
  type CollectionOptions,
  type SyncClient,
} from '@syncline/client';
import type { TokenClaims } from './token.js';

/**
 * Seed 000 asks for manual review of "critical data discrepancies": a clock time corrected by more
 * than the server's minute of tolerance waits for an admin instead of being dropped. Assets and
 * tasks follow the server's default (seed 002: the server wins, the device's copy is kept).
 */
export const fieldCollections = {
  attendance: { conflictStrategy: 'MANUAL' },
  asset: {},
  task: {},
} as const satisfies Record<string, CollectionOptions>;

/** One local database per user and tenant, so that a shared phone never mixes two people's data. */
export const storageNameOf = (claims: Pick<TokenClaims, 'sub' | 'tenant'>) =>
  `syncline-field:${encodeURIComponent(claims.tenant)}:${encodeURIComponent(claims.sub)}`;

export interface FieldClientOptions {
  claims: TokenClaims;
  getToken: () => string | Promise<string>;
  passphrase?: string | undefined;
  /** The service worker syncs once and closes: no realtime stream there. */
  realtime?: boolean;
  /** The server: this page's own origin. */
  url: string;
}

export function createFieldClient(options: FieldClientOptions): SyncClient {
  return createSyncClient({
    url: options.url,
    getToken: options.getToken,
    storage: indexedDbStorage(storageNameOf(options.claims)),
    collections: fieldCollections,
    realtime: options.realtime ?? true,
    ...(options.passphrase ? { encryption: { passphrase: options.passphrase } } : {}),
  });
}
