/**
 * Limits shared by every service that produces or consumes events. Cloudflare counts
 * 1 KB as 1,000 bytes.
 */

/** Cloudflare Queues' largest message, platform metadata included. */
export const QUEUE_MESSAGE_LIMIT_BYTES = 128_000;

/** What Cloudflare keeps of each message for its own metadata (about 100 B). */
export const QUEUE_PLATFORM_OVERHEAD_BYTES = 100;

/** The largest serialized `QueuedEvent` we hand to `send()`. */
export const MAX_QUEUED_EVENT_BYTES = QUEUE_MESSAGE_LIMIT_BYTES - QUEUE_PLATFORM_OVERHEAD_BYTES;

/**
 * Room kept for the fields the ingest Worker adds around the user's data (`event_id`,
 * `timestamp`, `correlation_id`, `api_key_id`, `debug`, key names and quotes: about 300 B
 * today), with margin for fields added later.
 */
export const QUEUED_EVENT_ENVELOPE_BYTES = 1_900;

/**
 * The largest `POST /events` body accepted, in bytes: what is left of a queue message once the
 * platform's metadata and our envelope are taken out. A body that fits here still gets 413 if its
 * re-serialized form outgrows {@link MAX_QUEUED_EVENT_BYTES} (a JSON number such as `1e99`
 * serializes longer than it was written).
 */
export const MAX_EVENT_BYTES = MAX_QUEUED_EVENT_BYTES - QUEUED_EVENT_ENVELOPE_BYTES;

/** Deepest nesting accepted in `payload` or `metadata`; deeper documents risk stack overflows downstream. */
export const MAX_JSON_DEPTH = 64;

/** Longest client-supplied `X-Correlation-ID` that is echoed back rather than replaced. */
export const MAX_CORRELATION_ID_LENGTH = 128;

/** The most messages one `sendBatch()` takes. */
export const QUEUE_BATCH_MAX_MESSAGES = 100;

/** The most bytes one `sendBatch()` takes, all messages together (platform metadata included). */
export const QUEUE_BATCH_MAX_BYTES = 256_000;
