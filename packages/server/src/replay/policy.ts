// Pure decisions for requests that replay against a business's own API (seed 003): which
// operation types may queue offline, where a request may be sent, what an upstream answer means
// for the operation, and when a retry is due. No I/O: the replayer in src/jobs sends the request.
import type {
  OfflineConfig,
  OfflineOperationRecord,
  OfflineOperationStatus,
  OfflineSyncHistoryRecord,
  ReplayConflictType,
  ReplayErrorCategory,
} from './ports.js';
import type { UpstreamPolicy } from './upstream-address.js';

export const offlineConfigDefaults: OfflineConfig = {
  offline_mode_enabled: true,
  auto_sync_enabled: true,
  sync_interval_minutes: 5,
  max_retry_attempts: 3,
  max_queue_size: 500,
  default_conflict_strategy: 'server_wins',
  allow_sales_offline: true,
  allow_expenses_offline: true,
  allow_records_offline: true,
  allow_payments_offline: true,
  allow_stock_adjustment_offline: false,
  upstream_base_url: null,
};

/** Exponential backoff for automatic replays: base · 2^(attempt-1), capped. */
export interface ReplayBackoff {
  baseMs: number;
  maxMs: number;
}

export const replayBackoffDefaults: Readonly<ReplayBackoff> = { baseMs: 2_000, maxMs: 10 * 60_000 };

/** A claim older than this is taken over (the replayer that held it is presumed gone). */
export const replayLeaseMs = 5 * 60_000;

export function replayDelayMs(
  attempt: number,
  backoff: ReplayBackoff = replayBackoffDefaults,
): number {
  const exponent = Math.max(0, Math.min(30, attempt - 1));
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
}

/** The config flag that governs an operation type; custom types follow offline mode alone. */
const allowFlags: Record<string, keyof OfflineConfig> = {
  sale: 'allow_sales_offline',
  sales: 'allow_sales_offline',
  expense: 'allow_expenses_offline',
  expenses: 'allow_expenses_offline',
  record: 'allow_records_offline',
  records: 'allow_records_offline',
  payment: 'allow_payments_offline',
  payments: 'allow_payments_offline',
  stock_adjustment: 'allow_stock_adjustment_offline',
  stock_adjustments: 'allow_stock_adjustment_offline',
};

/** Why the business refuses this operation type offline, or undefined. */
export function refuseOffline(config: OfflineConfig, operationType: string): string | undefined {
  if (!config.offline_mode_enabled) return 'Offline mode is disabled for this business';
  const flag = allowFlags[operationType];
  if (flag && config[flag] === false) return `${flag} is false for this business`;
  return undefined;
}

/**
 * Why `text` may not be a business's upstream base URL, or undefined: http(s) only, no
 * credentials, query or fragment, and a host the operator's policy allows (see upstream-address:
 * public addresses by default, private ones only where SYNCLINE_UPSTREAM_ALLOW opens them). A
 * host name is judged by name here; the replayer judges each address it resolves to.
 */
export function refuseUpstreamUrl(text: string, policy: UpstreamPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'only http and https are allowed';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not allowed';
  if (url.search !== '' || url.hash !== '') return 'a query or fragment is not allowed';
  return policy.refuseHost(url);
}

/** Endpoints are paths on the upstream API; they can never name another host. */
export function refuseEndpoint(endpoint: string): string | undefined {
  if (!endpoint.startsWith('/') || endpoint.startsWith('//'))
    return 'endpoint must start with one /';
  const forbidden = [...endpoint].some(
    (c) => c <= ' ' || c === '\u007f' || c === '\\' || c === '#',
  );
  if (forbidden) return 'endpoint holds a forbidden character';
  // Dot segments (also percent-encoded) would climb out of the base URL's path.
  const path = endpoint.split('?')[0] as string;
  if (path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment)))
    return 'endpoint may not hold . or .. segments';
  return undefined;
}

