import {
  DEFAULT_INBOX_LIMIT,
  DeprecatedInboxTypeFilter,
  EventDetails,
  EventSource,
  EventStatus,
  eventTypeMatch,
  InboxPage,
  MAX_INBOX_LIMIT,
  MAX_INBOX_PAGE_BYTES,
  TimeBound,
} from '@triggers/event-schema';
import * as v from 'valibot';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { decodeCursor, encodeCursor } from '../lib/cursor.ts';
import type { RouteSpec } from '../lib/openapi.ts';
import { EVENT_ID } from '../lib/parameters.ts';
import {
  limitParameter,
  once,
  queryOf,
  queryParameters,
  repeatable,
  unknownParameter,
} from '../lib/query.ts';
import { requeue } from '../lib/requeue.ts';
import { ok } from '../lib/responses.ts';
import {
  eventIdOf,
  eventNotFound,
  fromStore,
  inboxEvent,
  invalidState,
  keyStore,
  STORED_EVENT_ERRORS,
} from '../lib/stored-events.ts';
import { assertOrderedRange, validate } from '../lib/validate.ts';

/**
 * Everything about `/inbox`: page through a key's events, acknowledge one, retry a failed one.
 * Each route's spec comes before its handler.
 */

const ACKED = { false: false, true: true, all: undefined } as const;

/** The query of `GET /inbox`: every parameter it takes, and nothing else. */
export const InboxQuery = v.strictObject(
  {
    status: v.optional(
      v.pipe(
        repeatable(EventStatus),
        v.description(
          'Only events in this status; repeat the parameter for several (status=failed&status=pending). ' +
            'Every status when absent.',
        ),
      ),
    ),
    acked: v.optional(
      v.pipe(
        once(v.picklist(['false', 'true', 'all'], 'must be false, true or all')),
        v.description(
          'false (the default): events not acknowledged yet; true: acknowledged ones only; all: both.',
        ),
      ),
      'false',
    ),
    type: v.optional(
      v.pipe(
        once(DeprecatedInboxTypeFilter),
        v.description(
          'An event type pattern, as subscriptions take them: a type (type=order.created), or a prefix ' +
            'ending in .* (type=order.* for order.created, order.refund.issued…, not order). Deprecated, ' +
            'still accepted: a prefix ending in * without the dot (type=order* also matches orders.x).',
        ),
      ),
    ),
    source: v.optional(
      v.pipe(once(EventSource), v.description('Only events from this source (a URI-reference).')),
    ),
    from: v.optional(
      v.pipe(once(TimeBound), v.description('Only events received at or after this ISO-8601 instant.')),
    ),
    to: v.optional(
      v.pipe(once(TimeBound), v.description('Only events received before this ISO-8601 instant.')),
    ),
    order: v.optional(
      v.pipe(
        once(v.picklist(['desc', 'asc'], 'must be desc or asc')),
        v.description('By time received: desc (the default) is newest first.'),
      ),
      'desc',
    ),
    limit: v.optional(
      v.pipe(
        limitParameter(MAX_INBOX_LIMIT),
        v.description(
          `Most events per page, ${DEFAULT_INBOX_LIMIT} when absent. A page also ends once its payloads ` +
            `pass ${MAX_INBOX_PAGE_BYTES} bytes; follow next_cursor until it is null.`,
        ),
      ),
      String(DEFAULT_INBOX_LIMIT),
    ),
    cursor: v.optional(
      v.pipe(
        once(v.string()),
        v.description('The next_cursor of the previous page, with the same filters and order.'),
      ),
    ),
  },
  unknownParameter,
);

