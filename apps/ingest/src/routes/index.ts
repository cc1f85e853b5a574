import {
  BatchAccepted,
  BatchRequest,
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  CloudEvent,
  DEFAULT_DELIVERY_SCHEDULE,
  DebugFlag,
  DeliveryDetails,
  DeliveryList,
  EventAccepted,
  EventDetails,
  EventRequest,
  EventStats,
  HealthStatus,
  IdempotencyKey,
  InboxPage,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  MAX_INBOX_LIMIT,
  ReplayRequest,
  ReplayResult,
  SECRET_ROTATION_OVERLAP_SECONDS,
  SubscriptionCreated,
  SubscriptionDeleted,
  SubscriptionDetails,
  SubscriptionList,
  SubscriptionPatch,
  SubscriptionRequest,
} from '@triggers/event-schema';
import * as v from 'valibot';
import { OpenApiDocument, type ParameterSpec, type RouteSpec } from '../lib/openapi.ts';
import { queryParameters } from '../lib/query.ts';
import { EVENT_ID } from '../lib/stored-events.ts';
import { replayDeadLetters } from './dlq.ts';
import {
  DELIVERY_ID,
  getEventById,
  getEventDeliveries,
  postEvent,
  postEventBatch,
  retryDelivery,
} from './events.ts';
import { health } from './health.ts';
import { ackInboxEvent, InboxQuery, listInbox, retryEvent } from './inbox.ts';
import { serveOpenApi } from './openapi.ts';
import { getStats } from './stats.ts';
import {
  getKeySubscription,
  listKeySubscriptions,
  patchSubscription,
  postSubscription,
  removeSubscription,
  rotateSecret,
  SUBSCRIPTION_ID,
} from './subscriptions.ts';

/** What the subscription routes reading a body can answer: a bad URL is a VALIDATION_ERROR. */
const SUBSCRIPTION_BODY_ERRORS = [
  'INVALID_JSON',
  'VALIDATION_ERROR',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SERVICE_UNAVAILABLE',
] as const;
const SUBSCRIPTION_ERRORS = ['VALIDATION_ERROR', 'NOT_FOUND', 'SERVICE_UNAVAILABLE'] as const;
const URL_RULES =
  'The url must be https and name a public host; loopback, private, link-local and metadata ' +
  'addresses are refused (400 VALIDATION_ERROR at url). In local development (ENVIRONMENT=development) ' +
  'http://127.0.0.1:<port> and http://localhost:<port> are allowed.';

const CONTENT_ENCODING: ParameterSpec = {
  in: 'header',
  name: 'Content-Encoding',
  description: 'Send the body compressed; its size limit applies to the decompressed bytes.',
  schema: v.picklist(['gzip', 'deflate', 'identity']),
};

/** The binary-mode headers of a CloudEvent (any other `ce-<name>` header is an extension). */
const CE_HEADERS: ParameterSpec[] = [
  ['specversion', 'Binary mode: "1.0". Its presence makes the body the event’s data.'],
  ['id', 'Binary mode: the event’s id; with ce-source, its idempotency key.'],
  ['source', 'Binary mode: a URI-reference.'],
  ['type', 'Binary mode: the event’s type.'],
  ['subject', 'Binary mode, optional.'],
  ['time', 'Binary mode, optional: RFC 3339.'],
  ['dataschema', 'Binary mode, optional: an absolute URI.'],
].map(([name, description]) => ({
  in: 'header',
  name: `ce-${name}`,
  description: `${description} Percent-encoded where the value is not printable ASCII.`,
  schema: v.string(),
}));

const DEBUG: ParameterSpec = {
  in: 'query',
  name: 'debug',
  description: 'Failure rehearsal, for test keys (sk_test_…) only.',
  schema: DebugFlag,
};

/** What every route reading a JSON body can answer besides its success. */
const BODY_ERRORS = [
  'INVALID_JSON',
  'INVALID_ENCODING',
  'VALIDATION_ERROR',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SERVICE_UNAVAILABLE',
] as const;

/** The sending routes also take `?debug=`. */
const SEND_ERRORS = [...BODY_ERRORS, 'DEBUG_NOT_ALLOWED'] as const;

/** What every route reading one event by id can answer besides its success. */
const BY_ID_ERRORS = ['VALIDATION_ERROR', 'NOT_FOUND', 'SERVICE_UNAVAILABLE'] as const;

