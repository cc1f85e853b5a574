import type { JsonObject, Subscription } from '@triggers/event-schema';

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
  /**
   * Secrets replaced by rotations, oldest first, as a JSON array of `{secret, expires_at}` (each
   * signs until its `expires_at`), or NULL when there are none (migration 0007).
   */
  previous_secrets: string | null;
  /** The filter document as JSON text, NULL for none (migration 0008). */
  filter: string | null;
  /** The JSONata expression of the transformation, NULL for none (migration 0008). */
  transform: string | null;
  created_at: string;
  updated_at: string;
}

/** One secret replaced by a rotation, and until when it still signs. */
interface PreviousSecret {
  secret: string;
  expires_at: string;
}

const previousSecrets = (column: string | null): PreviousSecret[] =>
  column === null ? [] : (JSON.parse(column) as PreviousSecret[]);

/** The secrets of a `previous_secrets` column that still sign at `now`, newest first. */
export function signingPreviousSecrets(column: string | null, now: Date): string[] {
  const at = now.toISOString();
  return previousSecrets(column)
    .filter((p) => p.expires_at > at)
    .map((p) => p.secret)
    .reverse();
}

/**
 * A subscription as the API shows it at `now`: the secret reduced to its first characters, and
 * when the last replaced secret that still signs stops (null once none does, though the column
 * keeps the expired ones until the next rotation prunes them).
 */
export function toSubscription(row: SubscriptionRow, now: Date): Subscription {
  const at = now.toISOString();
  return {
    id: row.id,
    url: row.url,
    event_types: row.event_types === null ? null : (JSON.parse(row.event_types) as string[]),
    filter: row.filter === null ? null : (JSON.parse(row.filter) as JsonObject),
    transform: row.transform,
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    consecutive_failures: row.consecutive_failures,
    secret_prefix: `${row.secret.slice(0, 10)}…`,
    previous_secret_expires_at:
      previousSecrets(row.previous_secrets)
        .map((p) => p.expires_at)
        .filter((expires) => expires > at)
        .sort()
        .at(-1) ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const SELECT = 'SELECT * FROM subscriptions WHERE api_key_id = ?1 AND id = ?2';

/** What a new subscription is made of. `filter` and `transform` were checked by the caller (@triggers/webhooks). */
export interface NewSubscription {
  apiKeyId: string;
  id: string;
  url: string;
  eventTypes: string[] | null;
  secret: string;
  /** null or absent: every event of its types. */
  filter?: JsonObject | null;
  /** null or absent: the event is delivered as it is. */
  transform?: string | null;
}

/**
 * Creates a subscription, unless the key already has `max` of them: answers null then. The count
 * and the insert are one statement, so two requests at once cannot both pass the last place.
 * `id` and `secret` are the caller's (see the ingest route).
 */
export async function createSubscription(
  db: D1Database,
  input: NewSubscription,
  now: Date,
  max: number,
): Promise<SubscriptionRow | null> {
  return db
    .prepare(
      `INSERT INTO subscriptions (api_key_id, id, url, event_types, secret, filter, transform, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?8, ?9, ?6, ?6
       WHERE (SELECT count(*) FROM subscriptions WHERE api_key_id = ?1) < ?7
       RETURNING *`,
    )
    .bind(
      input.apiKeyId,
      input.id,
      input.url,
      input.eventTypes === null ? null : JSON.stringify(input.eventTypes),
      input.secret,
      now.toISOString(),
      max,
      input.filter == null ? null : JSON.stringify(input.filter),
      input.transform ?? null,
    )
    .first<SubscriptionRow>();
}

/** A position in a key's subscriptions: the `(created_at, id)` of the last one seen. */
export interface SubscriptionCursor {
  created_at: string;
  id: string;
}

/** A page of a key's subscriptions, oldest first, and where the next starts (null at the end). */
export async function listSubscriptions(
  db: D1Database,
  query: { apiKeyId: string; limit: number; after?: SubscriptionCursor },
): Promise<{ subscriptions: SubscriptionRow[]; next: SubscriptionCursor | null }> {
  const after = query.after === undefined ? '' : ' AND (created_at, id) > (?3, ?4)';
  const params = query.after === undefined ? [] : [query.after.created_at, query.after.id];
  const { results } = await db
    .prepare(`SELECT * FROM subscriptions WHERE api_key_id = ?1${after} ORDER BY created_at, id LIMIT ?2`)
    .bind(query.apiKeyId, query.limit + 1, ...params)
    .all<SubscriptionRow>();
  const page = results.slice(0, query.limit);
  const last = page.at(-1);
  return {
    subscriptions: page,
    next: results.length > query.limit && last ? { created_at: last.created_at, id: last.id } : null,
  };
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
  /** null: no filter. */
  filter?: JsonObject | null;
  /** null: no transformation. */
  transform?: string | null;
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
         disabled_at = CASE WHEN ?6 = 1 THEN NULL WHEN ?6 = 0 AND enabled = 1 THEN ?7 ELSE disabled_at END,
         consecutive_failures = CASE WHEN ?6 = 1 THEN 0 ELSE consecutive_failures END,
         filter = CASE WHEN ?8 = 1 THEN ?9 ELSE filter END,
         transform = CASE WHEN ?10 = 1 THEN ?11 ELSE transform END,
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
      changes.filter === undefined ? 0 : 1,
      changes.filter ? JSON.stringify(changes.filter) : null,
      changes.transform === undefined ? 0 : 1,
      changes.transform ?? null,
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

/** What a rotation came to: the subscription as it now is, or why nothing changed. */
export type Rotation = { row: SubscriptionRow } | { refused: 'not_found' | 'limit_reached' };

/**
 * Replaces the signing secret. The current one joins the secrets replaced before, and signs
 * until `now + overlapSeconds`; every replaced secret keeps its own end, so a second rotation
 * within the overlap drops none (those already past their end are dropped). Refused when the key
 * has no such subscription, or when `maxSecrets` would sign at once afterwards. One round trip.
 */
export async function rotateSubscriptionSecret(
  db: D1Database,
  key: SubscriptionKey,
  rotation: { secret: string; overlapSeconds: number; maxSecrets: number },
  now: Date,
): Promise<Rotation> {
  const at = now.toISOString();
  const until = new Date(now.getTime() + rotation.overlapSeconds * 1000).toISOString();
  // The replaced secrets that still sign at ?5, as a JSON array.
  const signing = `(SELECT json_group_array(json(p.value)) FROM json_each(coalesce(previous_secrets, '[]')) AS p
                    WHERE p.value ->> '$.expires_at' > ?5)`;
  const [rotated, existing] = await db.batch<SubscriptionRow | { found: number }>([
    db
      .prepare(
        `UPDATE subscriptions SET
           previous_secrets = json_insert(${signing}, '$[#]', json_object('secret', secret, 'expires_at', ?4)),
           secret = ?3, updated_at = ?5
         WHERE api_key_id = ?1 AND id = ?2 AND json_array_length(${signing}) + 2 <= ?6
         RETURNING *`,
      )
      .bind(key.apiKeyId, key.id, rotation.secret, until, at, rotation.maxSecrets),
    db
      .prepare('SELECT 1 AS found FROM subscriptions WHERE api_key_id = ?1 AND id = ?2')
      .bind(key.apiKeyId, key.id),
  ]);
  const row = rotated?.results[0] as SubscriptionRow | undefined;
  if (row !== undefined) return { row };
  return { refused: (existing?.results.length ?? 0) > 0 ? 'limit_reached' : 'not_found' };
}