export const listInboxRoute: RouteSpec = {
  method: 'GET',
  path: '/inbox',
  operationId: 'listInbox',
  summary: 'Page through the events of this API key',
  description:
    'Newest first unless order=asc; by default only events not acknowledged. Pages are keyed on ' +
    '(received_at, event_id): following next_cursor never repeats or skips an event that was there when ' +
    'the walk began, while new events arrive. 400, listing every problem, for a bad or unknown parameter.',
  authenticated: true,
  parameters: queryParameters(InboxQuery),
  response: InboxPage,
  errors: ['VALIDATION_ERROR', 'SERVICE_UNAVAILABLE'],
  budget: 'inbox_pages_per_key',
  handler: listInbox,
};

async function listInbox(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const query = validate(InboxQuery, queryOf(request), 'query');
  assertOrderedRange(query, 'query');
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'query.cursor');
  const page = await fromStore(() =>
    keyStore(request, env).listEvents({
      apiKeyId: request.apiKey.id,
      statuses: query.status,
      type: query.type === undefined ? undefined : eventTypeMatch(query.type),
      source: query.source,
      acked: ACKED[query.acked],
      from: query.from,
      to: query.to,
      after,
      order: query.order,
      limit: query.limit,
    }),
  );
  return ok<InboxPage['data']>({
    events: page.events.map(inboxEvent),
    next_cursor: page.next === null ? null : encodeCursor(page.next),
  });
}

export const ackEventRoute: RouteSpec = {
  method: 'POST',
  path: '/inbox/:event_id/ack',
  operationId: 'ackEvent',
  summary: 'Acknowledge an event: it was handled',
  description:
    'Marks a delivered or failed event acknowledged (acked_at), which takes it out of the default inbox view; ' +
    'the event is kept. Acking again answers the same, with the first acked_at. 409 INVALID_STATE for a ' +
    'pending event.',
  authenticated: true,
  parameters: [EVENT_ID],
  response: EventDetails,
  errors: [...STORED_EVENT_ERRORS, 'INVALID_STATE'],
  handler: ackInboxEvent,
};

async function ackInboxEvent(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const { event, acked } = await fromStore(() =>
    keyStore(request, env).ackEvent({ apiKeyId: request.apiKey.id, eventId }, new Date()),
  );
  if (event === null) throw eventNotFound(eventId);
  if (event.status === 'pending') {
    throw invalidState(
      event.status,
      `Event ${eventId} is pending: it can be acknowledged once it is delivered or failed.`,
    );
  }
  if (acked) request.log.log('info', 'event acknowledged', { status: event.status });
  return ok<EventDetails['data']>(inboxEvent(event));
}

export const retryEventRoute: RouteSpec = {
  method: 'POST',
  path: '/inbox/:event_id/retry',
  operationId: 'retryEvent',
  summary: 'Re-enqueue a failed event',
  description:
    'Sends a failed event to the queue again as a fresh message (same event_id and payload, no debug flag) ' +
    'and answers it pending, with attempts starting again at 0; the consumer then stores it (delivered) or ' +
    'fails it again. 409 INVALID_STATE for an event that is not failed; 503 when the queue refuses it, ' +
    'in which case it stays failed.',
  authenticated: true,
  parameters: [EVENT_ID],
  response: EventDetails,
  errors: [...STORED_EVENT_ERRORS, 'INVALID_STATE'],
  budget: 'replays_per_key',
  handler: retryEvent,
};

/** Of two retries of one event at once, one gets 409: the store moves it out of `failed` once. */
async function retryEvent(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const outcome = await fromStore(() =>
    keyStore(request, env).replayEvent({ apiKeyId: request.apiKey.id, eventId }, new Date()),
  );
  if (!outcome.replayed) {
    if (outcome.event === null) throw eventNotFound(eventId);
    throw invalidState(
      outcome.event.status,
      `Event ${eventId} is ${outcome.event.status}: only a failed event can be retried.`,
    );
  }
  await requeue(request, env, [outcome.before]);
  request.log.log('info', 'event replayed', { previous_attempts: outcome.before.attempts });
  return ok<EventDetails['data']>(inboxEvent(outcome.event));
}
