import type { BatchItemResult, ErrorCode, ErrorEnvelope } from '@triggers/event-schema';

/** Codes for failures that never reached an answer from the API. */
export type ClientErrorCode = 'NETWORK_ERROR' | 'UNEXPECTED_RESPONSE';

/** A request the API refused (its error envelope), or one that got no usable answer. */
export class TriggersError extends Error {
  override readonly name = 'TriggersError';
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  readonly code: ErrorCode | ClientErrorCode;
  /** The API's error body, when it sent one. */
  readonly envelope: ErrorEnvelope | undefined;
  /**
   * The id the API logged the request under (the envelope's `correlation_id`, or the
   * `x-correlation-id` header of an answer without one): quote it when asking about a failure.
   */
  readonly correlationId: string | undefined;
  /**
   * From `events.sendBatch` only: the result of every item whose request completed before this
   * error, at the item's index in the array given to `sendBatch`; `undefined` for the items not
   * sent or not acknowledged. Resend those with the same `idempotency_key` to be safe from
   * duplicates.
   */
  results?: (BatchItemResult | undefined)[];

  constructor(
    status: number,
    code: ErrorCode | ClientErrorCode,
    message: string,
    envelope?: ErrorEnvelope,
    options?: { cause?: unknown; correlationId?: string | undefined },
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.envelope = envelope;
    this.correlationId = envelope?.error.correlation_id ?? options?.correlationId;
  }
}
