// Composes offline operations on a Kysely store with the replayer that sends them upstream: the
// one setup the /api/offline routes and a scheduled replayDueOperations job share, under one
// upstream policy and one resolver, so the config check and the send judge hosts alike.
import { EnvError, listOf } from '../config/env.js';
import type { HostResolver } from '../replay/ports.js';
import { createOfflineOperations } from '../replay/operations.js';
import type { Clock, Crypto } from '../engine/ports.js';
import { compileAllowList, createUpstreamPolicy } from '../replay/upstream-address.js';
import { createKyselyOfflineOperationStore } from '../store/kysely-offline-operation-store.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';
import { createRequestReplayer, type OfflineReplay } from '../replay/replayer.js';
import { createDnsServerResolver, systemResolver } from '../replay/upstream-client.js';

export interface OfflineReplayOptions {
  store: KyselySyncStore;
  /** Idempotency keys and generated operation ids (node:crypto in the server: nodeCrypto). */
  crypto: Crypto;
  /**
   * SYNCLINE_UPSTREAM_ALLOW: when set, the only hosts upstream URLs may name, and the private
   * networks they may reach (addresses and CIDRs). Absent: any host at a public address.
   */
  upstreamAllow?: readonly string[];
  /** How upstream host names resolve, at config time and for each connection (default: system). */
  resolver?: HostResolver;
  timeoutMs?: number;
  clock?: Clock;
}

export function createOfflineReplay(options: OfflineReplayOptions): OfflineReplay {
  const policy = createUpstreamPolicy(options.upstreamAllow);
  const resolver = options.resolver ?? systemResolver;
  const operations = createOfflineOperations({
    store: createKyselyOfflineOperationStore(options.store),
    crypto: options.crypto,
    upstreamPolicy: policy,
    resolveHost: resolver,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const replayer = createRequestReplayer({
    operations,
    policy,
    resolver,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  return { operations, replayer };
}

/** SYNCLINE_UPSTREAM_ALLOW or SYNCLINE_UPSTREAM_DNS as a list (config/env.ts splits them). */
type Entries = string | readonly string[] | undefined;

const entriesOf = (value: Entries): string[] =>
  typeof value === 'string' ? listOf(value) : [...(value ?? [])];

/**
 * Checks SYNCLINE_UPSTREAM_ALLOW: hosts (`api.example`, `api.example:8443`, `*.shops.example`),
 * addresses (`10.0.0.5`, `10.0.0.5:8080`, `[fd00::5]`) and CIDRs (`10.0.0.0/8`, `fd00::/8`),
 * as a list or separated by commas. Throws an EnvError on an entry that is none of these.
 */
export function parseUpstreamAllow(value: Entries): string[] | undefined {
  const entries = entriesOf(value);
  if (entries.length === 0) return undefined;
  try {
    compileAllowList(entries);
  } catch (error) {
    throw new EnvError(
      'SYNCLINE_UPSTREAM_ALLOW',
      entries.join(','),
      `SYNCLINE_UPSTREAM_ALLOW: ${(error as Error).message}`,
    );
  }
  return entries;
}

/**
 * SYNCLINE_UPSTREAM_DNS: DNS servers (`ip` or `ip:port`, as a list or with commas between) that
 * upstream host names are resolved with instead of the system resolver; undefined when unset.
 */
export function parseUpstreamDns(value: Entries): HostResolver | undefined {
  const servers = entriesOf(value);
  if (servers.length === 0) return undefined;
  try {
    return createDnsServerResolver(servers);
  } catch (error) {
    throw new EnvError(
      'SYNCLINE_UPSTREAM_DNS',
      servers.join(','),
      `SYNCLINE_UPSTREAM_DNS: ${(error as Error).message}`,
    );
  }
}
