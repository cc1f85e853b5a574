/**
 * Queue retries: how long a message the consumer failed waits before the queue hands it over
 * again (`message.retry({ delaySeconds })`). Not a webhook attempt (delivery/, on its own
 * schedule) and not a client's request retry.
 *
 * Delay before the first retry; each further one doubles it. Short, because the failures worth
 * retrying (a store or queue hiccup) clear in seconds, and `event-queue` gives a message only 3
 * retries: 2 s, 4 s, 8 s.
 */
export const QUEUE_RETRY_BASE_DELAY_SECONDS = 2;

/** The longest delay, reached by `event-dlq`'s many retries during a long store outage. */
export const QUEUE_RETRY_MAX_DELAY_SECONDS = 300;

/** Seconds before the queue hands a message over again after its attempt number `attempts` (1-based) failed. */
export function queueRetryDelaySeconds(attempts: number): number {
  const doublings = Math.max(0, attempts - 1);
  return Math.min(QUEUE_RETRY_MAX_DELAY_SECONDS, QUEUE_RETRY_BASE_DELAY_SECONDS * 2 ** doublings);
}
