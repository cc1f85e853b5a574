/**
 * The one reading of a `Retry-After` header (RFC 9110 §10.2.3), for everything that honours one:
 * `@triggers/client` when the API answers 429 or 503, and the consumer's dispatcher when a
 * subscriber does. Each caller caps the wait at its own longest delay.
 */

/** delay-seconds: digits only (no sign, no fraction). */
const DELAY_SECONDS = /^\d+$/;

/**
 * An HTTP date. All three forms RFC 9110 accepts (`Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete
 * `Sunday, 06-Nov-94 08:49:37 GMT` and `Sun Nov  6 08:49:37 1994`) begin with the day's name; a
 * value that does not is refused before `Date.parse`, which would read `-1` or `+5` as a year.
 */
const HTTP_DATE = /^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? /i;

/**
 * Seconds a `Retry-After` value asks to wait: its delay-seconds, or the whole seconds from `now`
 * until its HTTP date (rounded up, 0 for a date already past). `undefined` when the header is
 * absent or says nothing readable. Not capped: the caller applies its own ceiling.
 *
 * @example
 * retryAfterSeconds(response.headers.get('retry-after')) // '120' → 120; 'soon' → undefined
 */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (DELAY_SECONDS.test(text)) return Number(text);
  if (!HTTP_DATE.test(text)) return undefined;
  // asctime names no zone, and Date.parse would read it as local time; HTTP dates are all GMT.
  const at = Date.parse(/\d$/.test(text) ? `${text} GMT` : text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
