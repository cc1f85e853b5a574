import { CloudEventContext, EventStatus, type JsonObject, type JsonValue } from '@triggers/event-schema';
import * as v from 'valibot';

/** An `events` row as D1 returns it. */
export const EventRow = v.object({
  event_id: v.string(),
  api_key_id: v.string(),
  payload: v.string(),
  metadata: v.nullable(v.string()),
  status: EventStatus,
  attempts: v.number(),
  last_error: v.nullable(v.string()),
  received_at: v.string(),
  created_at: v.string(),
  updated_at: v.string(),
  correlation_id: v.string(),
  debug: v.nullable(v.string()),
  acked_at: v.nullable(v.string()),
  type: v.string(),
  source: v.string(),
  subject: v.nullable(v.string()),
  cloudevent: v.nullable(v.string()),
  idempotency_conflicts: v.number(),
});
export type EventRow = v.InferOutput<typeof EventRow>;

/** An event as the store holds it, with its payload, metadata and CloudEvent attributes parsed back. */
export type StoredEvent = Omit<EventRow, 'payload' | 'metadata' | 'cloudevent'> & {
  payload: JsonValue;
  metadata: JsonObject | null;
  cloudevent: CloudEventContext | null;
};

/** A `dead_letters` row: a dead-lettered message that was not a valid event. */
export const DeadLetterRow = v.object({
  message_id: v.string(),
  queue: v.string(),
  reason: v.string(),
  attempts: v.number(),
  body: v.string(),
  body_encoding: v.picklist(['json', 'base64']),
  enqueued_at: v.string(),
  created_at: v.string(),
});
export type DeadLetterRow = v.InferOutput<typeof DeadLetterRow>;

/** One event of one tenant: how every read or change of a single event names it. */
export interface EventKey {
  apiKeyId: string;
  eventId: string;
}

/** An `events` row as D1 returns it, checked, with its payload and metadata parsed. */
export function toStoredEvent(raw: unknown): StoredEvent {
  const row = v.parse(EventRow, raw);
  return {
    ...row,
    payload: JSON.parse(row.payload) as JsonValue,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as JsonObject),
    cloudevent: row.cloudevent === null ? null : v.parse(CloudEventContext, JSON.parse(row.cloudevent)),
  };
}

/**
 * The statement reading one event of one tenant, for use alone or inside a `db.batch()`. An event
 * of another key reads as missing, so callers cannot tell "not yours" from "does not exist".
 */
export function selectEvent(db: D1Database, { apiKeyId, eventId }: EventKey): D1PreparedStatement {
  return db.prepare('SELECT * FROM events WHERE event_id = ?1 AND api_key_id = ?2').bind(eventId, apiKeyId);
}

/** One event of one tenant, or `null` (see {@link selectEvent}). */
export async function getEvent(db: D1Database, target: EventKey): Promise<StoredEvent | null> {
  const raw = await selectEvent(db, target).first();
  return raw === null ? null : toStoredEvent(raw);
}

/** One unreadable dead letter, by the id of the queue message that carried it. */
export async function getDeadLetter(db: D1Database, messageId: string): Promise<DeadLetterRow | null> {
  const raw = await db.prepare('SELECT * FROM dead_letters WHERE message_id = ?1').bind(messageId).first();
  return raw === null ? null : v.parse(DeadLetterRow, raw);
}
