// The sync client's other ports: the transport that carries pushes and pulls, and the failure
// kinds it reports. The core decides what a failure means for the outbox; the scheduler decides
// when to try again. Adapters live in src/transport.
import type {
  DeltaRequest,
  DeltaResponse,
  PushRequest,
  PushResponse,
  SnapshotRequest,
  SnapshotResponse,
} from '@syncline/protocol';

export interface Transport {
  /** POST /api/sync: push a batch and pull the page after the request's sync token. */
  push(request: PushRequest): Promise<PushResponse>;
  /** POST /api/sync/delta: one page of the change feed. */
  delta(request: DeltaRequest): Promise<DeltaResponse>;
  /**
   * POST /api/sync/snapshot: a page of a fresh device's first sync (each entity's latest state
   * once). Without it, a first sync replays the feed from the beginning. `onCursor`, where the
   * transport can, is told the page's cursor as soon as it is known, before the rest of the
   * page has arrived: only a hint to ask for the next page early, the answer's cursor decides.
   */
  snapshot?(
    request: SnapshotRequest,
    onCursor?: (cursor: string | null) => void,
  ): Promise<SnapshotResponse>;
  /**
   * Best-effort size of the feed after `syncToken`, for progress ("pulled n of about N");
   * undefined when the transport cannot tell.
   */
  estimateRemaining?(syncToken: string | undefined): Promise<number | undefined>;
}

/** Why a request failed as a whole (per-change outcomes are data in the response, not errors). */
export const TransportFailure = {
  /** No response: offline, DNS, a dropped connection. The server may have applied the request. */
  NETWORK: 'NETWORK',
  /** 5xx or an unreadable response: the server may have applied the request. */
  SERVER: 'SERVER',
  /** 429: wait `retryAfterMs`. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** 401 even after asking for a fresh token. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** 403 DEVICE_REVOKED: the device was unregistered. */
  REVOKED: 'REVOKED',
  /** Another 403 (e.g. the device belongs to another user): syncing stops until start(). */
  FORBIDDEN: 'FORBIDDEN',
  /** 400 or 413: the server refused this request as it is; resending it unchanged will not help. */
  REFUSED: 'REFUSED',
  /** Another 4xx (a wrong URL, say): not the changes' fault; retried with backoff. */
  UNEXPECTED: 'UNEXPECTED',
} as const;
export type TransportFailure = (typeof TransportFailure)[keyof typeof TransportFailure];

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: TransportFailure,
    message: string,
    readonly details: { status?: number; code?: string; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
}

export function isTransportError(error: unknown): error is TransportError {
  return error instanceof TransportError;
}

/** What the scheduler hears from the platform: connectivity and the app coming to the front. */
export type NetworkEvent = 'online' | 'offline' | 'foreground';

export interface NetworkSignal {
  /** False only when the platform knows it is offline (navigator.onLine === false). */
  isOnline(): boolean;
  subscribe(listener: (event: NetworkEvent) => void): () => void;
}
