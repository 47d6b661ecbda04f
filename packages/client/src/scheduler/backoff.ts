// Retry timing for the sync loop: exponential backoff with jitter, capped, and the per-mutation
// limit on refusals answered by a retry. Exported as `retryDefaults` so an app (or a seed's config) can tune it.
export interface RetryOptions {
  /** The first wait after a failure. */
  initialDelayMs: number;
  /** No wait grows past this. */
  maxDelayMs: number;
  multiplier: number;
  /** Fraction of each wait drawn at random (0.2: between 80 % and 100 % of the step). */
  jitter: number;
  /**
   * Refusals of one mutation the client answers by stamping it again (FUTURE_TIMESTAMP) before
   * it moves aside and waits for retryFailed(). Transient failures (5xx, 429, network, timeouts)
   * never count: they are retried with backoff for as long as they last.
   */
  maxAttempts: number;
}

export const retryDefaults: Readonly<RetryOptions> = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  multiplier: 2,
  jitter: 0.2,
  maxAttempts: 5,
});

/**
 * The wait before retry number `failures` (1 for the first failure): 1 s, 2 s, 4 s … capped, less
 * a random share so that many devices back online at once do not retry in step.
 */
export function backoffDelay(
  failures: number,
  options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'multiplier' | 'jitter'>,
  random: () => number = Math.random,
): number {
  const step = Math.min(
    options.maxDelayMs,
    options.initialDelayMs * options.multiplier ** Math.max(0, failures - 1),
  );
  return Math.round(step * (1 - options.jitter * random()));
}
