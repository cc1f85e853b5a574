import * as v from 'valibot';
import { isPlainObject, JsonObject } from './json.ts';
import { MAX_CORRELATION_ID_LENGTH } from './limits.ts';

/** Messages for the object-level problems valibot reports on a request body. */
export const bodyMessage = (issue: v.BaseIssue<unknown>): string => {
  if (issue.expected === 'never') return 'is not a recognised field';
  if (issue.received === 'undefined') return 'is required';
  return 'must be a JSON object';
};

/** Body of `POST /events`. Unknown top-level fields are rejected so that typos surface. */
export const EventRequest = v.pipe(
  // valibot's object schemas take arrays for objects; a body must be a JSON object.
  v.custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object'),
  v.strictObject(
    {
      payload: JsonObject,
      metadata: v.optional(JsonObject),
    },
    bodyMessage,
  ),
);
export type EventRequest = v.InferOutput<typeof EventRequest>;

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
  /** UUID v4 assigned by the ingest Worker; the store's primary key. */
  event_id: v.pipe(v.string(), v.uuid()),
  payload: JsonObject,
  metadata: v.optional(JsonObject),
  /** When the ingest Worker accepted the event (ISO-8601, UTC). */
  timestamp: v.pipe(v.string(), v.isoTimestamp()),
  correlation_id: CorrelationId,
  /** Id of the API key that sent the event: the tenant it belongs to. */
  api_key_id: v.pipe(v.string(), v.minLength(1)),
  /** Failure rehearsal requested by a `test` key; absent on ordinary events. */
  debug: v.optional(DebugMarker),
});
export type QueuedEvent = v.InferOutput<typeof QueuedEvent>;