/**
 * Every route of the API, in one list: the router registers exactly these (src/router.ts) and
 * `GET /openapi.json` describes exactly these. Each handler lives in the file of its resource:
 * `/events…` in events.ts, `/inbox…` in inbox.ts, `/dlq…` in dlq.ts, `/subscriptions…` in
 * subscriptions.ts, then health.ts and
 * openapi.ts; fallback.ts answers what no route matches.
 */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    summary: 'Check that the Worker and its bindings answer',
    description:
      'Reads the API key store and checks the queue binding; 503 when either is missing. Answered from a ' +
      'per-isolate cache of 5 s. With the operator token (Authorization: Bearer <OPERATOR_TOKEN>) it also ' +
      'answers `store`: the event store’s size in bytes, the warning threshold and whether it is past it ' +
      '(503 when the store does not answer). Any other caller, a tenant’s API key included, gets no more.',
    authenticated: false,
    operator: true,
    response: HealthStatus,
    errors: ['SERVICE_UNAVAILABLE'],
    handler: health,
  },
  {
    method: 'POST',
    path: '/events',
    operationId: 'sendEvent',
    summary: 'Send one event',
    description:
      `A body of at most ${MAX_EVENT_BYTES} bytes (decompressed). Answered 200 once the event is on the queue. ` +
      'With an Idempotency-Key, the same key always gets the same event_id and the event is stored once. ' +
      `Also takes a CloudEvent 1.0: structured (Content-Type: ${CLOUDEVENTS_JSON}) or binary (ce- headers, ` +
      'the body being the data); its source and id are its idempotency key.',
    authenticated: true,
    parameters: [
      {
        in: 'header',
        name: 'Idempotency-Key',
        description: 'Makes retries safe: the same key from the same API key yields the same event_id.',
        schema: IdempotencyKey,
      },
      CONTENT_ENCODING,
      DEBUG,
      ...CE_HEADERS,
    ],
    body: EventRequest,
    otherBodies: {
      [CLOUDEVENTS_JSON]: CloudEvent,
      'application/octet-stream': v.pipe(
        v.unknown(),
        v.description('Binary mode (with ce-specversion and the other ce- headers): the data, of any type.'),
      ),
    },
    response: EventAccepted,
    errors: SEND_ERRORS,
    handler: postEvent,
  },
  {
    method: 'POST',
    path: '/events/batch',
    operationId: 'sendEventBatch',
    summary: `Send up to ${MAX_BATCH_EVENTS} events`,
    description:
      `1 to ${MAX_BATCH_EVENTS} events in a body of at most ${MAX_BATCH_BYTES} bytes (decompressed). Each item ` +
      'is accepted or rejected on its own, in request order; 200 once every accepted item is on the queue, ' +
      '400 (with every item’s reason in details.results) when none is valid, 503 when the queue fails ' +
      '(nothing acknowledged: retry the whole batch, which is safe for items with an idempotency_key). ' +
      `Also takes a JSON array of CloudEvents as ${CLOUDEVENTS_BATCH_JSON}, answered the same way.`,
    authenticated: true,
    parameters: [CONTENT_ENCODING, DEBUG],
    body: BatchRequest,
    otherBodies: {
      [CLOUDEVENTS_BATCH_JSON]: v.pipe(
        v.array(CloudEvent),
        v.minLength(1),
        v.maxLength(MAX_BATCH_EVENTS),
        v.description('CloudEvents in structured form; the results are the same as for the JSON batch.'),
      ),
    },
    response: BatchAccepted,
    errors: SEND_ERRORS,
    handler: postEventBatch,
  },
  {
    method: 'GET',
    path: '/events/:event_id',
    operationId: 'getEvent',
    summary: 'Look one event up',
    description:
      'The event with its status (pending, delivered, failed), attempts, last error, timestamps, ack, ' +
      'type, source, subject, CloudEvent attributes, payload and metadata. 404 when this API key has no such ' +
      `event (another key’s event looks the same). With Accept: ${CLOUDEVENTS_JSON}, the event as a ` +
      'structured CloudEvent, without the envelope: equal to the one sent.',
    authenticated: true,
    parameters: [EVENT_ID],
    response: EventDetails,
    otherResponses: { [CLOUDEVENTS_JSON]: CloudEvent },
    errors: BY_ID_ERRORS,
    handler: getEventById,
  },
  {
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
  },
  {
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
    errors: [...BY_ID_ERRORS, 'INVALID_STATE'],
    handler: ackInboxEvent,
  },
  {
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
    errors: [...BY_ID_ERRORS, 'INVALID_STATE'],
    budget: 'replays_per_key',
    handler: retryEvent,
  },
  {
    method: 'POST',
    path: '/dlq/replay',
    operationId: 'replayDeadLetters',
    summary: 'Re-enqueue many failed events',
    description:
      `Re-enqueues up to limit (at most ${MAX_INBOX_LIMIT}) failed, unacknowledged events of this API key ` +
      'received in [from, to), oldest first, and answers how many. Safe to repeat: replayed events are ' +
      'pending, and only failed ones are taken. The body may be left out.',
    authenticated: true,
    body: ReplayRequest,
    bodyOptional: true,
    response: ReplayResult,
    errors: BODY_ERRORS,
    budget: 'replays_per_key',
    handler: replayDeadLetters,
  },
  {
    method: 'GET',
    path: '/stats',
    operationId: 'getStats',
    summary: 'Count this API key’s events over the last hour and day',
    description:
      'Events received in the last hour (60 one-minute buckets) and the last day (24 one-hour buckets), ' +
      'each bucket and window counted by the status the events are in now, and when the latest of them was ' +
      'stored. Counts only events the consumer has seen: one still waiting on the queue is not there yet.',
    authenticated: true,
    response: EventStats,
    errors: ['SERVICE_UNAVAILABLE'],
    handler: getStats,
  },
  {
    method: 'GET',
    path: '/events/:event_id/deliveries',
    operationId: 'listEventDeliveries',
    summary: 'The webhook deliveries of an event, with their attempts',
    description:
      'One delivery per subscription the event matched, each with its status (pending, succeeded, failed) and ' +
      'every attempt: time, HTTP status or error, latency and at most 256 characters of the response body. ' +
      '404 when this API key has no such stored event.',
    authenticated: true,
    parameters: [EVENT_ID],
    response: DeliveryList,
    errors: BY_ID_ERRORS,
    handler: getEventDeliveries,
  },
  {
    method: 'POST',
    path: '/events/:event_id/deliveries/:delivery_id/retry',
    operationId: 'retryDelivery',
    summary: 'Retry a failed delivery by hand',
    description:
      'Starts a new round of attempts (round + 1, on the same schedule) for a failed delivery, the first now. ' +
      '409 INVALID_STATE unless the delivery is failed; 503 when the queue refuses, and it stays failed.',
    authenticated: true,
    parameters: [EVENT_ID, DELIVERY_ID],
    response: DeliveryDetails,
    errors: [...BY_ID_ERRORS, 'INVALID_STATE'],
    budget: 'replays_per_key',
    handler: retryDelivery,
  },
  {
    method: 'POST',
    path: '/subscriptions',
    operationId: 'createSubscription',
    summary: 'Subscribe a webhook URL to this key’s events',
    description:
      'event_types lists exact types and prefix patterns (order.*); leave it out (or null) for every event. ' +
      'Answers 201 with the signing secret (whsec_…), shown in full only here and on rotate-secret. ' +
      `Deliveries are retried after ${DEFAULT_DELIVERY_SCHEDULE.join(', ')} seconds by default. ${URL_RULES}`,
    authenticated: true,
    status: 201,
    body: SubscriptionRequest,
    response: SubscriptionCreated,
    errors: SUBSCRIPTION_BODY_ERRORS,
    handler: postSubscription,
  },
  {
    method: 'GET',
    path: '/subscriptions',
    operationId: 'listSubscriptions',
    summary: 'List this key’s subscriptions',
    description: 'Oldest first, without secrets (secret_prefix shows the first characters).',
    authenticated: true,
    response: SubscriptionList,
    errors: ['SERVICE_UNAVAILABLE'],
    handler: listKeySubscriptions,
  },
  {
    method: 'GET',
    path: '/subscriptions/:subscription_id',
    operationId: 'getSubscription',
    summary: 'Look one subscription up',
    description:
      'Whether it is enabled, why not (disabled_reason), its failed deliveries in a row. 404 for another key’s.',
    authenticated: true,
    parameters: [SUBSCRIPTION_ID],
    response: SubscriptionDetails,
    errors: SUBSCRIPTION_ERRORS,
    handler: getKeySubscription,
  },
  {
    method: 'PATCH',
    path: '/subscriptions/:subscription_id',
    operationId: 'updateSubscription',
    summary: 'Change a subscription’s url, event_types or enabled',
    description: `Enabling clears disabled_reason and the failure count. ${URL_RULES}`,
    authenticated: true,
    parameters: [SUBSCRIPTION_ID],
    body: SubscriptionPatch,
    response: SubscriptionDetails,
    errors: [...SUBSCRIPTION_BODY_ERRORS, 'NOT_FOUND'],
    handler: patchSubscription,
  },
  {
    method: 'DELETE',
    path: '/subscriptions/:subscription_id',
    operationId: 'deleteSubscription',
    summary: 'Delete a subscription',
    description: 'No more deliveries; pending ones end failed; the deliveries log is kept.',
    authenticated: true,
    parameters: [SUBSCRIPTION_ID],
    response: SubscriptionDeleted,
    errors: SUBSCRIPTION_ERRORS,
    handler: removeSubscription,
  },
  {
    method: 'POST',
    path: '/subscriptions/:subscription_id/rotate-secret',
    operationId: 'rotateSubscriptionSecret',
    summary: 'Replace the signing secret',
    description:
      'Answers the subscription with its new secret (shown only here). For ' +
      `${SECRET_ROTATION_OVERLAP_SECONDS / 3600} hours the previous secret keeps signing too: each webhook then ` +
      'carries two v1 signatures, so receivers can switch without losing a message.',
    authenticated: true,
    parameters: [SUBSCRIPTION_ID],
    response: SubscriptionCreated,
    errors: SUBSCRIPTION_ERRORS,
    handler: rotateSecret,
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of this API, generated from its valibot schemas.',
    authenticated: false,
    response: OpenApiDocument,
    errors: [],
    handler: serveOpenApi(() => ROUTES),
  },
];
