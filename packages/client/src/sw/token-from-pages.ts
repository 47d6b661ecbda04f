// A bearer token for a client inside the service worker, asked of the origin's open pages (those
// that called registerBackgroundSync with `getToken`): the worker itself keeps no token.
import { tokenRequestType, type TokenAnswer, type TokenRequest } from './background-sync-tag.js';

/** The part of a window Client used here. */
export interface PageClientLike {
  postMessage(message: TokenRequest, transfer: Transferable[]): void;
}

/** The part of ServiceWorkerGlobalScope used here. */
export interface ClientsScopeLike {
  clients: {
    matchAll(options: {
      type: 'window';
      includeUncontrolled: boolean;
    }): Promise<readonly PageClientLike[]>;
  };
}

export interface TokenFromPagesOptions {
  /** How long the pages have to answer (default 5 s). */
  timeoutMs?: number;
  /** Default: the worker's global scope (`self`). */
  scope?: ClientsScopeLike;
}

export const tokenFromPagesDefaults = { timeoutMs: 5_000 } as const;

/** No open page gave a token: the sync fails, and the browser tries again later. */
export class NoTokenFromPagesError extends Error {
  override readonly name = 'NoTokenFromPagesError';
}

/**
 * A `getToken` for createSyncClient in the worker: asks every open page of the origin (controlled
 * or not) and takes the first token given. Rejects when there is no page or none answers in time.
 */
export function tokenFromPages(options: TokenFromPagesOptions = {}): () => Promise<string> {
  const timeoutMs = options.timeoutMs ?? tokenFromPagesDefaults.timeoutMs;
  return async () => {
    const scope = options.scope ?? (globalThis as unknown as ClientsScopeLike);
    const pages = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (pages.length === 0) throw new NoTokenFromPagesError('no open page to ask for a token');
    const channels: MessageChannel[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await new Promise<string>((resolve, reject) => {
        let refusals = 0;
        timer = setTimeout(
          () => reject(new NoTokenFromPagesError(`no page gave a token within ${timeoutMs} ms`)),
          timeoutMs,
        );
        for (const page of pages) {
          const channel = new MessageChannel();
          channels.push(channel);
          channel.port1.onmessage = (event: MessageEvent<TokenAnswer>) => {
            const answer = event.data as Partial<{ token: unknown }> | null;
            if (typeof answer?.token === 'string' && answer.token !== '') resolve(answer.token);
            else if (++refusals === pages.length) {
              reject(new NoTokenFromPagesError('no open page has a token'));
            }
          };
          page.postMessage({ type: tokenRequestType }, [channel.port2]);
        }
      });
    } finally {
      clearTimeout(timer);
      for (const channel of channels) channel.port1.close();
    }
  };
}
