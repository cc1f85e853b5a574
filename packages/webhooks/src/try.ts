import { matchesEventTypes, type WebhookEvent } from '@triggers/event-schema';
import { compileFilter, type EventFilter } from './filter.ts';
import { runTransform } from './transform.ts';

/**
 * What a subscription makes of an event, decided the way deliveries are: its `event_types` by
 * `matchesEventTypes` (what the fan-out's SQL says), its filter by {@link compileFilter} (what the
 * fan-out runs), its transformation by {@link runTransform} (what the dispatcher runs before each
 * attempt, through {@link webhookBody}). The ingest Worker's tester (`POST /subscriptions/test`)
 * answers with these; there is no second evaluator to drift from the first.
 */

/** The body of an attempt: the event as JSON, or what the transformation makes of it, or why it failed. */
export async function webhookBody(
  event: WebhookEvent,
  transform: string | null,
): Promise<{ body: string } | { error: string; code: string }> {
  if (transform === null) return { body: JSON.stringify(event) };
  const result = await runTransform(transform, event);
  return 'body' in result ? result : { code: result.code, error: `transformation failed: ${result.error}` };
}

/** What decides delivery: a subscription, or a draft of one. `filter` must have been checked (throws FilterError otherwise). */
export interface SubscriptionRules {
  eventTypes: readonly string[] | null;
  filter: unknown;
  transform: string | null;
}

/** One event tried: delivered or not (and what stopped it), and the body it would carry. */
export type TriedEvent =
  | { matched: false; excludedBy: 'event_types' | 'filter' }
  | { matched: true; body: string }
  | { matched: true; error: string; code: string };

/**
 * Tries `rules` on each of `events`, in order. The filter is compiled once (a bad one throws its
 * `FilterError` before any event is tried); a transformation failing on an event is that event's
 * `error`, as the attempt's log would show it.
 */
export async function trySubscription(
  rules: SubscriptionRules,
  events: readonly WebhookEvent[],
): Promise<TriedEvent[]> {
  const filter: EventFilter | null =
    rules.filter === null || rules.filter === undefined ? null : compileFilter(rules.filter);
  const tried: TriedEvent[] = [];
  for (const event of events) {
    if (!matchesEventTypes(rules.eventTypes, event.type)) {
      tried.push({ matched: false, excludedBy: 'event_types' });
    } else if (filter !== null && !filter(event)) {
      tried.push({ matched: false, excludedBy: 'filter' });
    } else {
      tried.push({ matched: true, ...(await webhookBody(event, rules.transform)) });
    }
  }
  return tried;
}
