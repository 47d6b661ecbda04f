// Sends offline operations to their business's own API (seed 003) and hands each answer back to
// the engine, which decides what it means. Used by the /api/offline sync routes (a person asks)
// and by a scheduled job through replayDueOperations (retries as they fall due).
import type { Actor } from '../engine/actor.js';
import {
  replayActor,
  type AttemptMeta,
  type AttemptResult,
  type ClaimedOperation,
  type ClaimSelection,
  type OfflineOperations,
} from '../engine/offline-operations.js';
import { lookup } from 'node:dns/promises';
import { parseRetryAfter } from '@syncline/protocol';
import { isIP } from 'node:net';
import { isForbiddenAddress, type UpstreamAnswer } from '../engine/replay-policy.js';

export const requestReplayDefaults = {
  /** Per request: connect, send and read the whole answer. */
  timeoutMs: 10_000,
  /** Upstream answers are kept up to this size (longer text is cut). */
  maxResponseChars: 64 * 1024,
} as const;

export interface RequestReplayOptions {
  operations: OfflineOperations;
  /** Defaults to the global fetch (undici). */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface ReplaySummary {
  success: number;
  failed: number;
  conflict: number;
  /** Attempts that failed but will be retried (counted in `failed` too). */
  retrying: number;
  /** Operations left for later because an earlier one of the same device has to go first. */
  deferred: number;
  total: number;
  durationMs: number;
  results: AttemptResult[];
}

export interface RequestReplayer {
  /** Claims the selected operations of the actor's business and sends them, oldest first. */
  replay(actor: Actor, selection: ClaimSelection, meta?: AttemptMeta): Promise<ReplaySummary>;
}

async function readBody(res: Response, maxChars: number): Promise<unknown> {
  const text = (await res.text()).slice(0, maxChars);
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A host name whose DNS answer is link-local or a metadata address is refused, whatever its name
 * says (e.g. 169.254.169.254.nip.io). A lookup failure is a network error, retried.
 */
async function refuseResolvedHost(url: string): Promise<string | undefined> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return undefined; // an address literal was checked with the URL
  const answers = await lookup(host, { all: true });
  const bad = answers.find((answer) => isForbiddenAddress(answer.address));
  return bad
    ? `host ${host} resolves to ${bad.address}, a link-local or metadata address`
    : undefined;
}

/** One attempt: the request as the device would have sent it, with its idempotency key. */
async function send(
  claimed: ClaimedOperation,
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<UpstreamAnswer> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  if ('refused' in claimed.target) {
    return { kind: 'error', category: 'POLICY', message: claimed.target.refused, durationMs: 0 };
  }
  const { method, requestBody } = claimed.operation;
  try {
    const refused = await refuseResolvedHost(claimed.target.url);
    if (refused) return { kind: 'error', category: 'POLICY', message: refused, durationMs: 0 };
    const res = await fetchImpl(claimed.target.url, {
      method,
      headers: claimed.headers,
      ...(requestBody !== null && method !== 'DELETE' ? { body: JSON.stringify(requestBody) } : {}),
      // A redirect could point anywhere (an internal host): it is answered, never followed.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await readBody(res, requestReplayDefaults.maxResponseChars);
    // An upstream may not park an operation for more than an hour.
    const asked = parseRetryAfter(res.headers.get('retry-after'), Date.now());
    const retryAfterMs = asked === undefined ? undefined : Math.min(asked, 3_600_000);
    return {
      kind: 'response',
      status: res.status,
      body,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      durationMs: elapsed(),
    };
  } catch (error) {
    const name = (error as { name?: string }).name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      kind: 'error',
      category: timedOut ? 'TIMEOUT' : 'NETWORK',
      message: timedOut
        ? `No answer within ${timeoutMs} ms`
        : `${cause?.code ?? 'NETWORK_ERROR'}: ${cause?.message ?? (error as Error).message}`,
      durationMs: elapsed(),
    };
  }
}

export function createRequestReplayer(options: RequestReplayOptions): RequestReplayer {
  const { operations } = options;
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? requestReplayDefaults.timeoutMs;

  /**
   * Renews the claim, sends, records the answer. A claim lost to another replayer (it went stale
   * while earlier operations were sent) is not sent again: that replayer sends it.
   */
  const attempt = async (tenant: string, claimed: ClaimedOperation, meta: AttemptMeta) => {
    const renewed = await operations.renew(tenant, claimed);
    if (!renewed) return undefined;
    return operations.recordAttempt(
      tenant,
      renewed,
      await send(renewed, fetchImpl, timeoutMs),
      meta,
    );
  };

  return {
    async replay(actor, selection, meta = {}) {
      const started = performance.now();
      const claimed = await operations.claim(actor, selection);
      const summary = emptySummary();
      // FIFO per device: once a device's operation must wait for a retry, its later operations
      // (which may depend on it, e.g. an update of the sale it creates) wait too.
      const waiting = new Set<string>();
      const deferred: ClaimedOperation[] = [];
      for (const claim of claimed) {
        if (waiting.has(claim.operation.deviceId)) {
          deferred.push(claim);
          continue;
        }
        let item = claim;
        let result = await attempt(actor.tenant, item, meta);
        // A conflict under client_wins comes back pending for its overwrite: send it now.
        if (result?.outcome === 'conflict' && result.operation.status === 'pending') {
          const [again] = await operations.claim(actor, { kind: 'one', id: item.operation.id });
          if (again) {
            item = again;
            summary.total++;
            summary.conflict++;
            summary.results.push(result);
            result = await attempt(actor.tenant, item, meta);
          }
        }
        if (!result) continue;
        summary.total++;
        summary.results.push(result);
        if (result.outcome === 'synced') summary.success++;
        else if (result.outcome === 'conflict') summary.conflict++;
        else summary.failed++;
        if (result.outcome === 'pending') {
          summary.retrying++;
          waiting.add(claim.operation.deviceId);
        }
      }
      await operations.release(actor.tenant, deferred);
      summary.deferred = deferred.length;
      summary.durationMs = Math.round(performance.now() - started);
      return summary;
    },
  };
}

/** The engine's offline operations and the replayer that sends them: what the routes and jobs share. */
export interface OfflineReplay {
  operations: OfflineOperations;
  replayer: RequestReplayer;
}

export interface ReplayDueOptions {
  /** How many due operations to take in one run, across businesses (default 100). */
  limit?: number;
}

/**
 * For a scheduled job: sends every operation whose retry is due (pending with next_attempt_at
 * in the past, or held by a replayer that stopped), in each business whose auto_sync_enabled is
 * on. Safe to run from several instances at once: the engine's claim gives each operation to
 * one of them, and every attempt carries the operation's Idempotency-Key.
 */
export async function replayDueOperations(
  replay: OfflineReplay,
  options: ReplayDueOptions = {},
): Promise<ReplaySummary> {
  const { operations, replayer } = replay;
  const started = performance.now();
  const total = emptySummary();
  for (const { tenant, ids } of await operations.findDue(options.limit ?? 100)) {
    const run = await replayer.replay(replayActor(tenant), { kind: 'due', ids });
    total.success += run.success;
    total.failed += run.failed;
    total.conflict += run.conflict;
    total.retrying += run.retrying;
    total.deferred += run.deferred;
    total.total += run.total;
    total.results.push(...run.results);
  }
  total.durationMs = Math.round(performance.now() - started);
  return total;
}

function emptySummary(): ReplaySummary {
  return {
    success: 0,
    failed: 0,
    conflict: 0,
    retrying: 0,
    deferred: 0,
    total: 0,
    durationMs: 0,
    results: [],
  };
}
