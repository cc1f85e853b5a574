import { eventIdentity, jsonChunks, type QueuedEvent } from '@triggers/event-schema';

/**
 * Writes to the store, built as statements and run together by {@link commit}: everything a
 * queue batch changes goes to D1 in one round trip and one transaction.
 *
 * Each statement takes all its rows as one JSON array parameter and expands it with
 * `json_each`, so a batch needs one statement per table and outcome (more only when the array
 * outgrows {@link MAX_JSON_PARAM_BYTES}), never one per event, and binds 2 or 3 parameters
 * where D1 allows 100.
 */
export interface StoreWrite {
  readonly statements: readonly D1PreparedStatement[];
}

/** An event and the delivery attempt (1-based) it arrived with. */
export interface EventAttempt {
  event: QueuedEvent;
  attempts: number;
}

/** An attempt that failed and will be retried. */
export interface FailedAttempt extends EventAttempt {
  error: string;
}

/**
 * A dead-lettered event. `reason: null` means "the reason recorded by its last failed attempt":
 * what Cloudflare's own move to the DLQ after the last retry carries (nothing).
 */
export interface DeadEvent extends EventAttempt {
  reason: string | null;
}

/** A message body as text the store can keep: JSON, or base64 for a binary body. */
export interface EncodedBody {
  body: string;
  body_encoding: 'json' | 'base64';
}

/** A dead-lettered message whose body is not a QueuedEvent, with its body from {@link encodeBody}. */
export interface UnreadableMessage extends EncodedBody {
  messageId: string;
  queue: string;
  reason: string;
  attempts: number;
  enqueuedAt: Date;
}

/**
 * The largest JSON array bound to one statement, in bytes. D1 caps a string (and a row) at
 * 2,000,000 bytes; half of it leaves room for whatever else the request carries. A batch of
 * 100 events of the queue's largest size (128 KB each) becomes 13 statements, still one round
 * trip, where 100 single-row INSERTs would exceed the Free plan's 50 queries per invocation.
 */
export const MAX_JSON_PARAM_BYTES = 1_000_000;

/** What `last_error` says of a `failed` event when nothing more precise was ever recorded. */
export const RETRIES_EXHAUSTED = 'retries exhausted: every delivery attempt failed';

const EVENT_COLUMNS =
  'event_id, api_key_id, payload, metadata, status, attempts, last_error, received_at, created_at, updated_at, correlation_id, debug, type, source, subject, cloudevent';

/**
 * `INSERT … SELECT … FROM json_each(?1) … ON CONFLICT DO UPDATE … WHERE status = 'pending'`:
 * a new event gets a row; an existing one changes only while it is `pending` (see status.ts).
 * `?2` is the write time. RETURNING lists the rows actually inserted or changed.
 *
 * Defence in depth: an existing row changes only for its own tenant (`events.api_key_id =
 * excluded.api_key_id`), and every subquery is scoped the same way. Event ids are assigned by the
 * ingest Worker today, but should a future path let a client choose one, a message naming another
 * tenant's `event_id` changes nothing of it: it is reported unchanged, like a duplicate.
 */
function upsertEvents(status: string, lastError: string, set: string): string {
  return `INSERT INTO events (${EVENT_COLUMNS})
SELECT e.value ->> '$.event_id', e.value ->> '$.api_key_id', e.value -> '$.payload',
       e.value ->> '$.metadata', '${status}', e.value ->> '$.attempts', ${lastError},
       e.value ->> '$.received_at', ?2, ?2, e.value ->> '$.correlation_id', e.value ->> '$.debug',
       e.value ->> '$.type', e.value ->> '$.source', e.value ->> '$.subject', e.value ->> '$.cloudevent'
FROM json_each(?1) AS e
WHERE true
ON CONFLICT (event_id) DO UPDATE SET ${set},
  attempts = max(events.attempts, excluded.attempts), updated_at = excluded.updated_at
WHERE events.status = 'pending' AND events.api_key_id = excluded.api_key_id
RETURNING event_id AS key`;
}

// A later success keeps the error of the attempts before it.
const STORE_DELIVERED = upsertEvents('delivered', 'NULL', "status = 'delivered'");

const RECORD_RETRY = upsertEvents('pending', "e.value ->> '$.error'", 'last_error = excluded.last_error');

// Without a reason of its own, a dead event keeps the error its last attempt recorded; ?3 is
// the fallback when no attempt recorded one (D1 was down for all of them, say).
const RECORD_FAILED = upsertEvents(
  'failed',
  `coalesce(e.value ->> '$.error',
            (SELECT old.last_error FROM events AS old
             WHERE old.event_id = e.value ->> '$.event_id' AND old.api_key_id = e.value ->> '$.api_key_id'),
            ?3)`,
  "status = 'failed', last_error = excluded.last_error",
);

const RECORD_UNREADABLE = `INSERT INTO dead_letters
  (message_id, queue, reason, attempts, body, body_encoding, enqueued_at, created_at)
SELECT e.value ->> '$.message_id', e.value ->> '$.queue', e.value ->> '$.reason',
       e.value ->> '$.attempts', e.value ->> '$.body', e.value ->> '$.body_encoding',
       e.value ->> '$.enqueued_at', ?2
FROM json_each(?1) AS e
WHERE true
ON CONFLICT (message_id) DO NOTHING
RETURNING message_id AS key`;

