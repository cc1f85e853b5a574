import * as v from 'valibot';
import { CloudEventContext } from './cloudevent.ts';
import { Timestamp } from './envelope.ts';
import { ClientEventSource, EventSource, EventSubject, EventType, wellFormed } from './identity.ts';
import { JsonObject, JsonValue } from './json.ts';
import { MAX_BATCH_EVENTS, MAX_CORRELATION_ID_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH } from './limits.ts';

/** Messages for the object-level problems valibot reports on a request body. */
export const bodyMessage = (issue: v.BaseIssue<unknown>): string => {
  if (issue.expected === 'never') return 'is not a recognised field';
  if (issue.received === 'undefined') return 'is required';
  return 'must be a JSON object';
};

/**
 * A JSON object with exactly these fields: unknown fields are rejected so that typos surface.
 * (valibot reports an array given here as missing and unknown fields; callers wanting one clear
 * message check `isPlainObject` first, as the ingest Worker's `validate` does.)
 */
const jsonBody = <TEntries extends v.ObjectEntries>(entries: TEntries) =>
  v.strictObject(entries, bodyMessage);

/**
 * The optional identity fields of a JSON API event. Absent ones are stored as
 * {@link eventIdentity} says: type `triggers.event`, source `/api-keys/<api key id>`, no subject.
 * A reserved source (`/triggers`, {@link ClientEventSource}) is refused, and so is a type or
 * subject that is not well-formed Unicode ({@link wellFormed}; a source is ASCII already).
 */
const identityFields = {
  type: v.optional(v.pipe(EventType, wellFormed)),
  source: v.optional(ClientEventSource),
  subject: v.optional(v.pipe(EventSubject, wellFormed)),
};

/** Body of `POST /events`. */
export const EventRequest = jsonBody({
  payload: JsonObject,
  metadata: v.optional(JsonObject),
  ...identityFields,
});
export type EventRequest = v.InferOutput<typeof EventRequest>;

/**
 * A client's idempotency key (`Idempotency-Key` header, `idempotency_key` batch field): 1 to
 * {@link MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters, e.g. a UUID. The same key from the
 * same API key always yields the same `event_id`.
 */
