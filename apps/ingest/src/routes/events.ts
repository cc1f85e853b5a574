import {
  BatchAccepted,
  BatchEnvelope,
  BatchItem,
  type BatchItemResult,
  BatchRequest,
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  CloudEvent,
  CloudEventBatch,
  CloudEventRequest,
  type Delivery,
  DeliveryDetails,
  DeliveryList,
  EventAccepted,
  EventDetails,
  EventRequest,
  type ItemError,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
} from '@triggers/event-schema';
import * as v from 'valibot';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { queueFirstAttempts } from '../lib/attempts.ts';
import { JSON_BODY_ERRORS, JSON_MEDIA_TYPE, mediaTypeOf, readJsonBody } from '../lib/body.ts';
import { fromBinary, fromStructured, toStructured } from '../lib/cloudevents.ts';
import { ApiError } from '../lib/errors.ts';
import type { RouteSpec } from '../lib/openapi.ts';
import {
  CE_HEADERS,
  CONTENT_ENCODING,
  DEBUG,
  DELIVERY_ID,
  EVENT_ID,
  IDEMPOTENCY_KEY,
  readParameter,
} from '../lib/parameters.ts';
import { enqueue, enqueueBatch, type SizedEvent } from '../lib/queue.ts';
import { chargeEvents } from '../lib/rate-limits.ts';
import { ok } from '../lib/responses.ts';
import { refuseIfStoreFull } from '../lib/store-room.ts';
import {
  eventIdOf,
  eventNotFound,
  fromStore,
  inboxEvent,
  keyStore,
  STORED_EVENT_ERRORS,
} from '../lib/stored-events.ts';
import { buildEvent, type EventInput, openSubmission, rejectIfDebugRequested } from '../lib/submission.ts';
import { validate } from '../lib/validate.ts';

/**
 * Everything about `/events`: send one (`POST /events`), send many (`POST /events/batch`), look one
 * up, list its webhook deliveries and retry a failed one by hand (docs/webhooks.md). Each route's
 * spec comes before its handler.
 */

/** What the sending routes can answer: a JSON body and `?debug=` (a batch: the events budget too). */
const SEND_ERRORS = [
  ...JSON_BODY_ERRORS,
  'VALIDATION_ERROR',
  'SERVICE_UNAVAILABLE',
  'DEBUG_NOT_ALLOWED',
  'STORE_FULL',
] as const;

export const sendEventRoute: RouteSpec = {
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
  parameters: [IDEMPOTENCY_KEY, CONTENT_ENCODING, DEBUG, ...CE_HEADERS],
  body: EventRequest,
  otherBodies: {
    [CLOUDEVENTS_JSON]: CloudEventRequest,
    'application/octet-stream': v.pipe(
      v.unknown(),
      v.description('Binary mode (with ce-specversion and the other ce- headers): the data, of any type.'),
    ),
  },
  response: EventAccepted,
  errors: SEND_ERRORS,
  handler: postEvent,
};

/**
 * Straight through, each step once: read and validate the body ({@link readEvent}), build the
 * message, send it. The `event_id` is derived from `Idempotency-Key` when given (a CloudEvent's
 * from its source and id), random otherwise. The one rate limit it spends is the key's request
 * budget, charged before the body is read (`withRateLimit`): that budget bounds single events far
 * below the events budget, which only batches are charged to (lib/rate-limits.ts).
 */
async function postEvent(request: AuthedRequest, env: IngestEnv, ctx: ExecutionContext): Promise<Response> {
  const submission = openSubmission(request);
  const input = await readEvent(request);
  rejectIfDebugRequested(submission);
  const item = await buildEvent(submission, input);
  request.eventId = item.event.event_id;
  await refuseIfStoreFull(request, env, ctx);
  await enqueue(env, item, submission.delaySeconds);

  return ok<EventAccepted['data']>({
    event_id: item.event.event_id,
    status: 'accepted',
    timestamp: item.event.timestamp,
  });
}

