import * as v from 'valibot';
import { EventStatus } from './status.ts';

/** An ISO 8601 timestamp in UTC, as the API and the queue message write every time. */
export const Timestamp = v.pipe(v.string(), v.isoTimestamp());

/** Every error code the HTTP API answers with, and the status that goes with it. */
export const ERROR_STATUS = {
  INVALID_JSON: 400,
  /** A `Content-Encoding: gzip`/`deflate` body that does not decompress. */
  INVALID_ENCODING: 400,
  VALIDATION_ERROR: 400,
  DEBUG_NOT_ALLOWED: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** The event is not in a state the operation applies to (retry of an event that is not failed). */
  INVALID_STATE: 409,
  /** The key already has as many of something as it may (subscriptions, signing secrets); `details.limit`. */
  LIMIT_REACHED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** The API key sent more events than its rate limit allows; see `Retry-After`. */
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  /** The key's event store holds `STORE_FULL_BYTES`: new events are refused until retention makes room. */
  STORE_FULL: 507,
} as const;

export const ErrorCode = v.picklist(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]);
export type ErrorCode = v.InferOutput<typeof ErrorCode>;

/** One validation problem: where (`payload.user.id`, `query.debug`) and what. */
export const FieldIssue = v.object({ path: v.string(), message: v.string() });
export type FieldIssue = v.InferOutput<typeof FieldIssue>;

/** Why one item of a batch was not accepted: its error code, and where (`events.3.payload`). */
export const ItemError = v.object({
  code: ErrorCode,
  message: v.string(),
  issues: v.optional(v.array(FieldIssue)),
});
export type ItemError = v.InferOutput<typeof ItemError>;

const ItemIndex = v.pipe(v.number(), v.integer(), v.minValue(0));

/** The outcome of one item of `POST /events/batch`, at the item's position in the request. */
export const BatchItemResult = v.variant('status', [
  v.object({
    index: ItemIndex,
    status: v.literal('accepted'),
    event_id: v.pipe(v.string(), v.uuid()),
  }),
  v.object({ index: ItemIndex, status: v.literal('rejected'), error: ItemError }),
]);
export type BatchItemResult = v.InferOutput<typeof BatchItemResult>;

/** `{"error": {...}}`: the body of every non-2xx response. */
export const ErrorEnvelope = v.object({
  error: v.object({
    code: ErrorCode,
    message: v.string(),
    timestamp: Timestamp,
    correlation_id: v.string(),
    details: v.optional(
      v.object({
        issues: v.optional(v.array(FieldIssue)),
        limit_bytes: v.optional(v.number()),
        allowed: v.optional(v.array(v.string())),
        /** On a batch of which no item was accepted: why each was rejected. */
        results: v.optional(v.array(BatchItemResult)),
        /** On `INVALID_STATE`: the status the event is in. */
        status: v.optional(EventStatus),
        /** On `LIMIT_REACHED`: the limit the key is at. */
        limit: v.optional(v.number()),
        /** On `RATE_LIMITED`: which limit was reached (docs/api.md, rate limits). */
        rate_limit: v.optional(v.string()),
        /** On `RATE_LIMITED`: the longest wait before the limit allows a request again. */
        retry_after_seconds: v.optional(v.number()),
      }),
    ),
  }),
});
export type ErrorEnvelope = v.InferOutput<typeof ErrorEnvelope>;
export type ErrorDetails = NonNullable<ErrorEnvelope['error']['details']>;

/** `{"data": ..., "timestamp"}`: the body of every 2xx response. */
export function SuccessEnvelope<T extends v.GenericSchema>(data: T) {
  return v.object({ data, timestamp: Timestamp });
}

/** What `POST /events` answers once the event is on the queue. */
export const EventAccepted = SuccessEnvelope(
  v.object({
    event_id: v.pipe(v.string(), v.uuid()),
    status: v.literal('accepted'),
    timestamp: Timestamp,
  }),
);
export type EventAccepted = v.InferOutput<typeof EventAccepted>;

/**
 * What `POST /events/batch` answers when at least one item is on the queue: one result per item,
 * in request order. Every `accepted` item is on the queue; no `rejected` item is.
 */
export const BatchAccepted = SuccessEnvelope(
  v.object({
    accepted: v.pipe(v.number(), v.integer(), v.minValue(1)),
    rejected: v.pipe(v.number(), v.integer(), v.minValue(0)),
    results: v.array(BatchItemResult),
  }),
);
export type BatchAccepted = v.InferOutput<typeof BatchAccepted>;

/** The event store's size as an operator sees it in `GET /health`: bytes, and how near full. */
export const StoreHealth = v.pipe(
  v.object({
    size_bytes: v.pipe(
      v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0))),
      v.description('The D1 database’s size in bytes as D1 reports it; null when it does not.'),
    ),
    warn_bytes: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description('STORE_WARN_BYTES: past it, act before writes fail (80 % of D1’s 10 GB by default).'),
    ),
    past_warning: v.pipe(v.boolean(), v.description('Whether size_bytes is at or past warn_bytes.')),
  }),
  v.description('Only for a caller holding the operator token (Authorization: Bearer <OPERATOR_TOKEN>).'),
);
export type StoreHealth = v.InferOutput<typeof StoreHealth>;

/**
 * What `GET /health` answers when the ingest Worker's bindings respond: nothing more, except
 * `store` for a caller holding the operator token.
 */
export const HealthStatus = SuccessEnvelope(
  v.object({
    status: v.literal('ok'),
    checks: v.object({ auth_kv: v.literal('ok'), event_queue: v.literal('configured') }),
    store: v.optional(StoreHealth),
  }),
);
export type HealthStatus = v.InferOutput<typeof HealthStatus>;
