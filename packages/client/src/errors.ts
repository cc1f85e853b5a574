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
   * From `sendBatch` only: the result of every item whose request completed before this error,
   * at the item's index in the array given to `sendBatch`; `undefined` for the items not sent or
   * not acknowledged. Resend those with the same `idempotency_key` to be safe from duplicates.
   */
  results?: (BatchItemResult | undefined)[];

  constructor(
    status: number,
    code: ErrorCode | ClientErrorCode,
    message: string,
    envelope?: ErrorEnvelope,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.envelope = envelope;
  }
}
