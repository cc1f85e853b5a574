import {
  type BatchAccepted,
  BatchEnvelope,
  BatchItem,
  type BatchItemResult,
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  CloudEventBatch,
  type Delivery,
  DeliveryId,
  type EventAccepted,
  type EventDetails,
  EventRequest,
  type ItemError,
  MAX_BATCH_BYTES,
  MAX_EVENT_BYTES,
} from '@triggers/event-schema';
import { getEvent, listDeliveries, restartDelivery, unrestartDelivery } from '@triggers/event-store';
import { describeError } from '@triggers/log';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { JSON_MEDIA_TYPE, mediaTypeOf, readJsonBody } from '../lib/body.ts';
import { fromBinary, fromStructured, toStructured } from '../lib/cloudevents.ts';
import { ApiError, serviceUnavailable } from '../lib/errors.ts';
import { idempotencyKeyHeader } from '../lib/idempotency.ts';
import type { ParameterSpec } from '../lib/openapi.ts';
import { enqueue, enqueueBatch, type SizedEvent } from '../lib/queue.ts';
import { ok } from '../lib/responses.ts';
import { eventIdOf, eventNotFound, fromStore, inboxEvent } from '../lib/stored-events.ts';
import { buildCloudEvent, buildEvent, openSubmission, rejectIfDebugRequested } from '../lib/submission.ts';
import { validate } from '../lib/validate.ts';
import { chargeEvents } from '../middleware/rate-limit.ts';

/**
 * Everything about `/events`: send one (`POST /events`), send many (`POST /events/batch`), look one
 * up, list its webhook deliveries and retry a failed one by hand (docs/webhooks.md).
 */

/**
 * `POST /events`: validates the body, stamps an `event_id` (derived from `Idempotency-Key` when
 * given) and answers 200 only once the queue has persisted the event.
 */
export async function postEvent(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const submission = openSubmission(request);
  const mode = sendMode(request);
  let item: SizedEvent;
  if (mode === 'json') {
    const idempotencyKey = idempotencyKeyHeader(request);
    const { value } = await readJsonBody(request, MAX_EVENT_BYTES, SEND_MEDIA_TYPES);
    const input = validate(EventRequest, value);
    rejectIfDebugRequested(submission);
    item = await buildEvent(submission, input, idempotencyKey);
  } else {
    rejectIdempotencyKey(request, 'a CloudEvent: its source and id are its idempotency key');
    const event =
      mode === 'binary'
        ? await fromBinary(request)
        : fromStructured((await readJsonBody(request, MAX_EVENT_BYTES, [CLOUDEVENTS_JSON])).value);
    rejectIfDebugRequested(submission);
    item = await buildCloudEvent(submission, event);
  }
  request.eventId = item.event.event_id;
  await chargeEvents(request, env, 1);
  await enqueue(env.EVENT_QUEUE, item, submission.delaySeconds);

  return ok<EventAccepted['data']>({
    event_id: item.event.event_id,
    status: 'accepted',
    timestamp: item.event.timestamp,
  });
}

/** How a `POST /events` body is sent: our JSON, or a CloudEvent in binary or structured mode. */
function sendMode(request: AuthedRequest): 'json' | 'binary' | 'structured' {
  if (request.headers.has('ce-specversion')) return 'binary';
  return mediaTypeOf(request.headers.get('content-type')) === CLOUDEVENTS_JSON ? 'structured' : 'json';
}

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

/**
 * `POST /events/batch`: up to 100 events, each accepted or rejected on its own and answered in
 * request order. The valid ones are queued together (several `sendBatch()` calls when the queue's
 * limits need it) and the answer is 200 only once all of them are persisted. When no item is
 * valid the answer is 400 with every item's reason.
 */
export async function postEventBatch(request: AuthedRequest, env: IngestEnv): Promise<Response> {
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
            buildCloudEvent(submission, fromStructured(raw, String(index))),
          )
        : prepareItem(`events.${index}`, async () => {
            const item = validate(BatchItem, raw, `events.${index}`);
            return buildEvent(submission, item, item.idempotency_key);
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
  await chargeEvents(request, env, ready.length);
  await enqueueBatch(env.EVENT_QUEUE, ready, submission.delaySeconds);

  return ok<BatchAccepted['data']>({
    accepted: ready.length,
    rejected: events.length - ready.length,
    results,
  });
}

/** The media types `POST /events/batch` reads its body as (415 lists them). */
const BATCH_MEDIA_TYPES = [JSON_MEDIA_TYPE, CLOUDEVENTS_BATCH_JSON];

/**
 * `GET /events/{event_id}`: one of the key's events, whatever its status or ack; as a structured
 * CloudEvent (no envelope) when the request accepts `application/cloudevents+json`.
 */
export async function getEventById(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const event = await fromStore(() => getEvent(env.DB, { apiKeyId: request.apiKey.id, eventId }));
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

/** The `{delivery_id}` of a delivery's paths. */
export const DELIVERY_ID: ParameterSpec = {
  in: 'path',
  name: 'delivery_id',
  description: 'A delivery id (msg_…) from GET /events/{event_id}/deliveries; also its webhook-id.',
  schema: DeliveryId,
};

/** `GET /events/{event_id}/deliveries`: each delivery with its attempts. 404 for an event the key has not. */
export async function getEventDeliveries(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const apiKeyId = request.apiKey.id;
  const [event, deliveries] = await fromStore(() =>
    Promise.all([getEvent(env.DB, { apiKeyId, eventId }), listDeliveries(env.DB, { apiKeyId, eventId })]),
  );
  if (event === null) throw eventNotFound(eventId);
  return ok<{ deliveries: Delivery[] }>({ deliveries });
}

/**
 * `POST /events/{event_id}/deliveries/{delivery_id}/retry`: a failed delivery gets a new round of
 * attempts (the same schedule), queued now. 409 unless it is failed; 503, and still failed, when
 * the queue refuses.
 */
export async function retryDelivery(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const deliveryId = validate(DeliveryId, request.params.delivery_id, 'path.delivery_id');
  const key = { apiKeyId: request.apiKey.id, eventId, deliveryId };
  const message = await fromStore(() => restartDelivery(env.DB, key, new Date()));
  if (message === null) {
    const [existing] = await fromStore(() => listDeliveries(env.DB, key));
    if (existing === undefined) {
      throw new ApiError('NOT_FOUND', `Event ${eventId} of this API key has no delivery ${deliveryId}.`);
    }
    throw new ApiError(
      'INVALID_STATE',
      `Only a failed delivery can be retried; this one is ${existing.status}.`,
    );
  }
  try {
    await env.DELIVERY_QUEUE.send(message);
  } catch (err) {
    await unrestartDelivery(
      env.DB,
      message,
      `manual retry not queued: ${describeError(err)}`,
      new Date(),
    ).catch(() => {});
    throw serviceUnavailable('The retry could not be queued; the delivery stays failed. Retry later.', err);
  }
  const [delivery] = await fromStore(() => listDeliveries(env.DB, key));
  return ok<Delivery | undefined>(delivery);
}
