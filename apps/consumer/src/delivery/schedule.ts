/**
 * When a delivery's next attempt is due after a failed one: the schedule's delay (the
 * `DELIVERY_SCHEDULE` var, `DEFAULT_ATTEMPT_SCHEDULE` of @triggers/webhooks by default) with
 * random jitter, lengthened (never shortened) by the subscriber's `Retry-After`, within what a
 * queue message's delay allows.
 */

/** Fraction of random jitter applied to each scheduled delay (0.2 = ±20 %), so that the attempts of many deliveries do not arrive together. */
export const ATTEMPT_JITTER = 0.2;

/** The longest wait before an attempt, whatever `Retry-After` asks: a queue message's longest delay (12 h). */
export const MAX_ATTEMPT_DELAY_SECONDS = 43_200;

/**
 * Seconds to wait before attempt `next` (2 for the first retry), or undefined when the schedule
 * has no attempt `next`: the delivery has failed. `retryAfter` is the seconds the subscriber's
 * `Retry-After` asked for, if anything; `random` in [0, 1) picks the jitter.
 */
export function attemptDelaySeconds(
  schedule: readonly number[],
  next: number,
  retryAfter: number | undefined,
  random = Math.random(),
): number | undefined {
  const base = schedule[next - 2];
  if (base === undefined) return undefined;
  const jittered = Math.max(0, Math.round(base * (1 + ATTEMPT_JITTER * (random * 2 - 1))));
  return Math.min(MAX_ATTEMPT_DELAY_SECONDS, Math.max(jittered, retryAfter ?? 0));
}
