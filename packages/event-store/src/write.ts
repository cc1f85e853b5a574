import { eventIdentity, jsonChunks, type QueuedEvent } from '@triggers/event-schema';
import { ensureDays } from './days.ts';
import { addDays, dayOf, dayTable, KEPT_EVENTS } from './partitions.ts';

/** The ids newer eras claimed (store-migrations/0006_event_claims.sql, era-ops.ts). */
const EVENT_CLAIMS = 'event_claims';

/**
 * Writes to the store, built as statements and run together by {@link commit}: everything a
 * queue batch changes goes to D1 in one round trip and one transaction.
 *
 * Each statement takes all its rows as one JSON array parameter and expands it with
 * `json_each` ({@link EACH_EVENT} for events), so a batch needs one statement per table and
 * outcome (more only when the array outgrows {@link MAX_JSON_PARAM_BYTES}), never one per event,
 * and binds 2 or 3 parameters where D1 allows 100.
 */
export interface StoreWrite {
  readonly statements: readonly D1PreparedStatement[];
  /**
   * The days whose tables the statements name (partitions.ts): {@link commit} creates those
   * missing before it runs them. Empty for writes to D1.
   */
  readonly days?: readonly string[];
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

const INSERTED_COLUMNS =
  'received_at, event_id, api_key_id, payload, metadata, status, attempts, last_error, created_at, updated_at, correlation_id, debug, type, source, subject, cloudevent';

/**
 * How one kind of queue outcome writes an event: the status it stores, the `last_error` of a new
 * row, and what it changes on a row still `pending` (`excluded` in an upsert; `e.value` and the
 * row itself, `t`, in an UPDATE of a neighbouring table).
 */
interface Outcome {
  status: string;
  /** `last_error` of the row to insert into `table` (whose row, if any, is the old one). */
  insertError: (table: string) => string;
  /** The SET of an upsert's conflict. */
  upsertSet: string;
  /** The SET of an UPDATE of table `t` from {@link EACH_EVENT}. */
  updateSet: string;
}

// A later success keeps the error of the attempts before it.
const DELIVERED: Outcome = {
  status: 'delivered',
  insertError: () => 'NULL',
  upsertSet: "status = 'delivered'",
  updateSet: "status = 'delivered'",
};

const RETRY: Outcome = {
  status: 'pending',
  insertError: () => "e.value ->> '$.error'",
  upsertSet: 'last_error = excluded.last_error',
  updateSet: "last_error = e.value ->> '$.error'",
};

// Without a reason of its own, a dead event keeps the error its last attempt recorded; ?3 is
// the fallback when no attempt recorded one (the store was down for all of them, say).
const FAILED: Outcome = {
  status: 'failed',
  insertError: (table) => `coalesce(e.value ->> '$.error',
            (SELECT old.last_error FROM ${table} AS old
             WHERE old.event_id = e.value ->> '$.event_id' AND old.api_key_id = e.value ->> '$.api_key_id'),
            ?3)`,
  upsertSet: "status = 'failed', last_error = excluded.last_error",
  updateSet: "status = 'failed', last_error = coalesce(e.value ->> '$.error', t.last_error, ?3)",
};

/**
 * The events of `?1` (a JSON array), one row `e` each. `jsonb_each` makes `e.value` the element
 * in SQLite's binary JSON, which each `->>` of a statement reads as it is; `json_each` rendered
 * every element back to text, parsed again by its first `->>`. Measured with events of 1 KB:
 * about 40 % less time in the upsert. What is read and stored is the same text either way.
 */
const EACH_EVENT = 'jsonb_each(?1) AS e';

/** The event is in none of `tables` (each probed through its UNIQUE (event_id)). */
const absentFrom = (tables: readonly string[]) =>
  tables
    .map((table) => `NOT EXISTS (SELECT 1 FROM ${table} AS n WHERE n.event_id = e.value ->> '$.event_id')`)
    .join(' AND ');

/**
 * Row `t` holds the payload and metadata of element `e`, compared as the upsert stores them: the
 * payload as JSON text (`->`: a string, `null` or `true` payload too), the metadata as its value.
 * A message of an event_id with other content is an idempotency key reused for another event: it
 * changes nothing of the stored one but its `idempotency_conflicts` count ({@link countConflicts}).
 */
const SAME_CONTENT = `(t.payload IS e.value -> '$.payload' AND t.metadata IS e.value ->> '$.metadata')`;

/**
 * `INSERT … SELECT … FROM jsonb_each(?1) … ON CONFLICT DO UPDATE … WHERE status = 'pending'` into
 * the day's table: a new event gets a row, unless it is stored in one of `elsewhere` (the
 * neighbouring days and kept_events, which {@link updateElsewhere} changes); an existing one
 * changes only while it is `pending` (see status.ts) and holds the message's content
 * ({@link SAME_CONTENT}). `?2` is the write time. RETURNING lists the rows actually inserted or
 * changed.
 *
 * Defence in depth: an existing row changes only for its own tenant (`api_key_id =
 * excluded.api_key_id`), and every subquery is scoped the same way. Event ids are assigned by the
 * ingest Worker today, but should a future path let a client choose one, a message naming another
 * tenant's `event_id` changes nothing of it: it is reported unchanged, like a duplicate.
 */
function upsertDay(outcome: Outcome, table: string, elsewhere: readonly string[]): string {
  return `INSERT INTO ${table} AS t (${INSERTED_COLUMNS})
SELECT e.value ->> '$.received_at', e.value ->> '$.event_id', e.value ->> '$.api_key_id', e.value -> '$.payload',
       e.value ->> '$.metadata', '${outcome.status}', e.value ->> '$.attempts', ${outcome.insertError(table)},
       ?2, ?2, e.value ->> '$.correlation_id', e.value ->> '$.debug',
       e.value ->> '$.type', e.value ->> '$.source', e.value ->> '$.subject', e.value ->> '$.cloudevent'
FROM ${EACH_EVENT}
WHERE ${absentFrom(elsewhere)}
ON CONFLICT (event_id) DO UPDATE SET ${outcome.upsertSet},
  attempts = max(t.attempts, excluded.attempts), updated_at = excluded.updated_at
WHERE t.status = 'pending' AND t.api_key_id = excluded.api_key_id
  AND t.payload IS excluded.payload AND t.metadata IS excluded.metadata
RETURNING event_id AS key`;
}

/**
 * The same change on a row stored in `table`, another table than its message's day: a copy of
 * the event received on a neighbouring day (an idempotency key's retry, within the dedup
 * window), or a row retention kept. Only a `pending` row of the same tenant changes.
 */
function updateElsewhere(outcome: Outcome, table: string, idsParam: number): string {
  return `UPDATE ${table} AS t SET ${outcome.updateSet},
  attempts = max(t.attempts, e.value ->> '$.attempts'), updated_at = ?2
FROM ${eachEventIfHeld(table, idsParam)}
WHERE t.event_id = e.value ->> '$.event_id' AND t.api_key_id = e.value ->> '$.api_key_id' AND t.status = 'pending'
  AND ${SAME_CONTENT}
RETURNING event_id AS key`;
}

/**
 * {@link EACH_EVENT} when `table` holds one of the event ids of `?idsParam` (a JSON array of the
 * ids alone), else no rows. The test names no table of the statement, so SQLite makes it once,
 * before it expands anything: a table that holds none of the events (a neighbouring day, most of
 * the time) costs a probe per id, not a parse of the array of whole events. (As a term of the
 * WHERE clause, the test was made once too, but only after the array had been parsed: each of
 * the seven guarded statements parsed all of it, together longer than the upsert itself.)
 */
const eachEventIfHeld = (table: string, idsParam: number) =>
  `jsonb_each(CASE WHEN EXISTS (SELECT 1 FROM json_each(?${idsParam}) AS i JOIN ${table} AS x ON x.event_id = i.value)
  THEN ?1 ELSE '[]' END) AS e`;

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
 * Counts, on an existing row of the same tenant in `table`, a message that carries its event_id
 * with another payload or metadata: an idempotency key reused for a different event. Runs before
 * the upsert, so it compares with the row as it was (the first event, which stays).
 */
const countConflicts = (
  table: string,
  idsParam: number,
) => `UPDATE ${table} AS t SET idempotency_conflicts = idempotency_conflicts + 1
FROM ${eachEventIfHeld(table, idsParam)}
WHERE t.event_id = e.value ->> '$.event_id' AND t.api_key_id = e.value ->> '$.api_key_id'
  AND NOT ${SAME_CONTENT}`;

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

type Element = ReturnType<typeof eventElement>;

/** A group's events as the JSON arrays its statements bind, each with its event ids alone. */
export interface BoundArray {
  text: string;
  ids: string;
}

/**
 * `elements` as {@link BoundArray}s of at most {@link MAX_JSON_PARAM_BYTES}: serialized once for
 * all the statements of their group, not once per statement.
 */
function boundArrays(elements: Element[]): BoundArray[] {
  return jsonChunks(elements, { maxBytes: MAX_JSON_PARAM_BYTES }).map((array) => ({
    text: array.text,
    ids: JSON.stringify(elements.slice(array.offset, array.offset + array.count).map((e) => e.event_id)),
  }));
}

/**
 * One statement per array: `sql` bound to the array, then `params`. A function is the SQL of a
 * statement guarded by {@link eachEventIfHeld}, made for the parameter after `params`, bound to the
 * array's event ids.
 */
function boundStatements(
  db: D1Database,
  arrays: BoundArray[],
  sqlOf: string | ((idsParam: number) => string),
  params: string[],
): D1PreparedStatement[] {
  if (typeof sqlOf === 'string') return arrays.map((a) => db.prepare(sqlOf).bind(a.text, ...params));
  const sql = sqlOf(params.length + 2);
  return arrays.map((a) => db.prepare(sql).bind(a.text, ...params, a.ids));
}

/** `elements` by the day of their `received_at`. */
function byDay(elements: Element[]): Map<string, Element[]> {
  const days = new Map<string, Element[]>();
  for (const element of elements) {
    const day = dayOf(element.received_at);
    const group = days.get(day);
    if (group) group.push(element);
    else days.set(day, [element]);
  }
  return days;
}

/**
 * The dedup window: a message is checked against the tables of its own day, the day before, the
 * day after and kept_events. Two copies of an event received within 24 hours of each other (an
 * idempotency key's retry, a redelivery) always fall on the same or neighbouring days.
 */
const neighbours = (day: string) => [KEPT_EVENTS, dayTable(addDays(day, -1)), dayTable(addDays(day, 1))];

/** How {@link writeDays} writes one kind of outcome. */
interface WriteOptions {
  /** Count idempotency conflicts (on every table an existing copy may be in). */
  conflicts?: boolean;
  /** Some event_id comes twice among the events written ({@link repeatsAnId}). */
  repeats?: boolean;
  /** The `last_error` when no attempt recorded one. */
  fallback?: string;
  /** A newer era may have claimed some ids (eras.ts): an event claimed is a duplicate, not stored. */
  claimed?: boolean;
}

/**
 * The statements of one outcome for `elements`, per day received: the conflict count when
 * `conflicts`, the change of a pending copy stored on a neighbouring day or kept, then the upsert
 * into the day's own table. The count runs before the upsert, where a table holding none of the
 * ids is not even parsed (most of them, for new events); when the write `repeats` an id, after
 * it, so that a second copy in the same batch is compared with the first, stored just before.
 */
function writeDays(
  db: D1Database,
  outcome: Outcome,
  prepared: readonly PreparedDay[],
  now: Date,
  { conflicts = false, repeats = false, fallback, claimed = false }: WriteOptions = {},
): StoreWrite {
  const at = now.toISOString();
  const params = fallback === undefined ? [at] : [at, fallback];
  const out: D1PreparedStatement[] = [];
  const days: string[] = [];
  for (const { day, arrays } of prepared) {
    const table = dayTable(day);
    const elsewhere = neighbours(day);
    days.push(addDays(day, -1), day, addDays(day, 1));
    const counts = conflicts
      ? [table, ...elsewhere].flatMap((t) => boundStatements(db, arrays, (n) => countConflicts(t, n), []))
      : [];
    if (!repeats) out.push(...counts);
    for (const t of elsewhere)
      out.push(...boundStatements(db, arrays, (n) => updateElsewhere(outcome, t, n), params));
    const absent = claimed ? [...elsewhere, EVENT_CLAIMS] : elsewhere;
    out.push(...boundStatements(db, arrays, upsertDay(outcome, table, absent), params));
    if (repeats) out.push(...counts);
  }
  return { statements: out, days };
}

/** Whether an event_id comes twice among `attempts`: two messages of one event in one batch. */
const repeatsAnId = (attempts: readonly EventAttempt[]) =>
  new Set(attempts.map(({ event }) => event.event_id)).size < attempts.length;

/**
 * One day's events of one outcome, serialized as its statements bind them: made where the
 * events are ({@link prepareWrites}), so that what crosses to the tenant's object is a few
 * strings, not an object per event for the RPC to copy.
 */
export interface PreparedDay {
  day: string;
  arrays: BoundArray[];
}

/** `elements` by the day they were received, each day serialized once ({@link boundArrays}). */
const prepareDays = (elements: Element[]): PreparedDay[] =>
  [...byDay(elements)].map(([day, group]) => ({ day, arrays: boundArrays(group) }));

/** One consumer batch's events of one tenant, by what to record of them. */
export interface EventWrites {
  /** Events to store as delivered (a duplicate is reported as not stored now). */
  delivered?: EventAttempt[];
  /** Failed attempts to record as pending, with their error. */
  retry?: FailedAttempt[];
  /** Dead-lettered events to record as failed. */
  failed?: DeadEvent[];
}

/** {@link EventWrites} serialized by {@link prepareWrites}, as `writeEvents` takes them. */
export interface PreparedWrites {
  delivered: PreparedDay[];
  retry: PreparedDay[];
  failed: PreparedDay[];
  /**
   * The tenants of the delivered and the dead events: whether one is subscribed is read in the
   * same commit. A dead event may be one stored already, whose fan-out the DLQ sends again.
   */
  fanOutTenants: string[];
  /** Whether an event_id comes twice among the delivered events. */
  deliveredRepeats: boolean;
  /**
   * Whether a newer era of the tenant may have claimed some of the events (eras.ts): set by the
   * client for a store that is not the newest, so that only its writes pay the probe.
   */
  claimed?: boolean;
}

const deliveredElements = (attempts: readonly EventAttempt[]) => attempts.map((a) => eventElement(a, null));
const retryElements = (failures: readonly FailedAttempt[]) => failures.map((f) => eventElement(f, f.error));
const failedElements = (dead: readonly DeadEvent[]) => dead.map((d) => eventElement(d, d.reason));

/** Serializes `writes` where the caller holds them (the consumer), for the store's `writeEvents`. */
export function prepareWrites(writes: EventWrites): PreparedWrites {
  const delivered = writes.delivered ?? [];
  const failed = writes.failed ?? [];
  return {
    delivered: prepareDays(deliveredElements(delivered)),
    retry: prepareDays(retryElements(writes.retry ?? [])),
    failed: prepareDays(failedElements(failed)),
    fanOutTenants: [...new Set([...delivered, ...failed].map(({ event }) => event.api_key_id))],
    deliveredRepeats: repeatsAnId(delivered),
  };
}

/** How each kind of {@link EventWrites} is written: its outcome and its options of {@link writeDays}. */
const KINDS = {
  delivered: [DELIVERED, { conflicts: true }],
  retry: [RETRY, {}],
  failed: [FAILED, { fallback: RETRIES_EXHAUSTED }],
} as const satisfies Record<keyof EventWrites, readonly [Outcome, WriteOptions]>;

const writeKind = (
  db: D1Database,
  kind: keyof EventWrites,
  days: readonly PreparedDay[],
  now: Date,
  repeats = false,
  claimed = false,
) => writeDays(db, KINDS[kind][0], days, now, { ...KINDS[kind][1], repeats, claimed });

/**
 * Stores events as `delivered`. The keys it reports are the events stored now, not duplicates.
 * A message whose event_id is stored with another payload or metadata (an idempotency key reused
 * for a different event) changes nothing but the row's `idempotency_conflicts` count.
 */
export const storeDelivered = (db: D1Database, attempts: EventAttempt[], now: Date): StoreWrite =>
  writeKind(db, 'delivered', prepareDays(deliveredElements(attempts)), now, repeatsAnId(attempts));

/** Records failed attempts that will be retried: `pending`, with their attempts and error. */
export const recordRetry = (db: D1Database, failures: FailedAttempt[], now: Date): StoreWrite =>
  writeKind(db, 'retry', prepareDays(retryElements(failures)), now);

/** Records dead-lettered events as `failed`, with their attempts and reason. */
export const recordFailed = (db: D1Database, dead: DeadEvent[], now: Date): StoreWrite =>
  writeKind(db, 'failed', prepareDays(failedElements(dead)), now);

/** The writes of {@link PreparedWrites}: delivered, retried, failed, in that order. */
export const writePrepared = (db: D1Database, prepared: PreparedWrites, now: Date) =>
  [
    writeKind(db, 'delivered', prepared.delivered, now, prepared.deliveredRepeats, prepared.claimed),
    writeKind(db, 'retry', prepared.retry, now, false, prepared.claimed),
    writeKind(db, 'failed', prepared.failed, now, false, prepared.claimed),
  ] as const;

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
  await ensureDays(
    db,
    writes.flatMap((write) => write.days ?? []),
  );
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