/** The absolute URL an operation is sent to, or why it cannot be sent. */
export function upstreamTarget(
  baseUrl: string,
  endpoint: string,
  policy: UpstreamPolicy,
): { url: string } | { refused: string } {
  const refused = refuseUpstreamUrl(baseUrl, policy) ?? refuseEndpoint(endpoint);
  if (refused) return { refused };
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${prefix}${endpoint}`, base.origin);
  if (url.origin !== base.origin) return { refused: 'endpoint leaves the upstream origin' };
  return { url: url.toString() };
}

/** What came back from one attempt to send an operation upstream. */
export type UpstreamAnswer =
  | {
      kind: 'response';
      status: number;
      body: unknown;
      /** Retry-After, in milliseconds, when the upstream sent one. */
      retryAfterMs?: number;
      durationMs: number;
    }
  | {
      kind: 'error';
      category: 'NETWORK' | 'TIMEOUT' | 'POLICY';
      message: string;
      durationMs: number;
    };

const conflictAliases: Record<string, ReplayConflictType> = {
  DUPLICATE: 'DUPLICATE',
  DUPLICATE_CREATE: 'DUPLICATE',
  ALREADY_EXISTS: 'DUPLICATE',
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  VERSION_CONFLICT: 'VERSION_MISMATCH',
  STALE: 'VERSION_MISMATCH',
  DELETED: 'DELETED',
  GONE: 'DELETED',
  MANUAL: 'MANUAL',
};

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** The conflict type a 409 body names (conflict_type, conflictType, type, code, error.*), else MANUAL. */
export function conflictTypeOf(body: unknown): ReplayConflictType {
  const top = asRecord(body);
  const error = asRecord(top?.error);
  for (const value of [
    top?.conflict_type,
    top?.conflictType,
    top?.type,
    top?.code,
    error?.conflict_type,
    error?.type,
    error?.code,
  ]) {
    if (typeof value !== 'string') continue;
    const found = conflictAliases[value.trim().toUpperCase()];
    if (found) return found;
  }
  return 'MANUAL';
}

/** The id the upstream gave the created resource: id, server_id, serverId, _id, data.id. */
export function serverIdOf(body: unknown): string | null {
  const top = asRecord(body);
  const data = asRecord(top?.data);
  for (const value of [top?.server_id, top?.serverId, top?.id, top?._id, data?.id, data?._id]) {
    if (typeof value === 'string' && value.length > 0) return value.slice(0, 200);
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return null;
}

function errorMessageOf(status: number, body: unknown): string {
  const top = asRecord(body);
  const error = asRecord(top?.error);
  const text =
    (typeof error?.message === 'string' && error.message) ||
    (typeof top?.message === 'string' && top.message) ||
    (typeof top?.error === 'string' && top.error) ||
    (typeof body === 'string' && body) ||
    '';
  return `HTTP ${status}${text ? `: ${text.slice(0, 500)}` : ''}`;
}

export interface AttemptDecision {
  patch: Partial<OfflineOperationRecord>;
  history: Pick<
    OfflineSyncHistoryRecord,
    'status' | 'statusCode' | 'errorCategory' | 'errorMessage'
  >;
  outcome: Extract<OfflineOperationStatus, 'synced' | 'conflict' | 'failed' | 'pending'>;
}

/** The operation's next attempt overwrites the API's copy (after a conflict). */
export function isOverwrite(operation: Pick<OfflineOperationRecord, 'overwriteKey'>): boolean {
  return operation.overwriteKey !== null;
}

/** The key of the automatic overwrite under default_conflict_strategy client_wins. */
export const automaticOverwriteKey = (idempotencyKey: string) => `${idempotencyKey}.client_wins`;

/**
 * The key of a person's decision to overwrite: its own for each decision (an API that kept its
 * 409 under an earlier overwrite's key would answer that again), stable across the decision's
 * retries. The attempt count tells decisions apart: each decision follows another attempt.
 */
export const resolutionOverwriteKey = (
  operation: Pick<OfflineOperationRecord, 'idempotencyKey' | 'syncAttempts'>,
  strategy: 'client_wins' | 'merge',
) => `${operation.idempotencyKey}.${strategy}.${operation.syncAttempts}`;

/**
 * Headers that mark an overwrite: `X-Conflict-Resolution: client_wins` (or `merge`, when a person
 * combined both versions into the body), under the overwrite's own idempotency key.
 */
export function overwriteHeaders(
  operation: Pick<OfflineOperationRecord, 'overwriteKey' | 'resolutionStrategy'>,
): Record<string, string> {
  if (operation.overwriteKey === null) return {};
  return {
    'idempotency-key': operation.overwriteKey,
    'x-conflict-resolution': operation.resolutionStrategy === 'merge' ? 'merge' : 'client_wins',
  };
}

/**
 * What one upstream answer makes of the operation: 2xx synced; 409 a conflict of the type the
 * body names; 5xx, 429, network errors and timeouts retried with backoff until the attempt limit;
 * any other status (redirects included: they are not followed) failed with the error kept.
 */
export function decideAttempt(
  operation: Pick<
    OfflineOperationRecord,
    'idempotencyKey' | 'syncAttempts' | 'attemptLimit' | 'overwriteKey'
  >,
  answer: UpstreamAnswer,
  config: Pick<OfflineConfig, 'default_conflict_strategy'>,
  now: Date,
  backoff: ReplayBackoff = replayBackoffDefaults,
): AttemptDecision {
  const attempts = operation.syncAttempts + 1;
  const iso = now.toISOString();
  const base = { syncAttempts: attempts, lastAttemptAt: iso, claimedAt: null, updatedAt: iso };

  const retryOrFail = (
    category: ReplayErrorCategory,
    message: string,
    statusCode: number | null,
    minDelayMs = 0,
  ): AttemptDecision => {
    const history = { statusCode, errorCategory: category, errorMessage: message };
    if (category !== 'POLICY' && attempts < operation.attemptLimit) {
      const delay = Math.max(replayDelayMs(attempts, backoff), minDelayMs);
      return {
        outcome: 'pending',
        patch: {
          ...base,
          status: 'pending',
          errorCategory: category,
          errorMessage: message,
          nextAttemptAt: new Date(now.getTime() + delay).toISOString(),
          ...(statusCode !== null ? { statusCode } : {}),
        },
        history: { ...history, status: 'retry' },
      };
    }
    return {
      outcome: 'failed',
      patch: {
        ...base,
        status: 'failed',
        errorCategory: category,
        errorMessage: message,
        nextAttemptAt: null,
        failedAt: iso,
        ...(statusCode !== null ? { statusCode } : {}),
      },
      history: { ...history, status: 'failed' },
    };
  };

  if (answer.kind === 'error') return retryOrFail(answer.category, answer.message, null);

  const { status, body } = answer;
  if (status >= 200 && status < 300) {
    return {
      outcome: 'synced',
      patch: {
        ...base,
        status: 'synced',
        statusCode: status,
        serverResponse: body,
        serverId: serverIdOf(body),
        errorCategory: null,
        errorMessage: null,
        nextAttemptAt: null,
        syncedAt: iso,
      },
      history: { status: 'success', statusCode: status, errorCategory: null, errorMessage: null },
    };
  }
  if (status === 409) {
    const conflictType = conflictTypeOf(body);
    const message = errorMessageOf(status, body);
    const history = {
      status: 'conflict' as const,
      statusCode: status,
      errorCategory: 'CONFLICT' as const,
      errorMessage: message,
    };
    const conflict = {
      ...base,
      statusCode: status,
      serverResponse: body,
      conflictType,
      conflictData: body,
      errorCategory: 'CONFLICT' as const,
      errorMessage: message,
    };
    // client_wins: the request is sent once more, marked as an overwrite (see overwriteHeaders).
    // A duplicate is never overwritten (the API already has it), nor is a second refusal.
    const overwritten = isOverwrite(operation);
    if (
      config.default_conflict_strategy === 'client_wins' &&
      conflictType !== 'DUPLICATE' &&
      !overwritten
    ) {
      return {
        outcome: 'conflict',
        patch: {
          ...conflict,
          status: 'pending',
          resolutionStrategy: 'client_wins',
          overwriteKey: automaticOverwriteKey(operation.idempotencyKey),
          nextAttemptAt: iso,
        },
        history,
      };
    }
    return {
      outcome: 'conflict',
      patch: {
        ...conflict,
        status: 'conflict',
        // A duplicate is settled by the API's copy; a refused overwrite waits for a person;
        // otherwise the business's strategy is recorded (server_wins: the API's copy stands).
        resolutionStrategy:
          conflictType === 'DUPLICATE'
            ? 'server_wins'
            : overwritten
              ? 'manual'
              : config.default_conflict_strategy,
        serverId: conflictType === 'DUPLICATE' ? serverIdOf(body) : null,
        nextAttemptAt: null,
      },
      history,
    };
  }
  if (status >= 500 || status === 429) {
    const category = status === 429 ? 'CLIENT_ERROR' : 'SERVER_ERROR';
    return retryOrFail(category, errorMessageOf(status, body), status, answer.retryAfterMs ?? 0);
  }
  const message = errorMessageOf(status, body);
  return {
    outcome: 'failed',
    patch: {
      ...base,
      status: 'failed',
      statusCode: status,
      serverResponse: body,
      errorCategory: 'CLIENT_ERROR',
      errorMessage: message,
      nextAttemptAt: null,
      failedAt: iso,
    },
    history: {
      status: 'failed',
      statusCode: status,
      errorCategory: 'CLIENT_ERROR',
      errorMessage: message,
    },
  };
}
