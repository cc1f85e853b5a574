import {
  type EventCounts,
  EventStatus,
  type StatsBucket,
  type StatsWindow,
  type StatusCounts,
} from '@triggers/event-schema';
import * as v from 'valibot';

/**
 * The traffic counts of one tenant (`GET /stats`), read in one D1 round trip: its events by
 * status over the last hour (minute buckets) and the last day (hour buckets), by time received.
 *
 * Buckets are keyed on a prefix of the fixed-width `received_at` text (`2026-11-29T16:24` for a
 * minute, `2026-11-29T16` for an hour), so the grouping needs no date functions and the range
 * condition uses the `(api_key_id, received_at, …)` index.
 */

/** A window's grain: bucket length and the `received_at` prefix that names a bucket. */
interface Grain {
  bucketMs: number;
  buckets: number;
  prefixChars: number;
}

const MINUTES: Grain = { bucketMs: 60_000, buckets: 60, prefixChars: 16 };
const HOURS: Grain = { bucketMs: 3_600_000, buckets: 24, prefixChars: 13 };

const Row = v.object({ bucket: v.string(), status: EventStatus, n: v.number() });
const Latest = v.object({ at: v.nullable(v.string()) });

const zero = (): StatusCounts => ({ received: 0, delivered: 0, failed: 0, pending: 0 });

/** `[from, to)`: `grain.buckets` whole buckets, the one holding `now` last. */
function span(grain: Grain, now: Date): { from: Date; to: Date } {
  const to = Math.floor(now.getTime() / grain.bucketMs) * grain.bucketMs + grain.bucketMs;
  return { from: new Date(to - grain.buckets * grain.bucketMs), to: new Date(to) };
}

function countByBucket(db: D1Database, apiKeyId: string, grain: Grain, now: Date): D1PreparedStatement {
  const { from, to } = span(grain, now);
  return db
    .prepare(
      `SELECT substr(received_at, 1, ${grain.prefixChars}) AS bucket, status, count(*) AS n
       FROM events
       WHERE api_key_id = ?1 AND received_at >= ?2 AND received_at < ?3
       GROUP BY bucket, status`,
    )
    .bind(apiKeyId, from.toISOString(), to.toISOString());
}

/** The window's buckets, every one present (zeros where nothing was received), and its totals. */
function toWindow(grain: Grain, now: Date, rows: unknown[]): StatsWindow {
  const { from, to } = span(grain, now);
  const buckets: StatsBucket[] = Array.from({ length: grain.buckets }, (_, i) => ({
    start: new Date(from.getTime() + i * grain.bucketMs).toISOString(),
    ...zero(),
  }));
  const byPrefix = new Map(buckets.map((bucket) => [bucket.start.slice(0, grain.prefixChars), bucket]));
  const totals = zero();
  for (const raw of rows) {
    const { bucket, status, n } = v.parse(Row, raw);
    const target = byPrefix.get(bucket);
    if (target === undefined) continue;
    add(target, status, n);
    add(totals, status, n);
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    bucket_seconds: grain.bucketMs / 1000,
    ...totals,
    buckets,
  };
}

function add(counts: StatusCounts, status: EventStatus, n: number): void {
  counts[status] += n;
  counts.received += n;
}

/** The counts of `apiKeyId`'s events as of `now`: see {@link EventCounts}. */
export async function eventStats(db: D1Database, apiKeyId: string, now: Date): Promise<EventCounts> {
  const day = span(HOURS, now);
  const [hourRows, dayRows, latest] = await db.batch([
    countByBucket(db, apiKeyId, MINUTES, now),
    countByBucket(db, apiKeyId, HOURS, now),
    db
      .prepare(
        `SELECT max(updated_at) AS at FROM events
         WHERE api_key_id = ?1 AND status = 'delivered' AND received_at >= ?2 AND received_at < ?3`,
      )
      .bind(apiKeyId, day.from.toISOString(), day.to.toISOString()),
  ]);
  return {
    last_hour: toWindow(MINUTES, now, hourRows?.results ?? []),
    last_day: toWindow(HOURS, now, dayRows?.results ?? []),
    last_delivered_at: v.parse(Latest, latest?.results?.[0] ?? { at: null }).at,
  };
}
