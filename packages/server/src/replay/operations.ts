// Offline operations (seed 003): HTTP requests a device queued while offline, kept per business
// (tenant) and replayed against the business's own API. This module makes every queue decision
// (admission, idempotency, claims, outcomes, retries, cleanup); replay/replayer.ts only
// carries the request over the network.
import { canonicalJson, limitsDefaults } from '@syncline/protocol';
import type { Actor } from '../engine/actor.js';
import {
  assertOwnRecord,
  isAdmin,
  ownScope,
  ownsOrAdmin,
  requireAdmin,
  scopeFor,
} from '../engine/authorize.js';
import { SyncError } from '../engine/errors.js';
import { jsonByteLength } from '../engine/json.js';
import type {
  HostResolver,
  OfflineConfig,
  OfflineConfigRecord,
  OfflineOperationRecord,
  OfflineOperationStatus,
  OfflineOperationStore,
  OfflineSyncHistoryRecord,
  OfflineTenantTx,
  ReplayMethod,
  ReplayResolution,
} from './ports.js';
import type { Clock, Crypto } from '../engine/ports.js';
import { yieldToEventLoop } from '../engine/yield.js';
import {
  decideAttempt,
  offlineConfigDefaults,
  overwriteHeaders,
  refuseEndpoint,
  refuseOffline,
  refuseUpstreamUrl,
  replayBackoffDefaults,
  replayLeaseMs,
  resolutionOverwriteKey,
  serverIdOf,
  upstreamTarget,
  type UpstreamAnswer,
} from './policy.js';
import { createUpstreamPolicy, portOf, type UpstreamPolicy } from './upstream-address.js';

export interface OfflineOperationsOptions {
  store: OfflineOperationStore;
  crypto: Crypto;
  clock?: Clock;
  /** Which upstream hosts and addresses are allowed (default: public addresses only). */
  upstreamPolicy?: UpstreamPolicy;
  /**
   * Resolves an upstream host name when the config is saved, so that a name that points into a
   * refused network is refused at once; the replayer checks again on the address it connects to.
   */
  resolveHost?: HostResolver;
  backoff?: { baseMs: number; maxMs: number };
}

/** What an admin may send: merge is named only to be refused with its reason. */
export type OfflineConfigPatch = Partial<Omit<OfflineConfig, 'default_conflict_strategy'>> & {
  default_conflict_strategy?: OfflineConfig['default_conflict_strategy'] | 'merge';
};

/** A person's settlement of a conflict (seed 003's resolveConflict(queueId, strategy)). */
export interface ResolveInput {
  strategy: ReplayResolution;
  /** merge: the version the person combined from the device's request and the API's copy. */
  requestBody?: unknown;
}

export interface QueueOperationInput {
  deviceId: string;
  networkType: string | null;
  operationType: string;
  operationId?: string | undefined;
  endpoint: string;
  method: ReplayMethod;
  requestBody: unknown;
}

/** One operation ready to be sent: where, with which headers. */
export interface ClaimedOperation {
  tenant: string;
  operation: OfflineOperationRecord;
  /** Where to send it, or why it may not be sent (recorded as a POLICY failure). */
  target: { url: string } | { refused: string };
  headers: Record<string, string>;
}

/** Facts about the sync request that triggered an attempt (seed 003's device headers). */
export interface AttemptMeta {
  deviceId?: string | null;
  networkType?: string | null;
}

export interface AttemptResult {
  operation: OfflineOperationRecord;
  outcome: 'synced' | 'conflict' | 'failed' | 'pending';
}

export interface OfflineStatus {
  pending: number;
  syncing: number;
  synced: number;
  conflicts: number;
  failed: number;
  total: number;
  lastSync: string | null;
}

/** Which operations a claim takes. */
export type ClaimSelection =
  /** One operation, whatever its schedule (a person asked for it). */
  | { kind: 'one'; id: number }
  /** Pending operations of the caller (of the business, for admins), due or not, oldest first. */
  | { kind: 'pending'; limit?: number }
  /** Pending operations whose retry is due (the automatic replay). */
  | { kind: 'due'; ids: readonly number[] };

