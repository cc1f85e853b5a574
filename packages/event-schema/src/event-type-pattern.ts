import * as v from 'valibot';
import { MAX_IDENTITY_LENGTH } from './limits.ts';

/**
 * One syntax for choosing events by type, wherever the API takes one: a subscription's
 * `event_types` and the inbox's `?type=`. A pattern is an exact type (`order.created`), or a
 * prefix ending in `.*` (`order.*`: `order.created` and `order.refund.issued`, not `order` and
 * not `orders.x`). The store's SQL (the inbox's range, the fan-out's join) is tested against
 * {@link matchesEventType}, the one definition of what a pattern matches.
 */

/** What a pattern selects: one type, or every type that starts with `prefix`. */
export type EventTypeMatch = { exact: string } | { prefix: string };

/** An event type pattern: an exact type without `*`, or a prefix ending in `.*`. */
export const EventTypePattern = v.pipe(
  v.string('must be a string'),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_IDENTITY_LENGTH, `must be at most ${MAX_IDENTITY_LENGTH} characters`),
  v.regex(/^(?:[^*]+|[^*]+\.\*)$/, 'may use * only as a final ".*" after a prefix (order.*)'),
);
export type EventTypePattern = v.InferOutput<typeof EventTypePattern>;

/**
 * What the inbox's `?type=` also takes, deprecated: the form it took before patterns were one
 * syntax, where a trailing `*` after any prefix (`order*`) matches every type starting with that
 * prefix (`orders.x` and `order` too), and any other text is an exact type.
 */
export const DeprecatedInboxTypeFilter = v.pipe(
  v.string('must be a string'),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_IDENTITY_LENGTH, `must be at most ${MAX_IDENTITY_LENGTH} characters`),
  v.regex(/^(?!\*$)/, 'must name a type or a prefix before *'),
);

/**
 * What `pattern` selects. Takes a valid {@link EventTypePattern}, and also the deprecated inbox
 * form: `prefix*` (a trailing `*` not after a dot) is that prefix; other text is exact.
 */
export function eventTypeMatch(pattern: string): EventTypeMatch {
  return pattern.endsWith('*') ? { prefix: pattern.slice(0, -1) } : { exact: pattern };
}

/** Whether an event of `type` is one that `pattern` selects. */
export function matchesEventType(pattern: string, type: string): boolean {
  const match = eventTypeMatch(pattern);
  return 'exact' in match ? type === match.exact : type.startsWith(match.prefix);
}

/** Whether an event of `type` matches a subscription's `event_types` (any of them; null = every event). */
export function matchesEventTypes(patterns: readonly string[] | null, type: string): boolean {
  return patterns === null || patterns.some((pattern) => matchesEventType(pattern, type));
}
