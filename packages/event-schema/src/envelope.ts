import * as v from 'valibot';

/** Every error code the HTTP API answers with, and the status that goes with it. */
export const ERROR_STATUS = {
  INVALID_JSON: 400,
  VALIDATION_ERROR: 400,
  DEBUG_NOT_ALLOWED: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export const ErrorCode = v.picklist(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]);
export type ErrorCode = v.InferOutput<typeof ErrorCode>;

/** One validation problem: where (`payload.user.id`, `query.debug`) and what. */
export const FieldIssue = v.object({ path: v.string(), message: v.string() });
export type FieldIssue = v.InferOutput<typeof FieldIssue>;

/** `{"error": {...}}`: the body of every non-2xx response. */
export const ErrorEnvelope = v.object({
  error: v.object({
    code: ErrorCode,
    message: v.string(),
    timestamp: v.pipe(v.string(), v.isoTimestamp()),
    correlation_id: v.string(),
    details: v.optional(
      v.object({
        issues: v.optional(v.array(FieldIssue)),
        limit_bytes: v.optional(v.number()),
        allowed: v.optional(v.array(v.string())),
      }),
    ),
  }),
});
export type ErrorEnvelope = v.InferOutput<typeof ErrorEnvelope>;
export type ErrorDetails = NonNullable<ErrorEnvelope['error']['details']>;

/** `{"data": ..., "timestamp"}`: the body of every 2xx response. */
export function SuccessEnvelope<T extends v.GenericSchema>(data: T) {
  return v.object({ data, timestamp: v.pipe(v.string(), v.isoTimestamp()) });
}

/** What `POST /events` answers once the event is on the queue. */
export const EventAccepted = SuccessEnvelope(
  v.object({
    event_id: v.pipe(v.string(), v.uuid()),
    status: v.literal('accepted'),
    timestamp: v.pipe(v.string(), v.isoTimestamp()),
  }),
);
export type EventAccepted = v.InferOutput<typeof EventAccepted>;