export interface OfflineOperations {
  queue(
    actor: Actor,
    input: QueueOperationInput,
  ): Promise<{ operation: OfflineOperationRecord; created: boolean }>;
  list(
    actor: Actor,
    filter: { status?: OfflineOperationStatus; userId?: string; limit?: number; offset?: number },
  ): Promise<OfflineOperationRecord[]>;
  get(actor: Actor, id: number): Promise<OfflineOperationRecord>;
  status(actor: Actor, filter: { userId?: string }): Promise<OfflineStatus>;
  history(actor: Actor, id: number, limit?: number): Promise<OfflineSyncHistoryRecord[]>;
  getConfig(actor: Actor): Promise<OfflineConfigRecord>;
  updateConfig(actor: Actor, patch: OfflineConfigPatch): Promise<OfflineConfigRecord>;
  /**
   * Removes operations synced more than `olderThanDays` days ago, in bounded transactions, up to
   * offlineBatchDefaults.cleanupMax a call; `hasMore` when it stopped at that bound.
   */
  cleanup(actor: Actor, olderThanDays: number): Promise<{ deleted: number; hasMore: boolean }>;
  /** Marks the selected operations `syncing` and says where to send each. */
  claim(actor: Actor, selection: ClaimSelection): Promise<ClaimedOperation[]>;
  /** Records one attempt's answer: status, response, attempts, backoff and a history row. */
  recordAttempt(
    tenant: string,
    claimed: ClaimedOperation,
    answer: UpstreamAnswer,
    meta: AttemptMeta,
  ): Promise<AttemptResult | undefined>;
  /**
   * Refreshes a claim just before its operation is sent, so that no other replayer can take it
   * over as stale while the request is in flight; undefined when the claim was already lost.
   */
  renew(tenant: string, claimed: ClaimedOperation): Promise<ClaimedOperation | undefined>;
  /** Hands claimed operations back untouched (their device's earlier operation must go first). */
  release(tenant: string, claimed: readonly ClaimedOperation[]): Promise<void>;
  /**
   * Settles a conflict (admins): server_wins closes it with the API's copy standing (status
   * synced); client_wins and merge make it pending as an overwrite, for the caller to send.
   */
  resolve(actor: Actor, id: number, input: ResolveInput): Promise<OfflineOperationRecord>;
  /** Failed operations (the caller's, or the business's for admins) get a fresh round of attempts. */
  reopenFailed(actor: Actor, ids?: readonly number[], limit?: number): Promise<number>;
  /** Due operations of every business, for the automatic replay. */
  findDue(limit: number): Promise<{ tenant: string; ids: number[] }[]>;
}

const systemClock = { now: () => new Date() };
const maxListLimit = 1000;

/** Bounds on the work one request starts, so that one business cannot starve the others. */
export const offlineBatchDefaults = {
  /** Operations one sync or retry request sends at most (the rest wait for the next call). */
  replayMax: 50,
  /** Rows one cleanup transaction deletes, and one cleanup request at most. */
  cleanupBatch: 500,
  cleanupMax: 5000,
} as const;

/** The system actor the automatic replay acts as, in one business. */
export const replayActor = (tenant: string): Actor => ({
  tenant,
  userId: 'system:replay',
  role: 'admin',
  claims: {},
});