export const IdempotencyKey = v.pipe(
  v.string('must be a string'),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`),
  // `*`, not `+`: an empty key is minLength's to report, once.
  v.regex(/^[\x21-\x7e]*$/, 'may contain only visible ASCII characters (no spaces)'),
);
export type IdempotencyKey = v.InferOutput<typeof IdempotencyKey>;

/** One event of `POST /events/batch`: the body of `POST /events` plus its own idempotency key. */
export const BatchItem = jsonBody({
  payload: JsonObject,
  metadata: v.optional(JsonObject),
  ...identityFields,
  idempotency_key: v.optional(IdempotencyKey),
});
export type BatchItem = v.InferOutput<typeof BatchItem>;

/** `{"events": [...]}` holding 1 to {@link MAX_BATCH_EVENTS} items of `item`. */
const batchOf = <TItem extends v.GenericSchema>(item: TItem) =>
  jsonBody({
    events: v.pipe(
      v.array(item, 'must be an array of events'),
      v.minLength(1, 'must contain at least 1 event'),
      v.maxLength(MAX_BATCH_EVENTS, `must contain at most ${MAX_BATCH_EVENTS} events`),
    ),
  });

/** Body of `POST /events/batch`: the documented contract. */
export const BatchRequest = batchOf(BatchItem);
export type BatchRequest = v.InferOutput<typeof BatchRequest>;

/**
 * {@link BatchRequest} with its items left unchecked: the ingest Worker checks the envelope
 * first, then each item on its own, so that one invalid item does not sink the others.
 */
export const BatchEnvelope = batchOf(v.unknown());
export type BatchEnvelope = v.InferOutput<typeof BatchEnvelope>;

/**
 * `?debug=` values a `test` API key may send to rehearse failure handling.
 * - `validation_error`: answered with 400, nothing is enqueued.
 * - `processing_error`: enqueued; the consumer fails it on every attempt, so it ends in the DLQ.
 * - `dlq_routing`: enqueued; the consumer moves it to the DLQ without processing it.
 * - `queue_delay`: enqueued with a delivery delay of {@link QUEUE_DELAY_DEBUG_SECONDS}.
 */
export const DebugFlag = v.picklist(['validation_error', 'processing_error', 'dlq_routing', 'queue_delay']);
export type DebugFlag = v.InferOutput<typeof DebugFlag>;

/** The debug flags that travel with a queued event, in its own field, never in the payload. */
export const DebugMarker = v.picklist(['processing_error', 'dlq_routing', 'queue_delay']);
export type DebugMarker = v.InferOutput<typeof DebugMarker>;

/** Delivery delay applied to `?debug=queue_delay` events. */
export const QUEUE_DELAY_DEBUG_SECONDS = 5;

/** A correlation id as accepted from clients and carried through the system. */
export const CorrelationId = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(MAX_CORRELATION_ID_LENGTH),
  v.regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -'),
);

/**
 * The message on `event-queue` (and, once dead-lettered, on `event-dlq`). Unknown fields are
 * dropped rather than rejected, so a consumer keeps working when a producer adds a field.
 */
export const QueuedEvent = v.object({
  /**
   * Assigned by the ingest Worker; the store's primary key. A random UUID v4, or for an event
   * sent with an idempotency key a UUID v8 derived from (API key id, idempotency key).
   */
  event_id: v.pipe(v.string(), v.uuid()),
  /** The client's data: a JSON object from the JSON API, any JSON value for a CloudEvent's data. */
  payload: JsonValue,
  metadata: v.optional(JsonObject),
  /**
   * The event's identity (identity.ts). Absent from messages queued before these fields existed
   * and from JSON API events that gave none: the store applies `eventIdentity`'s defaults.
   */
  type: v.optional(EventType),
  source: v.optional(EventSource),
  subject: v.optional(EventSubject),
  /** The rest of a CloudEvent's context attributes; absent for JSON API events. */
  cloudevent: v.optional(CloudEventContext),
  /** When the ingest Worker accepted the event (ISO-8601, UTC). */
  timestamp: Timestamp,
  correlation_id: CorrelationId,
  /** Id of the API key that sent the event: the tenant it belongs to. */
  api_key_id: v.pipe(v.string(), v.minLength(1)),
  /** Failure rehearsal requested by a `test` key; absent on ordinary events. */
  debug: v.optional(DebugMarker),
});
export type QueuedEvent = v.InferOutput<typeof QueuedEvent>;

/**
 * A message on `event-queue` carrying several events: the accepted events of one request, packed
 * by `packEvents` (chunk.ts) into as few messages as the queue's size limit allows, since
 * Cloudflare Queues count (and bill) messages, not events. At most {@link MAX_BATCH_EVENTS}
 * events, each a whole {@link QueuedEvent}; the consumer handles each as if it had come alone
 * and settles the message once all of them are. Unknown fields are dropped, as in QueuedEvent.
 */
export const PackedEvents = v.object({
  events: v.pipe(v.array(QueuedEvent), v.minLength(1), v.maxLength(MAX_BATCH_EVENTS)),
});
export type PackedEvents = v.InferOutput<typeof PackedEvents>;

/**
 * {@link PackedEvents} with its events left unchecked: the consumer validates each event on its
 * own, so that one unreadable event of a pack does not sink the others.
 */
export const PackedEnvelope = v.object({
  events: v.pipe(v.array(v.unknown()), v.minLength(1), v.maxLength(MAX_BATCH_EVENTS)),
});
export type PackedEnvelope = v.InferOutput<typeof PackedEnvelope>;

/** A body of `event-queue`: one event (`POST /events`, a lone event of a batch) or several packed. */
export type EventQueueMessage = QueuedEvent | PackedEvents;
