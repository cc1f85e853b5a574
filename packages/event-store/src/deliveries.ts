import {
  type AttemptMessage,
  type Delivery,
  type DeliveryAttempt,
  type DeliveryExhaustedPayload,
  type DeliveryStatus,
  type SubscriptionDisabledPayload,
  TRIGGERS_SOURCE,
} from '@triggers/event-schema';
import { compileFilter, type EventFilter, type FilterInput } from '@triggers/webhooks';
import { signingPreviousSecrets } from './subscriptions.ts';
import type { StoreWrite } from './write.ts';

/**
 * Webhook deliveries (tables `deliveries` and `delivery_attempts`, migration 0005). The database
 * guards the state machine: every move is a conditional UPDATE that names the state it expects
 * (`pending` with so many attempts in this round, or `failed` for a manual retry), so a duplicate
 * queue message or two callers at once change a delivery once.
 */

/**
 * Whether the event type `type` matches the pattern `pattern` (SQL expressions): what
 * `matchesEventType` of @triggers/event-schema says, in SQL. A pattern ending in `*` is the
 * prefix before it, compared by substring (no LIKE or GLOB, so `_` and `%` in types are plain
 * characters); any other is exact. Tested against `matchesEventType` on generated types.
 */
export const typeMatchesSql = (type: string, pattern: string) =>
  `(CASE WHEN substr(${pattern}, -1) = '*'
     THEN substr(${type}, 1, length(${pattern}) - 1) = substr(${pattern}, 1, length(${pattern}) - 1)
     ELSE ${type} = ${pattern} END)`;

// An operational event (operational.ts of @triggers/event-schema) is never delivered to the
// subscription it is about, its subject: a subscriber failing to receive is not told so by the
// same webhook. Its own condition, apart from the rest of FAN_OUT.
const NOT_ABOUT_ITSELF = `NOT (e.source = '${TRIGGERS_SOURCE}' AND e.subject IS s.id)`;

// One delivery per (stored event of the key, enabled subscription of the key whose types match,
// and whose filter, if it has one, matched the event: ?4 lists those pairs as 'event_id subscription_id').
// A delivery that exists already is only reported again while it has never been attempted, so
// that its attempt is queued again if queueing it failed last time; one that was attempted,
// delivered or failed is left alone: a replayed event is not delivered twice.
const FAN_OUT = `INSERT INTO deliveries
  (api_key_id, id, event_id, subscription_id, url, status, round, attempts, next_attempt_at, created_at, updated_at)
SELECT s.api_key_id, 'msg_' || lower(hex(randomblob(12))), e.event_id, s.id, s.url,
       'pending', 1, 0, ?3, ?3, ?3
FROM events AS e
JOIN subscriptions AS s ON s.api_key_id = e.api_key_id AND s.enabled = 1
WHERE e.api_key_id = ?1 AND e.event_id IN (SELECT value FROM json_each(?2)) AND e.status = 'delivered'
  AND (s.event_types IS NULL OR EXISTS (
    SELECT 1 FROM json_each(s.event_types) AS t WHERE ${typeMatchesSql('e.type', 't.value')}))
  AND (s.filter IS NULL OR e.event_id || ' ' || s.id IN (SELECT value FROM json_each(?4)))
  AND ${NOT_ABOUT_ITSELF}
ON CONFLICT (api_key_id, event_id, subscription_id) DO UPDATE SET id = deliveries.id
WHERE deliveries.status = 'pending' AND deliveries.round = 1 AND deliveries.attempts = 0
RETURNING id`;