export function createOfflineOperations(options: OfflineOperationsOptions): OfflineOperations {
  const { store, crypto } = options;
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? replayBackoffDefaults;
  const policy = options.upstreamPolicy ?? createUpstreamPolicy();
  const resolveHost = options.resolveHost;

  /** The URL check, then (for a name) the addresses it resolves to now. */
  const refuseUpstream = async (text: string): Promise<string | undefined> => {
    const problem = refuseUpstreamUrl(text, policy);
    if (problem || !resolveHost) return problem;
    const url = new URL(text);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let answers: readonly { address: string }[];
    try {
      answers = await resolveHost(host);
    } catch {
      // Not resolvable now (DNS down, not yet published): each send checks what it connects to.
      return undefined;
    }
    for (const { address } of answers) {
      const refused = policy.refuseAddress(host, address, portOf(url));
      if (refused) return refused;
    }
    return undefined;
  };

  const scopeOf = (actor: Actor, userId?: string): { userId?: string } =>
    scopeFor(actor, userId, "Only admins may read another user's operations");

  const configOf = async (reads: {
    getConfig(): Promise<OfflineConfigRecord | undefined>;
  }): Promise<OfflineConfigRecord> => ({
    // A config stored before a setting existed takes that setting's default.
    ...offlineConfigDefaults,
    updatedAt: null,
    updatedBy: null,
    ...(await reads.getConfig()),
  });

  /** An operation the actor may see: their own, or any of the business's for admins. */
  const visible = (actor: Actor, operation: OfflineOperationRecord | undefined, id: number) => {
    if (!operation || !ownsOrAdmin(actor, operation.userId)) {
      throw new SyncError('NOT_FOUND', `Offline operation ${id} not found`);
    }
    return operation;
  };

  async function audit(tx: OfflineTenantTx, actor: Actor, action: string, details: object) {
    await tx.insertAudit({
      actor: actor.userId,
      action,
      target: null,
      details: details as Record<string, unknown>,
      createdAt: clock.now().toISOString(),
    });
  }

  return {
    async queue(actor, input) {
      const endpointProblem = refuseEndpoint(input.endpoint);
      if (endpointProblem) throw new SyncError('VALIDATION_FAILED', endpointProblem);
      // A queued request body is held to the limit of an entity payload.
      if (jsonByteLength(input.requestBody ?? null) > limitsDefaults.maxPayloadBytes) {
        throw new SyncError(
          'PAYLOAD_TOO_LARGE',
          `request_body is larger than ${limitsDefaults.maxPayloadBytes} bytes`,
        );
      }
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const now = clock.now().toISOString();
        if (input.operationId !== undefined) {
          const existing = await tx.findByOperationId(input.deviceId, input.operationId);
          if (existing) {
            assertOwnRecord(actor, existing.userId, 'This operation_id belongs to another user');
            const same =
              existing.endpoint === input.endpoint &&
              existing.method === input.method &&
              existing.operationType === input.operationType &&
              canonicalJson(existing.requestBody ?? null) ===
                canonicalJson(input.requestBody ?? null);
            if (!same) {
              throw new SyncError(
                'VALIDATION_FAILED',
                'This operation_id was already used for another operation',
              );
            }
            return { operation: existing, created: false };
          }
        }
        const config = await configOf(tx);
        const refused = refuseOffline(config, input.operationType);
        if (refused) throw new SyncError('OFFLINE_NOT_ALLOWED', refused);
        const counts = await tx.countByStatus({});
        if (counts.pending + counts.syncing >= config.max_queue_size) {
          throw new SyncError(
            'QUEUE_FULL',
            `The offline queue holds ${config.max_queue_size} operations (max_queue_size)`,
          );
        }
        const operationId = input.operationId ?? `op_${crypto.newId()}`;
        const record = {
          userId: actor.userId,
          deviceId: input.deviceId,
          operationType: input.operationType,
          operationId,
          idempotencyKey: crypto
            .sha256Hex(canonicalJson([actor.tenant, input.deviceId, operationId]))
            .slice(0, 48),
          endpoint: input.endpoint,
          method: input.method,
          requestBody: input.requestBody ?? null,
          status: 'pending' as const,
          syncAttempts: 0,
          attemptLimit: 1 + config.max_retry_attempts,
          statusCode: null,
          serverResponse: null,
          serverId: null,
          conflictType: null,
          conflictData: null,
          resolutionStrategy: null,
          overwriteKey: null,
          resolvedAt: null,
          resolvedBy: null,
          errorCategory: null,
          errorMessage: null,
          networkType: input.networkType,
          nextAttemptAt: now,
          claimedAt: null,
          lastAttemptAt: null,
          syncedAt: null,
          failedAt: null,
          createdAt: now,
          updatedAt: now,
        };
        const id = await tx.insertOperation(record);
        return { operation: { id, ...record }, created: true };
      });
    },

    async list(actor, filter) {
      return store.forTenant(actor.tenant).listOperations({
        ...scopeOf(actor, filter.userId),
        statuses: [filter.status ?? 'pending'],
        limit: Math.min(filter.limit ?? 100, maxListLimit),
        offset: filter.offset ?? 0,
      });
    },

    async get(actor, id) {
      return visible(actor, await store.forTenant(actor.tenant).getOperation(id), id);
    },

    async status(actor, filter) {
      const tenant = store.forTenant(actor.tenant);
      const scope = scopeOf(actor, filter.userId);
      const [counts, lastSync] = await Promise.all([
        tenant.countByStatus(scope),
        tenant.lastSyncedAt(scope),
      ]);
      const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
      return {
        pending: counts.pending,
        syncing: counts.syncing,
        synced: counts.synced,
        conflicts: counts.conflict,
        failed: counts.failed,
        total,
        lastSync,
      };
    },

    async history(actor, id, limit = 50) {
      const tenant = store.forTenant(actor.tenant);
      const scope = ownScope(actor);
      const rows = await tenant.listHistory({
        queueId: id,
        ...scope,
        limit: Math.min(limit, maxListLimit),
      });
      // A cleaned-up operation keeps its history; an unknown (or someone else's) id is 404.
      if (rows.length === 0) visible(actor, await tenant.getOperation(id), id);
      return rows;
    },

    async getConfig(actor) {
      return configOf(store.forTenant(actor.tenant));
    },

    async updateConfig(actor, patch) {
      requireAdmin(actor);
      if (patch.default_conflict_strategy === 'merge') {
        throw new SyncError(
          'VALIDATION_FAILED',
          'default_conflict_strategy merge cannot be applied automatically: a replayed request ' +
            "and the API's 409 answer carry no common base version to merge against. Choose " +
            'manual and settle each conflict with POST /api/offline/resolve/:id ' +
            '{ "strategy": "merge", "request_body": <the combined version> }',
          { field: 'default_conflict_strategy' },
        );
      }
      if (typeof patch.upstream_base_url === 'string') {
        const problem = await refuseUpstream(patch.upstream_base_url);
        if (problem) {
          throw new SyncError('UPSTREAM_NOT_ALLOWED', `upstream_base_url refused: ${problem}`);
        }
      }
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const current = await configOf(tx);
        const changed = Object.fromEntries(
          Object.entries(patch).filter(([, value]) => value !== undefined),
        );
        const next: OfflineConfigRecord = {
          ...current,
          ...changed,
          updatedAt: clock.now().toISOString(),
          updatedBy: actor.userId,
        };
        await tx.putConfig(next);
        await audit(tx, actor, 'offline.config', { changed });
        return next;
      });
    },

    async cleanup(actor, olderThanDays) {
      requireAdmin(actor);
      const before = new Date(clock.now().getTime() - olderThanDays * 86_400_000).toISOString();
      const { cleanupBatch, cleanupMax } = offlineBatchDefaults;
      const tenant = store.forTenant(actor.tenant);
      let deleted = 0;
      for (;;) {
        const limit = Math.min(cleanupBatch, cleanupMax - deleted);
        const n = await tenant.transact((tx) => tx.deleteSyncedBefore(before, {}, limit));
        deleted += n;
        if (n < limit || deleted >= cleanupMax) break;
        await yieldToEventLoop();
      }
      const hasMore = deleted === cleanupMax;
      await tenant.transact((tx) =>
        audit(tx, actor, 'offline.cleanup', { olderThanDays, deleted, hasMore }),
      );
      return { deleted, hasMore };
    },

    async claim(actor, selection) {
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const now = clock.now();
        const iso = now.toISOString();
        const staleBefore = new Date(now.getTime() - replayLeaseMs).toISOString();
        const config = await configOf(tx);
        let candidates: OfflineOperationRecord[];
        if (selection.kind === 'one') {
          const operation = visible(actor, await tx.getOperation(selection.id), selection.id);
          // A synced or conflicting operation is settled; sending it again could apply it twice.
          const claimable =
            operation.status === 'pending' ||
            operation.status === 'failed' ||
            (operation.status === 'syncing' && (operation.claimedAt ?? '') < staleBefore);
          candidates = claimable ? [operation] : [];
        } else if (selection.kind === 'pending') {
          candidates = await tx.listOperations({
            ...ownScope(actor),
            statuses: ['pending'],
            limit: Math.min(selection.limit ?? maxListLimit, maxListLimit),
          });
        } else {
          if (!config.auto_sync_enabled) return [];
          const rows = await tx.listOperations({
            ids: selection.ids,
            statuses: ['pending', 'syncing'],
          });
          candidates = rows.filter((op) =>
            op.status === 'pending'
              ? (op.nextAttemptAt ?? '') <= iso
              : (op.claimedAt ?? '') < staleBefore,
          );
        }
        if (candidates.length === 0) return [];
        if (!config.upstream_base_url) {
          if (selection.kind === 'due') return [];
          throw new SyncError(
            'UPSTREAM_NOT_CONFIGURED',
            'Set upstream_base_url with PATCH /api/offline/config first',
          );
        }
        const claimed: ClaimedOperation[] = [];
        for (const operation of candidates) {
          // A failed operation re-sent by a person gets one more attempt beyond its limit.
          const attemptLimit =
            operation.status === 'failed'
              ? Math.max(operation.attemptLimit, operation.syncAttempts + 1)
              : operation.attemptLimit;
          const patch = {
            status: 'syncing' as const,
            claimedAt: iso,
            updatedAt: iso,
            attemptLimit,
          };
          await tx.updateOperation(operation.id, patch);
          claimed.push({
            tenant: actor.tenant,
            operation: { ...operation, ...patch },
            target: upstreamTarget(config.upstream_base_url, operation.endpoint, policy),
            headers: {
              'content-type': 'application/json',
              'idempotency-key': operation.idempotencyKey,
              'x-device-id': operation.deviceId,
              'x-operation-id': operation.operationId,
              'x-offline-replay': 'true',
              ...(operation.networkType ? { 'x-network-type': operation.networkType } : {}),
              ...overwriteHeaders(operation),
            },
          });
        }
        return claimed;
      });
    },

    async recordAttempt(tenant, claimed, answer, meta) {
      return store.forTenant(tenant).transact(async (tx) => {
        const current = await tx.getOperation(claimed.operation.id);
        // Another replayer took it over (our claim went stale) or it was cleaned up: drop ours.
        if (
          !current ||
          current.status !== 'syncing' ||
          current.claimedAt !== claimed.operation.claimedAt
        ) {
          return undefined;
        }
        const config = await configOf(tx);
        const now = clock.now();
        const decision = decideAttempt(current, answer, config, now, backoff);
        await tx.updateOperation(current.id, decision.patch);
        await tx.insertHistory({
          queueId: current.id,
          userId: current.userId,
          deviceId: meta.deviceId ?? current.deviceId,
          attempt: current.syncAttempts + 1,
          ...decision.history,
          durationMs: Math.max(0, Math.round(answer.durationMs)),
          networkType: meta.networkType ?? current.networkType,
          createdAt: now.toISOString(),
        });
        return { operation: { ...current, ...decision.patch }, outcome: decision.outcome };
      });
    },

    async renew(tenant, claimed) {
      return store.forTenant(tenant).transact(async (tx) => {
        const current = await tx.getOperation(claimed.operation.id);
        if (current?.status !== 'syncing' || current.claimedAt !== claimed.operation.claimedAt) {
          return undefined;
        }
        const claimedAt = clock.now().toISOString();
        await tx.updateOperation(current.id, { claimedAt });
        return { ...claimed, operation: { ...claimed.operation, claimedAt } };
      });
    },

    async release(tenant, claimed) {
      if (claimed.length === 0) return;
      await store.forTenant(tenant).transact(async (tx) => {
        for (const { operation } of claimed) {
          const current = await tx.getOperation(operation.id);
          if (current?.status !== 'syncing' || current.claimedAt !== operation.claimedAt) continue;
          await tx.updateOperation(operation.id, {
            status: current.syncAttempts >= current.attemptLimit ? 'failed' : 'pending',
            claimedAt: null,
            updatedAt: clock.now().toISOString(),
          });
        }
      });
    },

    async resolve(actor, id, input) {
      if (!isAdmin(actor)) {
        throw new SyncError('ADMIN_REQUIRED', 'A conflict is settled by an admin');
      }
      const { strategy } = input;
      if (strategy === 'merge') {
        if (input.requestBody === undefined) {
          throw new SyncError(
            'VALIDATION_FAILED',
            'merge needs request_body: the version combined from the request and the API copy',
            { field: 'request_body' },
          );
        }
        if (jsonByteLength(input.requestBody) > limitsDefaults.maxPayloadBytes) {
          throw new SyncError(
            'PAYLOAD_TOO_LARGE',
            `request_body is larger than ${limitsDefaults.maxPayloadBytes} bytes`,
          );
        }
      } else if (input.requestBody !== undefined) {
        throw new SyncError('VALIDATION_FAILED', 'request_body is only taken with merge', {
          field: 'request_body',
        });
      }
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const operation = visible(actor, await tx.getOperation(id), id);
        if (operation.status !== 'conflict') {
          if (operation.conflictType === null) {
            throw new SyncError('INVALID_OPERATION', `Offline operation ${id} has no conflict`);
          }
          throw new SyncError(
            'CONFLICT_ALREADY_RESOLVED',
            `The conflict of offline operation ${id} is already settled (status ${operation.status})`,
          );
        }
        const iso = clock.now().toISOString();
        const settled = { resolvedAt: iso, resolvedBy: actor.userId, updatedAt: iso };
        let patch: Partial<OfflineOperationRecord>;
        if (strategy === 'server_wins') {
          patch = {
            ...settled,
            status: 'synced',
            resolutionStrategy: 'server_wins',
            serverId: operation.serverId ?? serverIdOf(operation.conflictData),
            nextAttemptAt: null,
            syncedAt: iso,
          };
        } else {
          // The API already applied a duplicate: sending it again would apply it twice.
          if (operation.conflictType === 'DUPLICATE') {
            throw new SyncError(
              'INVALID_OPERATION',
              `Offline operation ${id} is a DUPLICATE the API already processed; settle it with server_wins`,
            );
          }
          const config = await configOf(tx);
          if (!config.upstream_base_url) {
            throw new SyncError(
              'UPSTREAM_NOT_CONFIGURED',
              'Set upstream_base_url with PATCH /api/offline/config first',
            );
          }
          patch = {
            ...settled,
            status: 'pending',
            resolutionStrategy: strategy,
            overwriteKey: resolutionOverwriteKey(operation, strategy),
            ...(strategy === 'merge' ? { requestBody: input.requestBody } : {}),
            attemptLimit: operation.syncAttempts + 1 + config.max_retry_attempts,
            nextAttemptAt: iso,
            failedAt: null,
          };
        }
        await tx.updateOperation(operation.id, patch);
        await audit(tx, actor, 'offline.resolve', {
          queueId: operation.id,
          strategy,
          conflictType: operation.conflictType,
          // Nothing is overwritten without a copy: the device's request as it was.
          ...(strategy === 'merge' ? { replacedRequestBody: operation.requestBody } : {}),
        });
        return { ...operation, ...patch };
      });
    },

    async reopenFailed(actor, ids, limit = maxListLimit) {
      return store.forTenant(actor.tenant).transact(async (tx) => {
        const config = await configOf(tx);
        const failed = await tx.listOperations({
          ...ownScope(actor),
          statuses: ['failed'],
          ...(ids ? { ids } : {}),
          limit: Math.min(limit, maxListLimit),
        });
        const now = clock.now().toISOString();
        for (const operation of failed) {
          await tx.updateOperation(operation.id, {
            status: 'pending',
            attemptLimit: operation.syncAttempts + 1 + config.max_retry_attempts,
            nextAttemptAt: now,
            failedAt: null,
            updatedAt: now,
          });
        }
        await audit(tx, actor, 'offline.retry', { reopened: failed.length });
        return failed.length;
      });
    },

    async findDue(limit) {
      const now = clock.now();
      const due = await store.findDue(
        now.toISOString(),
        new Date(now.getTime() - replayLeaseMs).toISOString(),
        limit,
      );
      const byTenant = new Map<string, number[]>();
      for (const { tenant, id } of due) {
        const ids = byTenant.get(tenant) ?? [];
        ids.push(id);
        byTenant.set(tenant, ids);
      }
      return [...byTenant].map(([tenant, ids]) => ({ tenant, ids }));
    },
  };
}
