// Sends offline operations to their business's own API (seed 003) and hands each answer back to
// operations.ts, which decides what it means. Used by the /api/offline sync routes (a person
// asks) and by a scheduled job through replayDueOperations (retries as they fall due).
import type { Actor } from '../engine/actor.js';
import {
  replayActor,
  type AttemptMeta,
  type AttemptResult,
  type ClaimedOperation,
  type ClaimSelection,
  type OfflineOperations,
} from './operations.js';
import type { HostResolver } from './ports.js';
import type { UpstreamAnswer } from './policy.js';
import type { UpstreamPolicy } from './upstream-address.js';
import { sendUpstream, systemResolver } from './upstream-client.js';

export const requestReplayDefaults = {
  /** Per request: resolve, connect, send and read the whole answer. */
  timeoutMs: 10_000,
  /** Upstream answers are kept up to this size (longer text is cut). */
  maxResponseChars: 64 * 1024,
} as const;

export interface RequestReplayOptions {
  operations: OfflineOperations;
  /** The operator's rules for upstream addresses: the same operations.ts checked the URL with. */
  policy: UpstreamPolicy;
  /** How upstream host names are resolved (default: the system resolver). */
  resolver?: HostResolver;
  timeoutMs?: number;
}

/**
 * What one run did, one count per operation by its outcome at the end of the run (an operation
 * that conflicted and was then overwritten counts once, as what the overwrite came to).
 */
export interface ReplaySummary {
  success: number;
  failed: number;
  conflict: number;
  /** Operations that failed but will be retried (counted in `failed` too). */
  retrying: number;
  /** Operations left for later because an earlier one of the same device has to go first. */
  deferred: number;
  /** Operations sent in this run: success + failed + conflict. */
  total: number;
  durationMs: number;
  /** Each operation sent, as it stands after the run. */
  results: AttemptResult[];
}

export interface RequestReplayer {
  /** Claims the selected operations of the actor's business and sends them, oldest first. */
  replay(actor: Actor, selection: ClaimSelection, meta?: AttemptMeta): Promise<ReplaySummary>;
}

/** One attempt: the request as the device would have sent it, with its idempotency key. */
function send(
  claimed: ClaimedOperation,
  guard: { policy: UpstreamPolicy; resolver: HostResolver },
  timeoutMs: number,
): Promise<UpstreamAnswer> {
  if ('refused' in claimed.target) {
    return Promise.resolve({
      kind: 'error',
      category: 'POLICY',
      message: claimed.target.refused,
      durationMs: 0,
    });
  }
  const { method, requestBody } = claimed.operation;
  return sendUpstream(
    {
      url: claimed.target.url,
      method,
      headers: claimed.headers,
      ...(requestBody !== null && method !== 'DELETE' ? { body: JSON.stringify(requestBody) } : {}),
      timeoutMs,
      maxResponseChars: requestReplayDefaults.maxResponseChars,
    },
    guard,
  );
}

export function createRequestReplayer(options: RequestReplayOptions): RequestReplayer {
  const { operations } = options;
  const guard = { policy: options.policy, resolver: options.resolver ?? systemResolver };
  const timeoutMs = options.timeoutMs ?? requestReplayDefaults.timeoutMs;

  /**
   * Renews the claim, sends, records the answer. A claim lost to another replayer (it went stale
   * while earlier operations were sent) is not sent again: that replayer sends it.
   */
  const attempt = async (tenant: string, claimed: ClaimedOperation, meta: AttemptMeta) => {
    const renewed = await operations.renew(tenant, claimed);
    if (!renewed) return undefined;
    return operations.recordAttempt(tenant, renewed, await send(renewed, guard, timeoutMs), meta);
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
        let result = await attempt(actor.tenant, claim, meta);
        // A conflict under client_wins comes back pending for its overwrite: send it now. The
        // operation counts once, as what the overwrite came to.
        if (result?.outcome === 'conflict' && result.operation.status === 'pending') {
          const [again] = await operations.claim(actor, { kind: 'one', id: claim.operation.id });
          if (again) result = (await attempt(actor.tenant, again, meta)) ?? result;
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
 * on. Safe to run from several instances at once: the operations' claim gives each operation to
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
