/**
 * Queue names and consumer settings: the single source of truth. Both apps' `wrangler.toml`
 * files must agree with these values; a test in this package checks that they do.
 */
export const EVENT_QUEUE = 'event-queue';
export const EVENT_DLQ = 'event-dlq';

/** How the consumer Worker reads `event-queue`. */
export const EVENT_QUEUE_CONSUMER = {
  queue: EVENT_QUEUE,
  /** Messages per batch. */
  maxBatchSize: 100,
  /** Seconds to wait for a batch to fill before it is delivered anyway. */
  maxBatchTimeout: 30,
  /** Deliveries after the first before a message moves to the dead-letter queue. */
  maxRetries: 3,
  deadLetterQueue: EVENT_DLQ,
} as const;

/** Every attempt a message gets on `event-queue`: the first delivery plus its retries. */
export const MAX_DELIVERY_ATTEMPTS = EVENT_QUEUE_CONSUMER.maxRetries + 1;
