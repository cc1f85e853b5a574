/**
 * Delay before the first retry; each further attempt doubles it. Short, because the failures
 * worth retrying (a D1 or queue hiccup) clear in seconds, and `event-queue` gives a message only
 * 3 retries: 2 s, 4 s, 8 s.
 */
export const RETRY_BASE_DELAY_SECONDS = 2;

/** The longest delay, reached by `event-dlq`'s many retries during a long D1 outage. */
export const RETRY_MAX_DELAY_SECONDS = 300;

/** Seconds to wait before redelivering a message that failed on delivery number `attempts` (1-based). */
export function retryDelaySeconds(attempts: number): number {
  const doublings = Math.max(0, attempts - 1);
  return Math.min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_DELAY_SECONDS * 2 ** doublings);
}
