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

/** `name: message` of a thrown value, for log lines. */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
