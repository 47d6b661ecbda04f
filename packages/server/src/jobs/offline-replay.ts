// Composes offline operations on a Kysely store with the replayer that sends them upstream: the
// one setup the /api/offline routes and a scheduled replayDueOperations job share.
import { createOfflineOperations } from '../engine/offline-operations.js';
import type { Clock, Crypto } from '../engine/ports.js';
import { createKyselyOfflineOperationStore } from '../store/kysely-offline-operation-store.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { createRequestReplayer, type OfflineReplay } from './request-replay.js';

export interface OfflineReplayOptions {
  store: KyselySyncStore;
  /** Idempotency keys and generated operation ids (node:crypto in the server: nodeCrypto). */
  crypto: Crypto;
  /** SYNCLINE_UPSTREAM_ALLOW: hosts an upstream base URL may name (empty or absent: any valid URL). */
  upstreamAllow?: readonly string[];
  fetch?: typeof fetch;
  timeoutMs?: number;
  clock?: Clock;
}

export function createOfflineReplay(options: OfflineReplayOptions): OfflineReplay {
  const operations = createOfflineOperations({
    store: createKyselyOfflineOperationStore(options.store),
    crypto: options.crypto,
    ...(options.upstreamAllow ? { upstreamAllow: options.upstreamAllow } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const replayer = createRequestReplayer({
    operations,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  return { operations, replayer };
}

/** Parses SYNCLINE_UPSTREAM_ALLOW: hosts (or host:port, or *.domain) separated by commas. */
export function parseUpstreamAllow(value: string | undefined): string[] | undefined {
  const hosts = (value ?? '')
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host.length > 0);
  return hosts.length > 0 ? hosts : undefined;
}
