import type { ErrorCode, ErrorDetails } from '@triggers/event-schema';
import { ERROR_STATUS } from '@triggers/event-schema';
import { StatusError } from 'itty-router';

export interface ApiErrorOptions {
  details?: ErrorDetails;
  headers?: Record<string, string>;
  /** The underlying failure, for the log only; never shown to the client. */
  cause?: unknown;
}

/**
 * The one way a handler reports a failure: throw an `ApiError`, and the router's `catch` turns it
 * into the error envelope. `message` is shown to the client, so it never carries internals.
 */
export class ApiError extends StatusError {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(ERROR_STATUS[code], message);
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.cause = options.cause;
  }
}

/**
 * The `Retry-After` of every 503, in seconds. This Worker answers 503 only when a binding it
 * depends on (AUTH_KV, the key's tenant store, D1 for the operator's health view, the queue)
 * fails or is missing. The failures worth retrying are platform hiccups that clear within
 * seconds, so a client that waits 2 s usually gets through on its next try; waiting longer would
 * only delay its events. The consumer retries its own failed store writes after the same 2 s
 * (apps/consumer/src/queue-retry.ts).
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/**
 * 503 `SERVICE_UNAVAILABLE` with `Retry-After` ({@link UNAVAILABLE_RETRY_AFTER_SECONDS}): the one way to say
 * that a dependency is down. `message` tells the client what was not done; `cause` goes to the
 * log only.
 */
export function serviceUnavailable(message: string, cause?: unknown): ApiError {
  return new ApiError('SERVICE_UNAVAILABLE', message, {
    headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
    cause,
  });
}
