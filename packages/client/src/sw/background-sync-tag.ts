// What a page and its service worker agree on: the Background Sync tag of the outbox and the
// message by which the worker asks an open page for a bearer token.

/** The sync tag both sides use unless told otherwise. */
export const backgroundSyncDefaults = { tag: 'syncline-outbox' } as const;

/** The worker's request, posted to a page with a MessagePort for the answer. */
export const tokenRequestType = 'syncline:token-request';

export interface TokenRequest {
  type: typeof tokenRequestType;
}

/** A page's answer on that port: a token, or why there is none. */
export type TokenAnswer = { token: string } | { error: string };

export const isTokenRequest = (data: unknown): data is TokenRequest =>
  typeof data === 'object' && data !== null && (data as TokenRequest).type === tokenRequestType;