// The (event, subscription) pairs of FAN_OUT whose subscription has a filter, with what the filter
// reads of the event: the candidates that JavaScript (filter.ts of @triggers/webhooks) decides.
const FILTERED_CANDIDATES = `SELECT e.event_id, s.id AS subscription_id, s.filter,
       e.type, e.source, e.subject, e.payload, e.metadata
FROM events AS e
JOIN subscriptions AS s ON s.api_key_id = e.api_key_id AND s.enabled = 1 AND s.filter IS NOT NULL
WHERE e.api_key_id = ?1 AND e.event_id IN (SELECT value FROM json_each(?2)) AND e.status = 'delivered'
  AND (s.event_types IS NULL OR EXISTS (
    SELECT 1 FROM json_each(s.event_types) AS t WHERE ${typeMatchesSql('e.type', 't.value')}))`;

interface FilteredCandidate extends EventColumns {
  event_id: string;
  subscription_id: string;
  filter: string;
}

/** The filter of a stored subscription; one that no longer compiles (it was checked when stored) matches nothing. */
function storedFilter(text: string): EventFilter {
  try {
    return compileFilter(JSON.parse(text));
  } catch {
    return () => false;
  }
}

/**
 * The candidate pairs whose subscription's filter matches the event, as 'event_id subscription_id'.
 * Each filter is compiled once, each event's JSON parsed once.
 */
function filterMatches(candidates: readonly FilteredCandidate[]): string[] {
  const filters = new Map<string, EventFilter>();
  const inputs = new Map<string, FilterInput>();
  return candidates.flatMap((c) => {
    let filter = filters.get(c.subscription_id);
    if (filter === undefined) {
      filter = storedFilter(c.filter);
      filters.set(c.subscription_id, filter);
    }
    let input = inputs.get(c.event_id);
    if (input === undefined) {
      input = {
        type: c.type,
        source: c.source,
        subject: c.subject,
        payload: JSON.parse(c.payload),
        metadata: c.metadata === null ? null : JSON.parse(c.metadata),
      };
      inputs.set(c.event_id, input);
    }
    return filter(input) ? [`${c.event_id} ${c.subscription_id}`] : [];
  });
}

/**
 * Creates the deliveries of some stored events of one key (a `FanOutMessage`): one per enabled
 * subscription of the key whose `event_types` match the event's type and whose `filter` (if any)
 * matches the event. Answers the first attempt of each delivery created, and of each one created
 * before but never attempted, to queue. Two statements: the filtered candidates are read and
 * decided in JavaScript, then one INSERT creates every delivery; in a tenant's object nothing runs
 * between them (no I/O: its SQL is synchronous), and a subscription changed in between only sees
 * its new filter decide at the next fan-out. At most `eventIds.length` × `MAX_SUBSCRIPTIONS_PER_KEY` rows.
 */
export async function fanOut(
  db: D1Database,
  apiKeyId: string,
  eventIds: readonly string[],
  now: Date,
): Promise<AttemptMessage[]> {
  if (eventIds.length === 0) return [];
  const ids = JSON.stringify(eventIds);
  const { results: candidates } = await db
    .prepare(FILTERED_CANDIDATES)
    .bind(apiKeyId, ids)
    .all<FilteredCandidate>();
  const { results } = await db
    .prepare(FAN_OUT)
    .bind(apiKeyId, ids, now.toISOString(), JSON.stringify(filterMatches(candidates)))
    .all<{ id: string }>();
  return results.map(({ id }) => ({ api_key_id: apiKeyId, delivery_id: id, round: 1, attempt: 1 }));
}

/**
 * Which of `apiKeyIds` have an enabled subscription, as a read in the consumer's batch commit
 * (same round trip): only their stored events need fanning out. Its keys are those key ids.
 */
export function subscribedKeys(db: D1Database, apiKeyIds: readonly string[]): StoreWrite {
  if (apiKeyIds.length === 0) return { statements: [] };
  return {
    statements: [
      db
        .prepare(
          `SELECT DISTINCT api_key_id AS key FROM subscriptions
           WHERE enabled = 1 AND api_key_id IN (SELECT value FROM json_each(?1))`,
        )
        .bind(JSON.stringify([...new Set(apiKeyIds)])),
    ],
  };
}

