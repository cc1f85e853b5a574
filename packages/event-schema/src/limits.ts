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
 * The largest body of a message that packs several events (`PackedEvents`): a queue message less
 * a margin of 1,000 bytes (under 1 %), so that a pack stays under the limit even should the
 * platform's metadata outgrow its estimate. Two full packs still fit one `sendBatch()` call. A
 * lone event travels bare, up to {@link MAX_QUEUED_EVENT_BYTES}: its limit is the client's (413),
 * so it has no margin to spare, while how full a pack gets is ours to choose.
 */
export const MAX_PACKED_MESSAGE_BYTES = MAX_QUEUED_EVENT_BYTES - 1_000;

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

/** Most messages one `Queue.sendBatch()` call takes. */
export const SEND_BATCH_MAX_MESSAGES = 100;

/** Most bytes one `Queue.sendBatch()` call takes, counted as message bodies plus platform overhead. */
export const SEND_BATCH_LIMIT_BYTES = 256_000;

/** Most events in one `POST /events/batch` request. */
export const MAX_BATCH_EVENTS = 100;

/**
 * The largest `POST /events/batch` body accepted, in bytes (after decompression). Larger than one
 * `sendBatch()` call takes: the ingest Worker splits a batch into as many sends as it needs.
 */
export const MAX_BATCH_BYTES = 1_000_000;

/** Longest `type`, `source` or `subject` of an event accepted: room for any sensible name, bounded for the index. */
export const MAX_IDENTITY_LENGTH = 1_024;

/** Longest `Idempotency-Key` header or `idempotency_key` batch field accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Events per `GET /inbox` page when `limit` is not given. */
export const DEFAULT_INBOX_LIMIT = 50;

/** Most events per `GET /inbox` page, and most events one `POST /dlq/replay` re-enqueues. */
export const MAX_INBOX_LIMIT = 1_000;

/** Events one `POST /dlq/replay` re-enqueues when `limit` is not given. */
export const DEFAULT_REPLAY_LIMIT = 100;

/**
 * Most bytes of payload and metadata (as stored JSON text) one inbox page or one replay loads.
 * 1,000 events of the queue's largest size would be 128 MB, a Worker's whole memory: a page
 * stops early once its events pass this (always at least one event) and says where to go on.
 */
export const MAX_INBOX_PAGE_BYTES = 4_000_000;

/**
 * Most webhook subscriptions one API key may have; creating one more answers `409 LIMIT_REACHED`.
 * Also the largest `GET /subscriptions` page, and its size when `limit` is not given. It bounds
 * the deliveries one event can fan out to.
 */
export const MAX_SUBSCRIPTIONS_PER_KEY = 100;

/**
 * Most secrets that sign a subscription's webhooks at once: the current one and those replaced by
 * rotations within their overlap (24 h). A rotation past it answers `409 LIMIT_REACHED`.
 */
export const MAX_SIGNING_SECRETS = 10;

/**
 * The largest subscription `filter`, as JSON text (UTF-8 bytes): room for dozens of conditions,
 * small enough that evaluating every subscription's filter against a fan-out's events stays cheap.
 */
export const MAX_FILTER_BYTES = 8_000;

/** Deepest nesting of a subscription `filter` (objects and arrays, `$or`/`$and` included). */
export const MAX_FILTER_DEPTH = 10;

/** Longest subscription `transform` (a JSONata expression), in characters. */
export const MAX_TRANSFORM_CHARS = 8_000;

/**
 * Most evaluation steps one run of a `transform` may take before it fails its attempt: the bound
 * on its time that holds in Workers, whose clock does not move while code runs.
 */
export const MAX_TRANSFORM_STEPS = 100_000;

/** The largest body a `transform` may produce, as JSON (UTF-8 bytes); a larger one fails its attempt. */
export const MAX_TRANSFORM_OUTPUT_BYTES = 256_000;

/** Stored events `POST /subscriptions/test` tries when it is given none and no `limit`. */
export const DEFAULT_TEST_EVENTS = 10;

/** Most events one `POST /subscriptions/test` tries, stored or given. */
export const MAX_TEST_EVENTS = 50;

/**
 * Most bytes of events one `POST /subscriptions/test` tries: its whole body when it is given
 * events, the stored events' payloads and metadata when it reads them (fewer events then).
 */
export const MAX_TEST_EVENTS_BYTES = 1_000_000;

/** Most failed deliveries one `POST /subscriptions/{id}/recover` starts again; its `limit` when not given is 100. */
export const MAX_RECOVER_LIMIT = 1_000;

/**
 * The most one tenant's store holds: a SQLite-backed Durable Object's limit (10 GB). Past it the
 * object's writes fail, which is why the ingest Worker refuses new events a little before
 * (`STORE_FULL_BYTES`, docs/scaling.md#capacity-as-built).
 */
export const STORE_OBJECT_LIMIT_BYTES = 10_000_000_000;
