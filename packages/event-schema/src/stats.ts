import * as v from 'valibot';
import { SuccessEnvelope, Timestamp } from './envelope.ts';

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

/**
 * How many events received in a span of time are in each status now. `received` is their sum:
 * events the consumer has seen at least once (one still on the queue has no row yet).
 */
export const StatusCounts = v.object({
  received: Count,
  delivered: Count,
  failed: Count,
  pending: Count,
});
export type StatusCounts = v.InferOutput<typeof StatusCounts>;

/** One bar of a throughput chart: the events received in `[start, start + bucket_seconds)`. */
export const StatsBucket = v.object({ start: Timestamp, ...StatusCounts.entries });
export type StatsBucket = v.InferOutput<typeof StatsBucket>;

/**
 * A window of whole buckets ending with the current one: `[from, to)`, its totals, and its
 * buckets oldest first (every bucket present, empty ones with zeros).
 */
export const StatsWindow = v.object({
  from: Timestamp,
  to: Timestamp,
  bucket_seconds: v.pipe(v.number(), v.integer(), v.minValue(1)),
  ...StatusCounts.entries,
  buckets: v.array(StatsBucket),
});
export type StatsWindow = v.InferOutput<typeof StatsWindow>;

/** The key's traffic over the last hour and the last day, as its store counts it. */
export const EventCounts = v.object({
  /** 60 one-minute buckets, the current minute last. */
  last_hour: StatsWindow,
  /** 24 one-hour buckets, the current hour last. */
  last_day: StatsWindow,
  /** When the latest of the events received in `last_day` was stored (`delivered`), or null. */
  last_delivered_at: v.nullable(Timestamp),
});
export type EventCounts = v.InferOutput<typeof EventCounts>;

/** How full the key's event store is: new events are refused (507 `STORE_FULL`) from `full_bytes` on. */
export const StoreRoom = v.object({
  size_bytes: v.pipe(Count, v.description("The size of the key's event store now, in bytes.")),
  full_bytes: v.pipe(
    Count,
    v.description(
      'The size at which POST /events and /events/batch answer 507 STORE_FULL until retention makes room.',
    ),
  ),
});
export type StoreRoom = v.InferOutput<typeof StoreRoom>;

/** What `GET /stats` answers: the key's traffic over the last hour and the last day, and its store's room. */
export const EventStats = SuccessEnvelope(v.object({ ...EventCounts.entries, store: StoreRoom }));
export type EventStats = v.InferOutput<typeof EventStats>;