/** Where a delivery stands: the columns the dispatcher checks a queue message against. */
interface DeliveryState {
  api_key_id: string;
  id: string;
  event_id: string;
  status: DeliveryStatus;
  round: number;
  attempts: number;
  next_attempt_at: string | null;
}

/** Everything one attempt needs: the delivery, its event and its subscription's current state. */
export interface DeliveryWork extends DeliveryState {
  /** null once the subscription was deleted. */
  subscription: {
    id: string;
    url: string;
    enabled: boolean;
    /** Every secret that signs now: the current one first, then those rotated out within their overlap. */
    secrets: string[];
    /** The JSONata expression whose result is delivered instead of the event, or null. */
    transform: string | null;
  } | null;
  /** null when the event is no longer stored (retention keeps it while a delivery is pending: a bug, or a hand edit). */
  event: ({ event_id: string } & EventColumns) | null;
}

/** The event's columns a webhook's body is made of (payload and metadata as stored JSON text). */
interface EventColumns {
  type: string;
  source: string;
  subject: string | null;
  received_at: string;
  payload: string;
  metadata: string | null;
}

interface WorkRow extends DeliveryState, Partial<EventColumns> {
  stored: string | null;
  sub_id: string | null;
  sub_url: string | null;
  sub_enabled: number | null;
  secret: string | null;
  previous_secrets: string | null;
  transform: string | null;
}

/** The delivery a queue message names, with its event and subscription, or null. */
export async function loadDeliveryWork(
  db: D1Database,
  message: Pick<AttemptMessage, 'api_key_id' | 'delivery_id'>,
  now: Date,
): Promise<DeliveryWork | null> {
  const row = await db
    .prepare(
      `SELECT d.api_key_id, d.id, d.event_id, d.status, d.round, d.attempts, d.next_attempt_at,
              s.id AS sub_id, s.url AS sub_url, s.enabled AS sub_enabled, s.secret, s.previous_secrets,
              s.transform, e.event_id AS stored, e.type, e.source, e.subject, e.received_at, e.payload, e.metadata
       FROM deliveries AS d
       -- The event by id through the events view: an index probe per table (partitions.ts), as a
       -- join on the view would read it whole.
       LEFT JOIN (SELECT * FROM events WHERE event_id = (SELECT event_id FROM deliveries WHERE api_key_id = ?1 AND id = ?2)) AS e
         ON e.api_key_id = d.api_key_id
       LEFT JOIN subscriptions AS s ON s.api_key_id = d.api_key_id AND s.id = d.subscription_id
       WHERE d.api_key_id = ?1 AND d.id = ?2`,
    )
    .bind(message.api_key_id, message.delivery_id)
    .first<WorkRow>();
  if (row === null) return null;
  return {
    api_key_id: row.api_key_id,
    id: row.id,
    event_id: row.event_id,
    status: row.status,
    round: row.round,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    subscription:
      row.sub_id === null
        ? null
        : {
            id: row.sub_id,
            url: row.sub_url ?? '',
            enabled: row.sub_enabled === 1,
            secrets: [row.secret ?? '', ...signingPreviousSecrets(row.previous_secrets, now)],
            transform: row.transform,
          },
    event:
      row.stored === null
        ? null
        : {
            event_id: row.event_id,
            type: row.type ?? '',
            source: row.source ?? '',
            subject: row.subject ?? null,
            received_at: row.received_at ?? '',
            payload: row.payload ?? 'null',
            metadata: row.metadata ?? null,
          },
  };
}

/** The outcome of one attempt, and what it moves the delivery to. */
export interface AttemptResult {
  apiKeyId: string;
  deliveryId: string;
  subscriptionId: string | null;
  round: number;
  attempt: number;
  attemptedAt: Date;
  httpStatus: number | null;
  error: string | null;
  latencyMs: number;
  responseExcerpt: string | null;
  /** `pending` (with `nextAttemptAt`) when another attempt follows. */
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  /** Failed deliveries in a row at which the subscription is disabled. */
  disableAfter: number;
}

