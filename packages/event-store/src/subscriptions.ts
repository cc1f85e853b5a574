import type { Subscription } from '@triggers/event-schema';

/**
 * A tenant's webhook subscriptions (table `subscriptions`, migration 0005). Every statement is
 * keyed by `api_key_id`: another key's subscription is not found, whatever its id.
 */

/** One of a key's subscriptions. */
export interface SubscriptionKey {
  apiKeyId: string;
  id: string;
}

/** A `subscriptions` row as D1 returns it. */
export interface SubscriptionRow {
  api_key_id: string;
  id: string;
  url: string;
  event_types: string | null;
  enabled: number;
  disabled_reason: string | null;
  consecutive_failures: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A subscription as the API shows it: the secret reduced to its first characters. */
export function toSubscription(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    url: row.url,
    event_types: row.event_types === null ? null : (JSON.parse(row.event_types) as string[]),
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    consecutive_failures: row.consecutive_failures,
    secret_prefix: `${row.secret.slice(0, 10)}…`,
    previous_secret_expires_at: row.previous_secret_expires_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const SELECT = 'SELECT * FROM subscriptions WHERE api_key_id = ?1 AND id = ?2';

/** Creates a subscription; `id` and `secret` are the caller's (see the ingest route). */
export async function createSubscription(
  db: D1Database,
  input: { apiKeyId: string; id: string; url: string; eventTypes: string[] | null; secret: string },
  now: Date,
): Promise<SubscriptionRow> {
  const row = await db
    .prepare(
      `INSERT INTO subscriptions (api_key_id, id, url, event_types, secret, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING *`,
    )
    .bind(
      input.apiKeyId,
      input.id,
      input.url,
      input.eventTypes === null ? null : JSON.stringify(input.eventTypes),
      input.secret,
      now.toISOString(),
    )
    .first<SubscriptionRow>();
  if (row === null) throw new Error('INSERT … RETURNING returned no row');
  return row;
}

/** A key's subscriptions, oldest first. */
export async function listSubscriptions(db: D1Database, apiKeyId: string): Promise<SubscriptionRow[]> {
  const { results } = await db
    .prepare('SELECT * FROM subscriptions WHERE api_key_id = ?1 ORDER BY created_at, id')
    .bind(apiKeyId)
    .all<SubscriptionRow>();
  return results;
}

/** One of a key's subscriptions, or null. */
export function getSubscription(db: D1Database, key: SubscriptionKey): Promise<SubscriptionRow | null> {
  return db.prepare(SELECT).bind(key.apiKeyId, key.id).first<SubscriptionRow>();
}

/** What PATCH may change; a field left undefined is kept. */
export interface SubscriptionChanges {
  url?: string;
  /** null: every event. */
  eventTypes?: string[] | null;
  enabled?: boolean;
}

/**
 * Changes a subscription and answers it as it now is (null when the key has none of that id).
 * Enabling clears the disabled reason and the failure count; disabling by the API records why.
 */
export function updateSubscription(
  db: D1Database,
  key: SubscriptionKey,
  changes: SubscriptionChanges,
  now: Date,
): Promise<SubscriptionRow | null> {
  const enabled = changes.enabled === undefined ? null : changes.enabled ? 1 : 0;
  return db
    .prepare(
      `UPDATE subscriptions SET
         url = coalesce(?3, url),
         event_types = CASE WHEN ?4 = 1 THEN ?5 ELSE event_types END,
         enabled = coalesce(?6, enabled),
         disabled_reason = CASE WHEN ?6 = 1 THEN NULL
                                WHEN ?6 = 0 AND enabled = 1 THEN 'disabled through the API'
                                ELSE disabled_reason END,
         consecutive_failures = CASE WHEN ?6 = 1 THEN 0 ELSE consecutive_failures END,
         updated_at = ?7
       WHERE api_key_id = ?1 AND id = ?2 RETURNING *`,
    )
    .bind(
      key.apiKeyId,
      key.id,
      changes.url ?? null,
      changes.eventTypes === undefined ? 0 : 1,
      changes.eventTypes ? JSON.stringify(changes.eventTypes) : null,
      enabled,
      now.toISOString(),
    )
    .first<SubscriptionRow>();
}

/** Deletes a subscription; its deliveries stay in the log. Answers whether there was one. */
export async function deleteSubscription(db: D1Database, key: SubscriptionKey): Promise<boolean> {
  const row = await db
    .prepare('DELETE FROM subscriptions WHERE api_key_id = ?1 AND id = ?2 RETURNING id')
    .bind(key.apiKeyId, key.id)
    .first();
  return row !== null;
}

/**
 * Replaces the signing secret; the current one becomes the previous one and keeps signing until
 * `now + overlapSeconds` (any older previous secret stops at once).
 */
export function rotateSubscriptionSecret(
  db: D1Database,
  key: SubscriptionKey,
  secret: string,
  now: Date,
  overlapSeconds: number,
): Promise<SubscriptionRow | null> {
  return db
    .prepare(
      `UPDATE subscriptions SET previous_secret = secret, previous_secret_expires_at = ?4,
         secret = ?3, updated_at = ?5
       WHERE api_key_id = ?1 AND id = ?2 RETURNING *`,
    )
    .bind(
      key.apiKeyId,
      key.id,
      secret,
      new Date(now.getTime() + overlapSeconds * 1000).toISOString(),
      now.toISOString(),
    )
    .first<SubscriptionRow>();
}
