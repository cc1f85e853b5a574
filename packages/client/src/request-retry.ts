import { retryAfterSeconds } from '@triggers/event-schema';

/**
 * The client's own retries of a request (not the queue's retries of a message, nor a webhook's
 * attempts, which happen inside the system): after 429 or 503, or a failure in transit.
 */
export interface RequestRetryPolicy {
  /** Attempts of one request in all, the first included. */
  maxAttempts: number;
  /** First backoff when the API gives no `Retry-After`; doubled on each further attempt. */
  baseDelayMs: number;
  /** The longest wait between two attempts, `Retry-After` included. */
  maxDelayMs: number;
}

export const DEFAULT_REQUEST_RETRY: RequestRetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
};

/** Statuses after which the same request may succeed later. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** Milliseconds a `Retry-After` value asks for (read by the shared parser), or `undefined`. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  const seconds = retryAfterSeconds(value, now);
  return seconds === undefined ? undefined : seconds * 1000;
}

/**
 * The wait before attempt `attempt + 1`: what `Retry-After` asked for when given, otherwise an
 * exponential backoff with jitter (half fixed, half random, so that clients refused together do
 * not all return together); never more than `maxDelayMs`.
 */
export function requestRetryDelayMs(
  policy: RequestRetryPolicy,
  attempt: number,
  retryAfter: number | undefined,
  random = Math.random,
): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxDelayMs);
  const backoff = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return backoff / 2 + (random() * backoff) / 2;
}