/**
 * Records an attempt and moves the delivery, in one transaction: the attempt row (once), the
 * delivery only if it still is `pending` at `attempt - 1` attempts of `round` (else another
 * dispatch got there first and nothing moves), and the subscription's failure count: reset by a
 * success, raised by a delivery that ends failed, which disables it at `disableAfter`.
 * Answers whether this call moved the delivery.
 */
export async function recordAttempt(db: D1Database, r: AttemptResult, now: Date): Promise<boolean> {
  const stamp = now.toISOString();
  const lastError = r.error ?? (r.httpStatus === null ? null : `HTTP ${r.httpStatus}`);
  const statements = [
    db
      .prepare(
        `INSERT INTO delivery_attempts
           (api_key_id, delivery_id, round, attempt, attempted_at, http_status, error, latency_ms, response_excerpt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING`,
      )
      .bind(
        r.apiKeyId,
        r.deliveryId,
        r.round,
        r.attempt,
        r.attemptedAt.toISOString(),
        r.httpStatus,
        r.error,
        r.latencyMs,
        r.responseExcerpt,
      ),
    db
      .prepare(
        `UPDATE deliveries SET status = ?5, attempts = ?4, next_attempt_at = ?6,
           last_error = CASE WHEN ?5 = 'succeeded' THEN last_error ELSE ?7 END, updated_at = ?8
         WHERE api_key_id = ?1 AND id = ?2 AND round = ?3 AND attempts = ?4 - 1 AND status = 'pending'
         RETURNING id`,
      )
      .bind(
        r.apiKeyId,
        r.deliveryId,
        r.round,
        r.attempt,
        r.status,
        r.nextAttemptAt?.toISOString() ?? null,
        lastError,
        stamp,
      ),
  ];
  if (r.subscriptionId !== null && r.status !== 'pending') {
    // Only when the UPDATE just before moved the delivery (`changes()`: the rows of the last
    // statement that completed). Two copies of one attempt stamp the same instant (a Worker's
    // clock stands still while it computes), so the stamp could not tell the copy that moved it.
    statements.push(countOutcome(db, { ...r, subscriptionId: r.subscriptionId }, stamp, 'AND changes() > 0'));
  }
  const results = await db.batch(statements);
  return (results[1]?.results.length ?? 0) > 0;
}

/** A delivery's end, as its subscription's failure count takes it ({@link countOutcome}). */
export interface DeliveryOutcome {
  apiKeyId: string;
  subscriptionId: string;
  status: DeliveryStatus;
  disableAfter: number;
}

/** A delivery's end by the attempt that ended it: what {@link countDeliveryOutcome} counts once. */
export interface AttemptOutcome extends DeliveryOutcome {
  deliveryId: string;
  round: number;
  attempt: number;
}

/**
 * The subscription's failure count after a delivery ended: reset by a success, raised by a
 * failure, which disables it at `disableAfter` (stamped `stamp`, the delivery's own end). `guard`
 * is a condition more on the UPDATE.
 */