/**
 * Counts, on an existing row of the same tenant, a message that carries its event_id with another
 * payload or metadata: an idempotency key reused for a different event. Runs before the upsert, so
 * it compares with the row as it was (the first event, which stays).
 */
const COUNT_CONFLICTS = `UPDATE events SET idempotency_conflicts = idempotency_conflicts + 1
FROM json_each(?1) AS e
WHERE events.event_id = e.value ->> '$.event_id' AND events.api_key_id = e.value ->> '$.api_key_id'
  AND (events.payload IS NOT e.value ->> '$.payload' OR events.metadata IS NOT e.value ->> '$.metadata')`;

/** One element of the JSON array the event statements expand. */
function eventElement({ event, attempts }: EventAttempt, error: string | null) {
  return {
    event_id: event.event_id,
    api_key_id: event.api_key_id,
    payload: event.payload,
    metadata: event.metadata ?? null,
    attempts,
    error,
    // Fixed-width UTC, whatever offset the producer wrote, so that text order is time order.
    received_at: new Date(event.timestamp).toISOString(),
    correlation_id: event.correlation_id,
    debug: event.debug ?? null,
    // Every row has a type and a source: the event's own, or the defaults (old messages too).
    ...eventIdentity(event),
    cloudevent: event.cloudevent ?? null,
  };
}

/**
 * `sql` bound to `elements` as JSON arrays of at most {@link MAX_JSON_PARAM_BYTES}: one statement
 * each. An element too large for any array still gets one of its own, and D1 refuses it loudly.
 */
function statements(db: D1Database, sql: string, elements: unknown[], ...params: string[]): StoreWrite {
  const arrays = jsonChunks(elements, { maxBytes: MAX_JSON_PARAM_BYTES });
  return { statements: arrays.map((array) => db.prepare(sql).bind(array.text, ...params)) };
}

/**
 * Stores events as `delivered`. The keys it reports are the events stored now, not duplicates.
 * A message whose event_id is stored with another payload or metadata (an idempotency key reused
 * for a different event) changes nothing but the row's `idempotency_conflicts` count.
 */
export function storeDelivered(db: D1Database, attempts: EventAttempt[], now: Date): StoreWrite {
  const elements = attempts.map((attempt) => eventElement(attempt, null));
  const conflicts = statements(db, COUNT_CONFLICTS, elements);
  const upserts = statements(db, STORE_DELIVERED, elements, now.toISOString());
  return { statements: [...conflicts.statements, ...upserts.statements] };
}

/** Records failed attempts that will be retried: `pending`, with their attempts and error. */
export function recordRetry(db: D1Database, failures: FailedAttempt[], now: Date): StoreWrite {
  const elements = failures.map((failure) => eventElement(failure, failure.error));
  return statements(db, RECORD_RETRY, elements, now.toISOString());
}

/** Records dead-lettered events as `failed`, with their attempts and reason. */
export function recordFailed(db: D1Database, dead: DeadEvent[], now: Date): StoreWrite {
  const elements = dead.map((d) => eventElement(d, d.reason));
  return statements(db, RECORD_FAILED, elements, now.toISOString(), RETRIES_EXHAUSTED);
}

/** Keeps dead-lettered messages that are not events, body and all, in `dead_letters`. */
export function recordUnreadable(db: D1Database, messages: UnreadableMessage[], now: Date): StoreWrite {
  const elements = messages.map((m) => ({
    message_id: m.messageId,
    queue: m.queue,
    reason: m.reason,
    attempts: m.attempts,
    body: m.body,
    body_encoding: m.body_encoding,
    enqueued_at: m.enqueuedAt.toISOString(),
  }));
  return statements(db, RECORD_UNREADABLE, elements, now.toISOString());
}

/**
 * Runs `writes` in one `db.batch()`: one round trip, one transaction (all or nothing). Resolves,
 * for each write in order, the keys (event ids, or message ids for unreadable messages) it
 * inserted or changed; a key missing from its set was already final, a duplicate.
 */
export async function commit<const T extends readonly StoreWrite[]>(
  db: D1Database,
  writes: T,
): Promise<{ -readonly [K in keyof T]: Set<string> }> {
  const all = writes.flatMap((write) => write.statements);
  const results = all.length === 0 ? [] : await db.batch<{ key: string }>([...all]);
  let next = 0;
  const keys = writes.map((write) => {
    const changed = new Set<string>();
    for (let i = 0; i < write.statements.length; i++) {
      for (const row of results[next++]?.results ?? []) changed.add(row.key);
    }
    return changed;
  });
  return keys as { -readonly [K in keyof T]: Set<string> };
}

/** Any message body (`message.body` of any content type) as text the store can keep. */
export function encodeBody(body: unknown): EncodedBody {
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    const bytes =
      body instanceof ArrayBuffer
        ? new Uint8Array(body)
        : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return { body: btoa(binary), body_encoding: 'base64' };
  }
  try {
    return { body: JSON.stringify(body) ?? 'null', body_encoding: 'json' };
  } catch {
    // Not JSON-serializable (a v8-encoded BigInt or cycle): keep its string form.
    return { body: JSON.stringify(String(body)), body_encoding: 'json' };
  }
}
