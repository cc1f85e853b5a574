/**
 * The tenant register: D1's `tenant_stores` (migration 0009, D1 only), one row per
 * store object of a tenant (its head, and each era: eras.ts) with its size and event count, as
 * the store reported them. What an operator reads to see every tenant at once (GET
 * /operator/tenants, `pnpm tenants:list`, a tenant's stores added up); no request path reads it.
 *
 * - Bounded: one row per store, replaced by each report ({@link reportTenantSize}), removed when
 *   the tenant is erased ({@link deleteTenantSize}) or the era retired.
 * - The sizes come from the stores themselves (apps/consumer's size watch): a row is as old as its
 *   `updated_at`, its count as old as its `counted_at`.
 * - Listing sorts the whole table, without an index on size: an index would cost a row written on
 *   every report, where a listing is rare (docs/scaling.md#what-stays-global).
 */
import * as v from 'valibot';

/** One tenant in the register: its stores added up. */
export const TenantSize = v.object({
  api_key_id: v.string(),
  /** Every store of the tenant together. */
  bytes: v.number(),
  events: v.number(),
  /** How many store objects it has: 1, and one more per era (eras.ts). */
  stores: v.number(),
  /** Its largest store's size. */
  store_bytes: v.number(),
  /**
   * The size of the store receiving its events now: its newest store whose era has started (its
   * head until then), as it last reported; 0 when that store has not reported yet. What the
   * store's bound (STORE_FULL_BYTES) applies to: an older era past it refuses nothing.
   */
  receiving_bytes: v.number(),
  /** The oldest of its stores' counts. */
  counted_at: v.string(),
  /** Its latest report. */
  updated_at: v.string(),
});
export type TenantSize = v.InferOutput<typeof TenantSize>;

/** What a store reports: its size now, and its event count as of `countedAt`. */
export interface SizeReport {
  apiKeyId: string;
  /** The store object's name: the tenant's id for its head, `<tenant>@<start>` for an era. */
  store: string;
  bytes: number;
  events: number;
  countedAt: Date;
}

/** Where a page of the register starts: after this (bytes, api_key_id), largest first. */
export type TenantSizeCursor = [bytes: number, apiKeyId: string];

/** A page of the register, largest stores first, with the totals of the whole register. */
export interface TenantSizePage {
  tenants: TenantSize[];
  totals: { tenants: number; bytes: number; events: number };
  /** The cursor of the page's last row when more may follow, else null. */
  next: TenantSizeCursor | null;
}

/** Records a store's report: its row, inserted or replaced (one row per store). */
export async function reportTenantSize(db: D1Database, report: SizeReport, now: Date): Promise<void> {
  await db
    .prepare(
      `INSERT INTO tenant_stores (api_key_id, store, bytes, events, counted_at, updated_at)
       VALUES (?1, ?6, ?2, ?3, ?4, ?5)
       ON CONFLICT (api_key_id, store) DO UPDATE SET bytes = excluded.bytes, events = excluded.events,
         counted_at = excluded.counted_at, updated_at = excluded.updated_at`,
    )
    .bind(
      report.apiKeyId,
      report.bytes,
      report.events,
      report.countedAt.toISOString(),
      now.toISOString(),
      report.store,
    )
    .run();
}

/** Removes one store's row: an era retired (eras.ts). */
export async function deleteStoreSize(db: D1Database, apiKeyId: string, store: string): Promise<void> {
  await db
    .prepare('DELETE FROM tenant_stores WHERE api_key_id = ?1 AND store = ?2')
    .bind(apiKeyId, store)
    .run();
}

const Totals = v.object({ tenants: v.number(), bytes: v.number(), events: v.number() });

/**
 * Up to `limit` tenants after `after` (from the largest when absent), by size then id, and the
 * register's totals, in one round trip. A store that reports between two pages may move past the
 * cursor: a listing is a view of moving sizes, not a snapshot. `now` decides which era of a
 * tenant has started (`receiving_bytes`).
 */
export async function listTenantSizes(
  db: D1Database,
  query: { after?: TenantSizeCursor; limit: number; now?: Date },
): Promise<TenantSizePage> {
  const [bytes, id] = query.after ?? [null, null];
  const now = (query.now ?? new Date()).toISOString();
  const [page, totals] = await db.batch([
    db
      .prepare(
        `SELECT * FROM (
           SELECT g.api_key_id, sum(g.bytes) AS bytes, sum(g.events) AS events, count(*) AS stores,
                  max(g.bytes) AS store_bytes, min(g.counted_at) AS counted_at, max(g.updated_at) AS updated_at,
                  -- An era's name is its tenant's id, '@' and its start (eras.ts), so names sort
                  -- by start, the head (the id alone) first.
                  coalesce((SELECT s.bytes FROM tenant_stores AS s
                            WHERE s.api_key_id = g.api_key_id
                              AND (s.store = s.api_key_id OR substr(s.store, length(s.api_key_id) + 2) <= ?4)
                            ORDER BY s.store DESC LIMIT 1), 0) AS receiving_bytes
           FROM tenant_stores AS g GROUP BY g.api_key_id)
         WHERE ?1 IS NULL OR bytes < ?1 OR (bytes = ?1 AND api_key_id > ?2)
         ORDER BY bytes DESC, api_key_id LIMIT ?3`,
      )
      .bind(bytes, id, query.limit + 1, now),
    db.prepare(
      `SELECT count(DISTINCT api_key_id) AS tenants, coalesce(sum(bytes), 0) AS bytes,
              coalesce(sum(events), 0) AS events
       FROM tenant_stores`,
    ),
  ]);
  const rows = v.parse(v.array(TenantSize), page?.results ?? []);
  const tenants = rows.slice(0, query.limit);
  const last = tenants.at(-1);
  return {
    tenants,
    totals: v.parse(Totals, totals?.results[0]),
    next: rows.length > query.limit && last ? [last.bytes, last.api_key_id] : null,
  };
}

/** Removes a tenant's rows, every store's (`pnpm tenant:erase`); answers whether there was one. */
export async function deleteTenantSize(db: D1Database, apiKeyId: string): Promise<boolean> {
  const { meta } = await db.prepare('DELETE FROM tenant_stores WHERE api_key_id = ?1').bind(apiKeyId).run();
  return meta.changes > 0;
}

/**
 * The events a tenant's store holds, for its report: reads every row of `events` (a count is not
 * kept), so the store counts far less often than it reports its size.
 */
export async function countEvents(db: D1Database): Promise<number> {
  const row = await db.prepare('SELECT count(*) AS n FROM events').first<{ n: number }>();
  return row?.n ?? 0;
}