function countOutcome(db: D1Database, r: DeliveryOutcome, stamp: string, guard = ''): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE subscriptions SET
         consecutive_failures = CASE WHEN ?3 = 'succeeded' THEN 0 ELSE consecutive_failures + 1 END,
         enabled = CASE WHEN ?3 = 'failed' AND consecutive_failures + 1 >= ?4 THEN 0 ELSE enabled END,
         disabled_reason = CASE WHEN ?3 = 'failed' AND consecutive_failures + 1 >= ?4 AND enabled = 1
           THEN 'disabled after ' || CAST(?4 AS INTEGER) || ' failed deliveries in a row' ELSE disabled_reason END,
         disabled_at = CASE WHEN ?3 = 'failed' AND consecutive_failures + 1 >= ?4 AND enabled = 1
           THEN ?5 ELSE disabled_at END,
         updated_at = ?5
       WHERE api_key_id = ?1 AND id = ?2 ${guard}
       RETURNING enabled`,
    )
    .bind(r.apiKeyId, r.subscriptionId, r.status, r.disableAfter, stamp);
}

/**
 * Counts a delivery's end on its subscription, for a delivery stored in another of the tenant's
 * stores than the subscription (eras.ts), before that store's {@link recordAttempt} moves it
 * (without counting). Once per attempt (`counted_outcomes`), in one transaction: the call made
 * again, its message retried, counts nothing. Answers whether this call disabled the subscription.
 */
export async function countDeliveryOutcome(db: D1Database, r: AttemptOutcome, now: Date): Promise<boolean> {
  if (r.status === 'pending') return false;
  const stamp = now.toISOString();
  const [before, , after] = await db.batch<{ enabled: number }>([
    db
      .prepare('SELECT enabled FROM subscriptions WHERE api_key_id = ?1 AND id = ?2')
      .bind(r.apiKeyId, r.subscriptionId),
    db
      .prepare(
        `INSERT INTO counted_outcomes (delivery_id, round, attempt, counted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING`,
      )
      .bind(r.deliveryId, r.round, r.attempt, stamp),
    countOutcome(db, r, stamp, 'AND changes() > 0'),
  ]);
  return before?.results[0]?.enabled === 1 && after?.results[0]?.enabled === 0;
}

/** What a delivery that ended failed gives its tenant to know (operational events' payloads). */
export interface DeliveryEnded {
  exhausted: DeliveryExhaustedPayload;
  /** When this delivery's failure is what disabled its subscription; null otherwise. */
  disabled: SubscriptionDisabledPayload | null;
}

interface EndedRow {
  event_id: string;
  subscription_id: string;
  url: string;
  attempts: number;
  last_error: string | null;
  updated_at: string;
  sub_url: string | null;
  disabled_reason: string | null;
  consecutive_failures: number | null;
  disabled_by_it: number | null;
}

/**
 * A delivery that ended `failed` in `round` after `attempt` attempts (its schedule's last), as its
 * operational events tell it, or null when it did not (or no longer does: retried by hand, say).
 * Read from the store alone, so a dispatcher that failed to send them, and runs again, finds the
 * same facts. The subscription was disabled by this delivery when its `disabled_at` is the
 * delivery's own end: {@link recordAttempt} stamps both in one transaction.
 */
export async function deliveryEnded(
  db: D1Database,
  key: { apiKeyId: string; deliveryId: string; round: number; attempt: number },
): Promise<DeliveryEnded | null> {
  const row = await db
    .prepare(
      `SELECT d.event_id, d.subscription_id, d.url, d.attempts, d.last_error, d.updated_at,
              s.url AS sub_url, s.disabled_reason, s.consecutive_failures,
              s.enabled = 0 AND s.disabled_at = d.updated_at AS disabled_by_it
       FROM deliveries AS d
       LEFT JOIN subscriptions AS s ON s.api_key_id = d.api_key_id AND s.id = d.subscription_id
       WHERE d.api_key_id = ?1 AND d.id = ?2 AND d.round = ?3 AND d.attempts = ?4 AND d.status = 'failed'`,
    )
    .bind(key.apiKeyId, key.deliveryId, key.round, key.attempt)
    .first<EndedRow>();
  if (row === null) return null;
  const delivery = {
    delivery_id: key.deliveryId,
    event_id: row.event_id,
    round: key.round,
    attempts: row.attempts,
    last_error: row.last_error,
    failed_at: row.updated_at,
  };
  return {
    exhausted: { subscription_id: row.subscription_id, url: row.url, ...delivery },
    disabled:
      row.disabled_by_it === 1
        ? {
            subscription_id: row.subscription_id,
            url: row.sub_url ?? row.url,
            reason: row.disabled_reason ?? 'disabled',
            consecutive_failures: row.consecutive_failures ?? 1,
            disabled_at: row.updated_at,
            last_delivery: delivery,
          }
        : null,
  };
}

/**
 * Moves a `pending` delivery of `round` (with no attempt yet when `unattempted`) to `failed`
 * with `reason`; does nothing otherwise.
 */
function failPending(
  db: D1Database,
  key: { apiKeyId: string; deliveryId: string; round: number },
  reason: string,
  now: Date,
  unattempted: boolean,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE deliveries SET status = 'failed', last_error = ?4, next_attempt_at = NULL, updated_at = ?5
       WHERE api_key_id = ?1 AND id = ?2 AND round = ?3 AND status = 'pending'${unattempted ? ' AND attempts = 0' : ''}`,
    )
    .bind(key.apiKeyId, key.deliveryId, key.round, reason, now.toISOString());
}

