import { eventTables } from './days.ts';
import { type EventKey, type StoredEvent, selectEvent, toStoredEvent } from './read.ts';

/** What acknowledging an event found: the event as it now is, and whether this call acked it. */
export interface AckOutcome {
  /** null when the key has no such event (another key's event included). */
  event: StoredEvent | null;
  /** false when it was acked already (its first `acked_at` stays) or cannot be (still `pending`). */
  acked: boolean;
}

/**
 * Marks one of a key's events acknowledged at `now`, if it is final (`delivered` or `failed`)
 * and not acknowledged yet; the row is kept (docs/api.md says why an ack marks rather than
 * deletes). Conditional update and read back in one transaction: two acks at once leave one
 * `acked_at`, and both callers see it.
 */
export async function ackEvent(db: D1Database, key: EventKey, now: Date): Promise<AckOutcome> {
  // The event is in one of the tables (partitions.ts): the UPDATE of each is an index probe.
  const tables = await eventTables(db);
  const results = await db.batch([
    ...tables.map((table) =>
      db
        .prepare(
          `UPDATE ${table} SET acked_at = ?1, updated_at = ?1
           WHERE event_id = ?2 AND api_key_id = ?3 AND acked_at IS NULL AND status <> 'pending'
           RETURNING event_id`,
        )
        .bind(now.toISOString(), key.eventId, key.apiKeyId),
    ),
    selectEvent(db, key),
  ]);
  const row = results.at(-1)?.results[0];
  return {
    event: row === undefined ? null : toStoredEvent(row),
    acked: results.slice(0, -1).some((update) => update.results.length > 0),
  };
}