/**
 * Reads and validates a `POST /events` body in the mode it is sent in: a CloudEvent in binary
 * mode (a `ce-specversion` header: attributes from headers, checked before the body is read) or
 * structured mode (`Content-Type: application/cloudevents+json`), or our JSON. Each header that
 * applies is checked before the body is read.
 */
async function readEvent(request: AuthedRequest): Promise<EventInput> {
  if (request.headers.has('ce-specversion')) {
    rejectIdempotencyKey(request, CLOUDEVENT_KEY);
    return { cloudEvent: await fromBinary(request) };
  }
  const structured = mediaTypeOf(request.headers.get('content-type')) === CLOUDEVENTS_JSON;
  if (structured) rejectIdempotencyKey(request, CLOUDEVENT_KEY);
  const idempotencyKey = readParameter(request, IDEMPOTENCY_KEY);
  const mediaTypes = structured ? [CLOUDEVENTS_JSON] : SEND_MEDIA_TYPES;
  const { value } = await readJsonBody(request, MAX_EVENT_BYTES, mediaTypes);
  if (structured) return { cloudEvent: fromStructured(value) };
  return { json: validate(EventRequest, value), idempotencyKey };
}

/** Where a CloudEvent's idempotency key comes from, for the 400 on an `Idempotency-Key` header. */
const CLOUDEVENT_KEY = 'a CloudEvent: its source and id are its idempotency key';

/** The media types `POST /events` reads its body as (415 lists them). */
const SEND_MEDIA_TYPES = [JSON_MEDIA_TYPE, CLOUDEVENTS_JSON];

/** 400 for an `Idempotency-Key` header where it does not apply (`where`: what is used instead). */
function rejectIdempotencyKey(request: AuthedRequest, where: string): void {
  if (!request.headers.has('idempotency-key')) return;
  throw new ApiError('VALIDATION_ERROR', `Idempotency-Key does not apply to ${where}.`, {
    details: { issues: [{ path: 'headers.idempotency-key', message: 'is not accepted here' }] },
  });
}

/**
 * Validates and builds one item exactly as `POST /events` would its body; a failure becomes that
 * item's rejection (code, message and field paths under `path`) instead of the request's.
 */
async function prepareItem(path: string, build: () => Promise<SizedEvent>): Promise<SizedEvent | ItemError> {
  try {
    return await build();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return {
      code: err.code,
      message: err.message,
      issues: err.details?.issues ?? [{ path, message: err.message }],
    };
  }
}

export const sendEventBatchRoute: RouteSpec = {
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
      v.array(CloudEventRequest),
      v.minLength(1),
      v.maxLength(MAX_BATCH_EVENTS),
      v.description('CloudEvents in structured form; the results are the same as for the JSON batch.'),
    ),
  },
  response: BatchAccepted,
  errors: [...SEND_ERRORS, 'RATE_LIMITED'],
  handler: postEventBatch,
};

/**
 * The valid items are queued together (several `sendBatch()` calls when the queue's limits need
 * it), and charged to the events budget once validated, before any is queued.
 */