/** Ends a delivery without an attempt (its subscription was deleted or disabled meanwhile). */
export async function abandonDelivery(
  db: D1Database,
  key: { apiKeyId: string; deliveryId: string; round: number },
  reason: string,
  now: Date,
): Promise<void> {
  await failPending(db, key, reason, now, false).run();
}

interface DeliveryRow extends Omit<Delivery, 'attempt_log'> {
  api_key_id: string;
}
interface AttemptRow extends DeliveryAttempt {
  delivery_id: string;
}

/** A key's deliveries of one event, each with its attempts in order. Empty for another key's event. */
export async function listDeliveries(
  db: D1Database,
  key: { apiKeyId: string; eventId: string; deliveryId?: string },
): Promise<Delivery[]> {
  const only = key.deliveryId === undefined ? '' : ' AND id = ?3';
  const onlyAttempts = key.deliveryId === undefined ? '' : ' AND a.delivery_id = ?3';
  const params =
    key.deliveryId === undefined ? [key.apiKeyId, key.eventId] : [key.apiKeyId, key.eventId, key.deliveryId];
  const [deliveries, attempts] = await db.batch([
    db
      .prepare(
        `SELECT id, event_id, subscription_id, url, status, round, attempts, next_attempt_at, last_error,
                created_at, updated_at
         FROM deliveries WHERE api_key_id = ?1 AND event_id = ?2${only} ORDER BY created_at, id`,
      )
      .bind(...params),
    db
      .prepare(
        `SELECT a.delivery_id, a.round, a.attempt, a.attempted_at, a.http_status, a.error, a.latency_ms,
                a.response_excerpt
         FROM delivery_attempts AS a JOIN deliveries AS d ON d.api_key_id = a.api_key_id AND d.id = a.delivery_id
         WHERE a.api_key_id = ?1 AND d.event_id = ?2${onlyAttempts} ORDER BY a.round, a.attempt`,
      )
      .bind(...params),
  ]);
  const log = new Map<string, DeliveryAttempt[]>();
  for (const { delivery_id, ...attempt } of (attempts?.results ?? []) as AttemptRow[]) {
    log.set(delivery_id, [...(log.get(delivery_id) ?? []), attempt]);
  }
  return ((deliveries?.results ?? []) as DeliveryRow[]).map((row) => ({
    ...row,
    attempt_log: log.get(row.id) ?? [],
  }));
}

/**
 * What starting a new round does to a `failed` delivery (a manual retry, a recovery): `pending`,
 * round + 1, no attempts yet, due now (`?4`). Only a statement that also requires
 * `status = 'failed'` may use it, so of two callers at once only one starts the round.
 */
const NEW_ROUND = `status = 'pending', round = round + 1, attempts = 0, next_attempt_at = ?4, updated_at = ?4`;

/**
 * Starts a new round of attempts for a `failed` delivery (a manual retry). Answers the message to
 * queue, or null when the delivery is not failed (or not the key's).
 */
