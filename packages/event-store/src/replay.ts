import type { MAX_INBOX_PAGE_BYTES } from '@triggers/event-schema';
import { eventTables } from './days.ts';
import { readPage } from './list.ts';
import { dayOf, dayTable, KEPT_EVENTS } from './partitions.ts';
import { type EventKey, type StoredEvent, selectEvent, toStoredEvent } from './read.ts';

/**
 * Replays: a `failed` event goes back to `pending` (attempts 0, ack cleared) so that a fresh
 * queue message for it can be stored again. The row moves first and the message is sent after:
 * sent first, it could reach the consumer while the row is still `failed`, be taken for a stale
 * copy and dropped, leaving the row `pending` for good. Each move is a conditional update
 * (`WHERE status = 'failed'`), so of two replays at once only one moves a row, and only its
 * caller sends the message. A caller whose send fails puts the rows back with
 * {@link restoreFailed}.
 */

/** The SET of every replay: a new life, counted from 0, not acknowledged. */
const REPLAYED = "status = 'pending', attempts = 0, acked_at = NULL";

/** What replaying one event found. */
export type ReplayOutcome =
  /** It was failed and is now pending: `before` is the row it was (for {@link restoreFailed}). */
  | { replayed: true; before: StoredEvent; event: StoredEvent }
  /** It is not failed (or the key has no such event: `event` null); nothing changed. */
  | { replayed: false; event: StoredEvent | null };

/** Moves one of a key's events from `failed` to `pending`, if it is failed. */
export async function replayEvent(db: D1Database, key: EventKey, now: Date): Promise<ReplayOutcome> {
  // In one transaction: the row as it was, then the move, which only a failed row takes (in
  // whichever table holds it: an index probe each).
  const tables = await eventTables(db);
  const [read, ...updates] = await db.batch([
    selectEvent(db, key),
    ...tables.map((table) =>
      db
        .prepare(
          `UPDATE ${table} SET ${REPLAYED}, updated_at = ?1
           WHERE event_id = ?2 AND api_key_id = ?3 AND status = 'failed'
           RETURNING *`,
        )
        .bind(now.toISOString(), key.eventId, key.apiKeyId),
    ),
  ]);
  const before = read?.results[0];
  const after = updates.find((update) => update.results.length > 0)?.results[0];
  if (before !== undefined && after !== undefined) {
    return { replayed: true, before: toStoredEvent(before), event: toStoredEvent(after) };
  }
  return { replayed: false, event: before === undefined ? null : toStoredEvent(before) };
}

/** Which of a key's failed events to replay: received in `[from, to)`, oldest first. */
export interface FailedQuery {
  apiKeyId: string;
  from?: string;
  to?: string;
  limit: number;
  /** See {@link MAX_INBOX_PAGE_BYTES}: fewer events than `limit` when their payloads pass it. */
  maxBytes?: number;
}

/**
 * Moves up to `limit` of a key's failed, unacknowledged events (an acked failed event was
 * dismissed: only a replay by id brings it back), oldest first, to `pending`, and answers them
 * as they were before. The page is read as the inbox reads it (list.ts, day by day), then each
 * row moves by a conditional UPDATE of its table, in one transaction: of two replays at once,
 * only one moves a row.
 */
export async function replayFailed(db: D1Database, query: FailedQuery, now: Date): Promise<StoredEvent[]> {
  const page = await readPage(db, { ...query, statuses: ['failed'], acked: false, order: 'asc' });
  if (page.events.length === 0) return [];
  const ids = JSON.stringify(page.events.map((event) => event.event_id));
  // Each row is in its day's table, or in kept_events (a day retention dropped).
  const stored = new Set(await eventTables(db));
  const tables = [...new Set(page.events.map((event) => dayTable(dayOf(event.received_at))))];
  const moved = await db.batch(
    [KEPT_EVENTS, ...tables.filter((table) => stored.has(table))].map((table) =>
      db
        .prepare(
          `UPDATE ${table} SET ${REPLAYED}, updated_at = ?1
           WHERE status = 'failed' AND api_key_id = ?2 AND event_id IN (SELECT value FROM json_each(?3))
           RETURNING event_id`,
        )
        .bind(now.toISOString(), query.apiKeyId, ids),
    ),
  );
  const movedIds = new Set(
    moved.flatMap((r) => r.results.map((row) => (row as { event_id: string }).event_id)),
  );
  return page.events.filter((event) => movedIds.has(event.event_id));
}

/**
 * Puts replayed events whose message could not be sent back to how they were (`failed`, their
 * earlier attempts and ack), unless something moved them since: only a row still `pending` with
 * attempts 0 (no delivery attempt seen) is restored, so a message that reached the queue after
 * all and was stored wins. Answers the ids restored.
 */
export async function restoreFailed(db: D1Database, before: StoredEvent[], now: Date): Promise<Set<string>> {
  if (before.length === 0) return new Set();
  const rows = before.map(({ event_id, api_key_id, attempts, acked_at }) => ({
    event_id,
    api_key_id,
    attempts,
    acked_at,
  }));
  // Each row is in its day's table, or in kept_events if retention dropped the day meanwhile.
  const tables = [...new Set(before.map((event) => dayTable(dayOf(event.received_at))))];
  const stored = new Set(await eventTables(db));
  const results = await db.batch(
    [KEPT_EVENTS, ...tables.filter((table) => stored.has(table))].map((table) =>
      db
        .prepare(
          `UPDATE ${table} AS t
           SET status = 'failed', attempts = r.value ->> '$.attempts', acked_at = r.value ->> '$.acked_at',
               updated_at = ?2
           FROM json_each(?1) AS r
           WHERE t.event_id = r.value ->> '$.event_id' AND t.api_key_id = r.value ->> '$.api_key_id'
             AND t.status = 'pending' AND t.attempts = 0
           RETURNING event_id`,
        )
        .bind(JSON.stringify(rows), now.toISOString()),
    ),
  );
  return new Set(results.flatMap((r) => r.results.map((row) => (row as { event_id: string }).event_id)));
}