async function postEventBatch(
  request: AuthedRequest,
  env: IngestEnv,
  ctx: ExecutionContext,
): Promise<Response> {
  const submission = openSubmission(request);
  rejectIdempotencyKey(
    request,
    'a batch: give each item its own "idempotency_key" (a CloudEvent: its source and id are its key)',
  );
  const cloudEvents = mediaTypeOf(request.headers.get('content-type')) === CLOUDEVENTS_BATCH_JSON;
  const { value } = await readJsonBody(request, MAX_BATCH_BYTES, BATCH_MEDIA_TYPES);
  const events = cloudEvents ? validate(CloudEventBatch, value) : validate(BatchEnvelope, value).events;
  rejectIfDebugRequested(submission);

  const prepared = await Promise.all(
    events.map((raw, index) =>
      cloudEvents
        ? prepareItem(String(index), async () =>
            buildEvent(submission, { cloudEvent: fromStructured(raw, String(index)) }),
          )
        : prepareItem(`events.${index}`, async () => {
            const item = validate(BatchItem, raw, `events.${index}`);
            return buildEvent(submission, { json: item, idempotencyKey: item.idempotency_key });
          }),
    ),
  );
  const ready = prepared.filter((item): item is SizedEvent => 'event' in item);
  const results = prepared.map(
    (item, index): BatchItemResult =>
      'event' in item
        ? { index, status: 'accepted', event_id: item.event.event_id }
        : { index, status: 'rejected', error: item },
  );
  if (ready.length === 0) {
    throw new ApiError(
      'VALIDATION_ERROR',
      `None of the ${events.length} events is valid; nothing was queued.`,
      {
        details: { results },
      },
    );
  }
  await refuseIfStoreFull(request, env, ctx);
  await chargeEvents(request, env, ready.length);
  await enqueueBatch(env, ready, submission.delaySeconds);

  return ok<BatchAccepted['data']>({
    accepted: ready.length,
    rejected: events.length - ready.length,
    results,
  });
}

/** The media types `POST /events/batch` reads its body as (415 lists them). */
const BATCH_MEDIA_TYPES = [JSON_MEDIA_TYPE, CLOUDEVENTS_BATCH_JSON];

export const getEventRoute: RouteSpec = {
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
  errors: STORED_EVENT_ERRORS,
  handler: getEventById,
};

/** Whatever the event's status or ack; a structured CloudEvent when the request accepts one. */
async function getEventById(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const event = await fromStore(() =>
    keyStore(request, env).getEvent({ apiKeyId: request.apiKey.id, eventId }),
  );
  if (event === null) throw eventNotFound(eventId);
  if (accepts(request, CLOUDEVENTS_JSON)) {
    return new Response(JSON.stringify(toStructured(event)), {
      headers: { 'content-type': `${CLOUDEVENTS_JSON}; charset=utf-8` },
    });
  }
  return ok<EventDetails['data']>(inboxEvent(event));
}

/** Whether the request's `Accept` header names `mediaType` (wildcards aside: JSON is the default). */
function accepts(request: AuthedRequest, mediaType: string): boolean {
  return (request.headers.get('accept') ?? '').split(',').some((range) => mediaTypeOf(range) === mediaType);
}

export const listEventDeliveriesRoute: RouteSpec = {
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
  errors: STORED_EVENT_ERRORS,
  handler: getEventDeliveries,
};

async function getEventDeliveries(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const apiKeyId = request.apiKey.id;
  const store = keyStore(request, env);
  const [event, deliveries] = await fromStore(() =>
    Promise.all([store.getEvent({ apiKeyId, eventId }), store.listDeliveries({ apiKeyId, eventId })]),
  );
  if (event === null) throw eventNotFound(eventId);
  return ok<{ deliveries: Delivery[] }>({ deliveries });
}

export const retryDeliveryRoute: RouteSpec = {
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
  errors: [...STORED_EVENT_ERRORS, 'INVALID_STATE'],
  budget: 'replays_per_key',
  handler: retryDelivery,
};

async function retryDelivery(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const deliveryId = readParameter(request, DELIVERY_ID);
  const key = { apiKeyId: request.apiKey.id, eventId, deliveryId };
  const store = keyStore(request, env);
  const message = await fromStore(() => store.restartDelivery(key, new Date()));
  if (message === null) {
    const [existing] = await fromStore(() => store.listDeliveries(key));
    if (existing === undefined) {
      throw new ApiError('NOT_FOUND', `Event ${eventId} of this API key has no delivery ${deliveryId}.`);
    }
    throw new ApiError(
      'INVALID_STATE',
      `Only a failed delivery can be retried; this one is ${existing.status}.`,
    );
  }
  await queueFirstAttempts(
    request,
    env,
    store,
    [message],
    'The retry could not be queued; the delivery stays failed. Retry later.',
  );
  const [delivery] = await fromStore(() => store.listDeliveries(key));
  return ok<Delivery | undefined>(delivery);
}