export async function restartDelivery(
  db: D1Database,
  key: { apiKeyId: string; eventId: string; deliveryId: string },
  now: Date,
): Promise<AttemptMessage | null> {
  const row = await db
    .prepare(
      `UPDATE deliveries SET ${NEW_ROUND}
       WHERE api_key_id = ?1 AND event_id = ?2 AND id = ?3 AND status = 'failed'
       RETURNING round`,
    )
    .bind(key.apiKeyId, key.eventId, key.deliveryId, now.toISOString())
    .first<{ round: number }>();
  if (row === null) return null;
  return { api_key_id: key.apiKeyId, delivery_id: key.deliveryId, round: row.round, attempt: 1 };
}

/** Which failed deliveries of one subscription to start again: created in `[since, until)`, oldest first. */
export interface RecoverQuery {
  apiKeyId: string;
  subscriptionId: string;
  since: string;
  until?: string;
  limit: number;
}

/** What a recovery found: no such subscription, a disabled one (nothing moved), or the rounds started. */
export type Recovery =
  | { subscription: 'not_found' | 'disabled' }
  | { subscription: 'enabled'; messages: AttemptMessage[]; remaining: number };

/**
 * Starts a new round for up to `limit` failed deliveries of one enabled subscription created in
 * `[since, until)`, oldest first (`POST /subscriptions/{id}/recover`): the move of a manual retry
 * ({@link NEW_ROUND}), for many. Answers the first attempt of each to queue, and how many failed
 * ones the window still holds. One transaction: the subscription's state, the move (only while it
 * is enabled, and only rows still failed: a second recovery at once takes none of them), the count.
 */
export async function restartFailedDeliveries(
  db: D1Database,
  query: RecoverQuery,
  now: Date,
): Promise<Recovery> {
  const window = `api_key_id = ?1 AND subscription_id = ?2 AND status = 'failed'
    AND created_at >= ?3 AND (?5 IS NULL OR created_at < ?5)`;
  const params = [query.apiKeyId, query.subscriptionId, query.since, now.toISOString(), query.until ?? null];
  const [state, moved, left] = await db.batch([
    db
      .prepare('SELECT enabled FROM subscriptions WHERE api_key_id = ?1 AND id = ?2')
      .bind(query.apiKeyId, query.subscriptionId),
    db
      .prepare(
        `UPDATE deliveries SET ${NEW_ROUND}
         WHERE api_key_id = ?1 AND status = 'failed' AND id IN (
           SELECT id FROM deliveries WHERE ${window} ORDER BY created_at, id LIMIT ?6)
           AND EXISTS (SELECT 1 FROM subscriptions WHERE api_key_id = ?1 AND id = ?2 AND enabled = 1)
         RETURNING id, round, created_at`,
      )
      .bind(...params, query.limit),
    db.prepare(`SELECT count(*) AS remaining FROM deliveries WHERE ${window}`).bind(...params),
  ]);
  const sub = state?.results[0] as { enabled: number } | undefined;
  if (sub === undefined) return { subscription: 'not_found' };
  if (sub.enabled !== 1) return { subscription: 'disabled' };
  const rows = (moved?.results ?? []) as { id: string; round: number; created_at: string }[];
  rows.sort((a, b) =>
    a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1,
  );
  return {
    subscription: 'enabled',
    messages: rows.map(({ id, round }) => ({
      api_key_id: query.apiKeyId,
      delivery_id: id,
      round,
      attempt: 1,
    })),
    remaining: (left?.results[0] as { remaining: number } | undefined)?.remaining ?? 0,
  };
}

/**
 * Undoes {@link restartDelivery} or {@link restartFailedDeliveries} for the messages that could
 * not be queued: back to `failed` with `reason`, each only while its new round has no attempt.
 */
export async function unrestartDeliveries(
  db: D1Database,
  messages: readonly AttemptMessage[],
  reason: string,
  now: Date,
): Promise<void> {
  if (messages.length === 0) return;
  await db.batch(
    messages.map((m) =>
      failPending(
        db,
        { apiKeyId: m.api_key_id, deliveryId: m.delivery_id, round: m.round },
        reason,
        now,
        true,
      ),
    ),
  );
}
