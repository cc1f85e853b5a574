/**
 * The old shared D1 store (every tenant's events, subscriptions, deliveries and attempts in one
 * database), as the migration reads it: pages in key order for `POST /operator/migrate`, counts
 * per tenant for its verification, and a tenant's rows for `POST /operator/tenants/{id}/erase`.
 * Nothing else reads these tables any more (docs/scaling.md).
 */
import type { ImportedCounts, ImportRow, ImportRows } from './import-rows.ts';

/** A page of events read from the old store, with their deliveries and attempts. */
export interface OldEventPage {
  rows: ImportRows;
  /** The (api_key_id, event_id) of the page's last event; null when there was none. */
  last: [string, string] | null;
  /** Whether the page reached the end of the table. */
  done: boolean;
}

/**
 * The events after `after` in (api_key_id, event_id) order: at most `limit`, and past the first
 * at most `maxBytes` of payload, metadata and CloudEvent text; with their deliveries and attempts.
 */
export async function readOldEventPage(
  db: D1Database,
  after: [string, string],
  limit: number,
  maxBytes: number,
): Promise<OldEventPage> {
  const { results: keys } = await db
    .prepare(
      `SELECT api_key_id, event_id,
              length(payload) + coalesce(length(metadata), 0) + coalesce(length(cloudevent), 0) AS bytes
       FROM events WHERE (api_key_id, event_id) > (?1, ?2) ORDER BY api_key_id, event_id LIMIT ?3`,
    )
    .bind(...after, limit)
    .all<{ api_key_id: string; event_id: string; bytes: number }>();
  let count = 0;
  let bytes = 0;
  for (const key of keys) {
    if (count > 0 && bytes + key.bytes > maxBytes) break;
    bytes += key.bytes;
    count++;
  }
  const lastKey = keys[count - 1];
  if (lastKey === undefined) return { rows: {}, last: null, done: true };
  const last: [string, string] = [lastKey.api_key_id, lastKey.event_id];
  const range = [...after, ...last];
  const inRange = '(api_key_id, event_id) > (?1, ?2) AND (api_key_id, event_id) <= (?3, ?4)';
  const [events, deliveries, attempts] = await db.batch<ImportRow>([
    db.prepare(`SELECT * FROM events WHERE ${inRange} ORDER BY api_key_id, event_id`).bind(...range),
    db.prepare(`SELECT * FROM deliveries WHERE ${inRange}`).bind(...range),
    db
      .prepare(
        `SELECT a.* FROM delivery_attempts a
         JOIN deliveries d ON d.api_key_id = a.api_key_id AND d.id = a.delivery_id
         WHERE (d.api_key_id, d.event_id) > (?1, ?2) AND (d.api_key_id, d.event_id) <= (?3, ?4)`,
      )
      .bind(...range),
  ]);
  return {
    rows: {
      events: events?.results ?? [],
      deliveries: deliveries?.results ?? [],
      delivery_attempts: attempts?.results ?? [],
    },
    last,
    done: keys.length < limit && count === keys.length,
  };
}

/** The subscriptions after `after` in (api_key_id, id) order, at most `limit`. */
export async function readOldSubscriptionPage(
  db: D1Database,
  after: [string, string],
  limit: number,
): Promise<ImportRow[]> {
  const { results } = await db
    .prepare('SELECT * FROM subscriptions WHERE (api_key_id, id) > (?1, ?2) ORDER BY api_key_id, id LIMIT ?3')
    .bind(...after, limit)
    .all<ImportRow>();
  return results;
}

/**
 * What the old store holds of a tenant, as `storeCounts` counts a tenant's store. Deliveries
 * count only with their event: the old retention deleted an event before its deliveries, and the
 * migration copies deliveries with their events, so one left without its event is never copied.
 */
export type OldStoreCounts = { events: number; subscriptions: number; deliveries: number };

/** The tenants of the old store after `after`, at most `limit`, each with its counts there. */
export async function oldStoreTenants(
  db: D1Database,
  after: string,
  limit: number,
): Promise<Map<string, OldStoreCounts>> {
  const { results: tenants } = await db
    .prepare(
      `SELECT api_key_id FROM (SELECT api_key_id FROM events UNION SELECT api_key_id FROM subscriptions)
       WHERE api_key_id > ?1 ORDER BY api_key_id LIMIT ?2`,
    )
    .bind(after, limit)
    .all<{ api_key_id: string }>();
  const { results: counted } = await db
    .prepare(
      `SELECT api_key_id, 'events' AS kind, count(*) AS n FROM events
         WHERE api_key_id IN (SELECT value FROM json_each(?1)) GROUP BY api_key_id
       UNION ALL SELECT api_key_id, 'subscriptions', count(*) FROM subscriptions
         WHERE api_key_id IN (SELECT value FROM json_each(?1)) GROUP BY api_key_id
       UNION ALL SELECT d.api_key_id, 'deliveries', count(*) FROM deliveries AS d
         WHERE d.api_key_id IN (SELECT value FROM json_each(?1))
           AND EXISTS (SELECT 1 FROM events AS e WHERE e.api_key_id = d.api_key_id AND e.event_id = d.event_id)
         GROUP BY d.api_key_id`,
    )
    .bind(JSON.stringify(tenants.map((t) => t.api_key_id)))
    .all<{ api_key_id: string; kind: keyof OldStoreCounts; n: number }>();
  const counts = new Map<string, OldStoreCounts>(
    tenants.map((t) => [t.api_key_id, { events: 0, subscriptions: 0, deliveries: 0 }]),
  );
  for (const { api_key_id, kind, n } of counted) {
    const tenant = counts.get(api_key_id);
    if (tenant) tenant[kind] = n;
  }
  return counts;
}

/** Deletes a tenant's rows from the old store (one batch); answers how many of each table. */
export async function deleteOldTenantRows(db: D1Database, tenant: string): Promise<ImportedCounts> {
  const tables = ['events', 'subscriptions', 'deliveries', 'delivery_attempts'] as const;
  const results = await db.batch(
    tables.map((table) => db.prepare(`DELETE FROM ${table} WHERE api_key_id = ?1`).bind(tenant)),
  );
  const deleted: ImportedCounts = { events: 0, subscriptions: 0, deliveries: 0, delivery_attempts: 0 };
  tables.forEach((table, i) => {
    deleted[table] = results[i]?.meta.changes ?? 0;
  });
  return deleted;
}
