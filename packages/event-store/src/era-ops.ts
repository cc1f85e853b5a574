/**
 * The operations a tenant's eras (eras.ts) need of one another's stores, run like the others in
 * one store object (tenant-ops.ts): claims across an era's start, and the copy of the tenant's
 * subscriptions an era holds.
 */
import { CLAIM_KEEP_MS } from './eras.ts';
import { EVENTS_VIEW } from './partitions.ts';

/**
 * Claims `eventIds` for a newer era, in one transaction: answers those this store holds (their
 * copies are duplicates of events stored here, and are written here), and records the others as
 * claimed, so that a copy of one arriving here later is a duplicate (write.ts).
 */
export async function claimEvents(db: D1Database, eventIds: readonly string[], now: Date): Promise<string[]> {
  if (eventIds.length === 0) return [];
  const ids = JSON.stringify(eventIds);
  const [held] = await db.batch<{ event_id: string }>([
    db
      .prepare(`SELECT v.event_id FROM json_each(?1) AS i JOIN ${EVENTS_VIEW} AS v ON v.event_id = i.value`)
      .bind(ids),
    db
      .prepare(
        `INSERT INTO event_claims (event_id, claimed_at)
         SELECT i.value, ?2 FROM json_each(?1) AS i
         WHERE NOT EXISTS (SELECT 1 FROM ${EVENTS_VIEW} AS v WHERE v.event_id = i.value)
         ON CONFLICT (event_id) DO NOTHING`,
      )
      .bind(ids, now.toISOString()),
  ]);
  return (held?.results ?? []).map((r) => r.event_id);
}

/**
 * Drops the claims, and the records of outcomes counted (deliveries.ts, countDeliveryOutcome),
 * past {@link CLAIM_KEEP_MS}: no copy, no retried message can still come for them. Answers how many.
 */
export async function purgeClaims(db: D1Database, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - CLAIM_KEEP_MS).toISOString();
  const [claims, counted] = await db.batch([
    db.prepare('DELETE FROM event_claims WHERE claimed_at < ?1').bind(cutoff),
    db.prepare('DELETE FROM counted_outcomes WHERE counted_at < ?1').bind(cutoff),
  ]);
  return (claims?.meta.changes ?? 0) + (counted?.meta.changes ?? 0);
}

/** The subscriptions table's columns, every one copied. */
const SUBSCRIPTION_COLUMNS = [
  'api_key_id',
  'id',
  'url',
  'event_types',
  'enabled',
  'disabled_reason',
  'consecutive_failures',
  'secret',
  'created_at',
  'updated_at',
  'previous_secrets',
  'filter',
  'transform',
  'disabled_at',
] as const;

/** Every subscription of the store, each row whole: what the head copies to its eras. */
export async function subscriptionRows(db: D1Database): Promise<Record<string, unknown>[]> {
  const { results } = await db
    .prepare(`SELECT ${SUBSCRIPTION_COLUMNS.join(', ')} FROM subscriptions ORDER BY id`)
    .all<Record<string, unknown>>();
  return results;
}

/**
 * Makes this store's subscriptions the head's `rows`, in one transaction: rows it lacks are
 * added, changed ones replaced, and the ones the head no longer has deleted.
 */
export async function copySubscriptions(
  db: D1Database,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  const json = JSON.stringify(rows);
  const columns = SUBSCRIPTION_COLUMNS.join(', ');
  const values = SUBSCRIPTION_COLUMNS.map((c) => `e.value ->> '$.${c}'`).join(', ');
  const set = SUBSCRIPTION_COLUMNS.filter((c) => c !== 'api_key_id' && c !== 'id')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
  await db.batch([
    db
      .prepare(
        `DELETE FROM subscriptions WHERE NOT EXISTS
           (SELECT 1 FROM json_each(?1) AS e WHERE e.value ->> '$.id' = subscriptions.id
              AND e.value ->> '$.api_key_id' = subscriptions.api_key_id)`,
      )
      .bind(json),
    db
      .prepare(
        `INSERT INTO subscriptions (${columns}) SELECT ${values} FROM json_each(?1) AS e WHERE true
         ON CONFLICT (api_key_id, id) DO UPDATE SET ${set}`,
      )
      .bind(json),
  ]);
}
