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

/** What `GET /stats` answers: the key's traffic over the last hour and the last day. */
export const EventStats = SuccessEnvelope(
  v.object({
    /** 60 one-minute buckets, the current minute last. */
    last_hour: StatsWindow,
    /** 24 one-hour buckets, the current hour last. */
    last_day: StatsWindow,
    /** When the latest of the events received in `last_day` was stored (`delivered`), or null. */
    last_delivered_at: v.nullable(Timestamp),
  }),
);
export type EventStats = v.InferOutput<typeof EventStats>;
