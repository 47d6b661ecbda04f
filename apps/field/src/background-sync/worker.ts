// Background Sync, the service worker's half, through the SDK's `@syncline/client/sw`: on the
// outbox's `sync` event, a client made here opens the signed-in user's local store and drains it,
// although no page may be open. The token comes from the session database when it is kept there
// (no passphrase), else from an open page. An encrypted store opens only with its passphrase,
// which only the page holds: its changes wait for the page, whose own sync sends them.
import { handleBackgroundSync, tokenFromPages } from '@syncline/client/sw';
import { createFieldClient } from '../field-client.js';
import { loadSession } from '../session.js';
import { readToken } from '../token.js';
import { outboxSyncTag } from './page.js';

export class EncryptedSessionError extends Error {
  override readonly name = 'EncryptedSessionError';
}

export function handleOutboxSync(scope: { readonly location: { readonly origin: string } }) {
  const fromPages = tokenFromPages();
  return handleBackgroundSync({
    tag: outboxSyncTag,
    createClient: async () => {
      const session = await loadSession();
      if (!session) throw new Error('nobody is signed in');
      if (session.encrypted) {
        throw new EncryptedSessionError('the encrypted store waits for the page to unlock it');
      }
      return createFieldClient({
        claims: readToken(session.token, { allowExpired: true }),
        url: scope.location.origin,
        realtime: false,
        getToken: async () => {
          const latest = await loadSession();
          return latest && !latest.encrypted ? latest.token : fromPages();
        },
      });
    },
  });
}
