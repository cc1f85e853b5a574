import * as v from 'valibot';
import { CloudEventContext } from './cloudevent.ts';
import { SuccessEnvelope, Timestamp } from './envelope.ts';
import { bodyMessage } from './event.ts';
import { JsonObject, JsonValue } from './json.ts';
import { DEFAULT_REPLAY_LIMIT, MAX_INBOX_LIMIT } from './limits.ts';
import { EventStatus } from './status.ts';

/** A UUID as the API hands out event ids: lower case, whatever case the client wrote it in. */
export const EventId = v.pipe(
  v.string('must be a string'),
  v.uuid('must be a UUID'),
  v.transform((id) => id.toLowerCase()),
  v.string(),
  v.uuid(),
);

/** A date, or a date and time with `Z` or an offset: a time without a zone names no instant. */
export const INSTANT_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** Whether `text` matches {@link INSTANT_PATTERN} and names a real day and time (no 30 February). */
function isInstant(text: string): boolean {
  const [, year, month, day] = INSTANT_PATTERN.exec(text) ?? [];
  if (year === undefined || Number.isNaN(Date.parse(text))) return false;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
}

/**
 * A bound of a time range (`from`, `to`): an ISO-8601 timestamp with `Z` or an offset, or a
 * date (midnight UTC), read to the millisecond and normalized to the store's fixed-width UTC
 * form (`2026-11-29T16:24:59.123Z`), so that it compares with stored timestamps as text.
 */
export const TimeBound = v.pipe(
  v.string('must be an ISO-8601 timestamp'),
  v.check(isInstant, 'must be an ISO-8601 timestamp with Z or an offset (2026-11-29T10:00:00Z), or a date'),
  v.transform((text) => new Date(text).toISOString()),
  v.string(),
  v.isoTimestamp(),
);

/** An event as the inbox API shows it: the stored row, without the tenant it belongs to. */
export const InboxEvent = v.object({
  event_id: v.pipe(v.string(), v.uuid()),
  status: EventStatus,
  /** Delivery attempts of its current life (a replay starts a new one at 0). */
  attempts: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The most recent failure, kept after a later success. */
  last_error: v.nullable(v.string()),
  /** When the ingest Worker accepted it: what the inbox is ordered and filtered by. */
  received_at: Timestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
  /** When it was acknowledged (`POST /inbox/{event_id}/ack`), or null. */
  acked_at: v.nullable(Timestamp),
  /** The correlation id of the request that sent it. */
  correlation_id: v.string(),
  /** The failure rehearsal it was sent with (`processing_error`, …), or null. */
  debug: v.nullable(v.string()),
  /** What kind of event it is (`triggers.event` when it was sent without one). */
  type: v.string(),
  /** Who produced it, a URI-reference (`/api-keys/<key id>` when it was sent without one). */
  source: v.string(),
  subject: v.nullable(v.string()),
  /** A CloudEvent's other context attributes and extensions; null for JSON API events. */
  cloudevent: v.nullable(CloudEventContext),
  /** A JSON API event's payload object, or a CloudEvent's data as `cloudevent.data_encoding` says. */
  payload: JsonValue,
  metadata: v.nullable(JsonObject),
  /**
   * Times its idempotency key was reused with another payload or metadata: each such event was
   * not stored (the first one stays) and counted here. 0 for an event sent without a key.
   */
  idempotency_conflicts: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type InboxEvent = v.InferOutput<typeof InboxEvent>;

/** What `GET /events/{event_id}`, `POST /inbox/{event_id}/ack` and `…/retry` answer. */
export const EventDetails = SuccessEnvelope(InboxEvent);
export type EventDetails = v.InferOutput<typeof EventDetails>;

/** A page of `GET /inbox`. `next_cursor` is null when no event matched beyond this page. */
export const InboxPage = SuccessEnvelope(
  v.object({
    events: v.array(InboxEvent),
    next_cursor: v.nullable(v.string()),
  }),
);
export type InboxPage = v.InferOutput<typeof InboxPage>;

/**
 * Body of `POST /dlq/replay`: which failed events to re-enqueue, oldest first. (That `from` comes
 * before `to` is checked by the API, outside the schema, which the OpenAPI document shows.)
 */
export const ReplayRequest = v.strictObject(
  {
    from: v.optional(v.pipe(TimeBound, v.description('Only events received at or after this instant.'))),
    to: v.optional(v.pipe(TimeBound, v.description('Only events received before this instant.'))),
    limit: v.optional(
      v.pipe(
        v.number('must be a number'),
        v.integer('must be a whole number'),
        v.minValue(1, 'must be at least 1'),
        v.maxValue(MAX_INBOX_LIMIT, `must be at most ${MAX_INBOX_LIMIT}`),
        v.description(`Most events to re-enqueue; ${DEFAULT_REPLAY_LIMIT} when not given.`),
      ),
      DEFAULT_REPLAY_LIMIT,
    ),
  },
  bodyMessage,
);
export type ReplayRequest = v.InferOutput<typeof ReplayRequest>;

/** What `POST /dlq/replay` answers: the events it moved from `failed` to `pending` and queued. */
export const ReplayResult = SuccessEnvelope(
  v.object({
    replayed: v.pipe(v.number(), v.integer(), v.minValue(0)),
    event_ids: v.array(v.pipe(v.string(), v.uuid())),
  }),
);
export type ReplayResult = v.InferOutput<typeof ReplayResult>;
