/**
 * Queue names, bindings and consumer settings: the single source of truth. Both apps'
 * `wrangler.toml` files must agree with these values; packages/test-support/test/
 * deployed-config.test.ts checks that they do.
 */
export const EVENT_QUEUE = 'event-queue';
export const EVENT_DLQ = 'event-dlq';

/** The ingest Worker's producer binding to `event-queue`. */
export const EVENT_QUEUE_BINDING = 'EVENT_QUEUE';

/**
 * The shards of `event-queue`, shard `i` at index `i`: `event-queue` itself, then the extra queues
 * that carry single events past one queue's 5,000 messages/s. The ingest Worker sends to the first
 * `EVENT_QUEUE_SHARDS` of them (its var, 1 by default); the consumer Worker reads them all, each
 * with {@link EVENT_QUEUE_CONSUMER}'s settings. Both Workers declare every one (docs/scaling.md).
 */
export const EVENT_QUEUES = [EVENT_QUEUE, 'event-queue-1', 'event-queue-2', 'event-queue-3'] as const;
/** The ingest Worker's producer binding of each shard, in {@link EVENT_QUEUES}' order. */
export const EVENT_QUEUE_BINDINGS = [
  EVENT_QUEUE_BINDING,
  'EVENT_QUEUE_1',
  'EVENT_QUEUE_2',
  'EVENT_QUEUE_3',
] as const;
/** A producer binding of an `event-queue` shard. */
export type EventQueueBinding = (typeof EVENT_QUEUE_BINDINGS)[number];

/** Whether `queue` is `event-queue` or one of its shards: every one is read the same way. */
export const isEventQueue = (queue: string): boolean => (EVENT_QUEUES as readonly string[]).includes(queue);
/** The consumer Worker's producer binding to `event-dlq`, for dead-lettering a message directly. */
export const EVENT_DLQ_BINDING = 'EVENT_DLQ';

/** How the consumer Worker reads `event-queue`, and each of its shards ({@link EVENT_QUEUES}) alike. */
export const EVENT_QUEUE_CONSUMER = {
  queue: EVENT_QUEUE,
  /** Messages per batch. */
  maxBatchSize: 100,
  /** Seconds to wait for a batch to fill before it is delivered anyway. */
  maxBatchTimeout: 30,
  /** Queue retries after a message's first attempt before it moves to the dead-letter queue. */
  maxRetries: 3,
  deadLetterQueue: EVENT_DLQ,
} as const;

/**
 * Every attempt a message gets on `event-queue` (what the platform counts in `message.attempts`):
 * the first plus its queue retries. Not a webhook delivery's attempts, which follow their own
 * schedule on `delivery-queue`.
 */
export const MAX_QUEUE_ATTEMPTS = EVENT_QUEUE_CONSUMER.maxRetries + 1;

/**
 * How the consumer Worker reads `event-dlq`: it records each dead letter in the event store.
 * There is no queue behind this one, so a message that ran out of retries here would be
 * deleted: the platform's maximum of retries (with backoff) rides out a long D1 outage.
 */
export const EVENT_DLQ_CONSUMER = {
  queue: EVENT_DLQ,
  maxBatchSize: 100,
  maxBatchTimeout: 5,
  maxRetries: 100,
} as const;

/** The queue between storing an event and delivering it: its own, so a slow subscriber delays nothing else. */
export const DELIVERY_QUEUE = 'delivery-queue';
/** The producer binding to `delivery-queue` (consumer Worker: fan-out; ingest Worker: manual retry). */
export const DELIVERY_QUEUE_BINDING = 'DELIVERY_QUEUE';

/** How the consumer Worker's dispatcher reads `delivery-queue`. */
export const DELIVERY_QUEUE_CONSUMER = {
  queue: DELIVERY_QUEUE,
  /** Small batches: each message is one HTTP request to a subscriber, run concurrently. */
  maxBatchSize: 10,
  maxBatchTimeout: 1,
  /**
   * Retries only for the dispatcher's own failures (its store or this queue down); subscriber
   * failures are rescheduled as new messages. No queue is behind this one either, and a message
   * deleted after its last retry leaves its delivery `pending` with nothing to move it: the
   * platform's maximum, as for `event-dlq`, rides out about 8 hours of outage (backoff to 300 s).
   */
  maxRetries: 100,
} as const;
