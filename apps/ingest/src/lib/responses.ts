import type { ErrorEnvelope } from '@triggers/event-schema';
import { describeError } from '@triggers/log';
import type { IngestRequest } from '../context.ts';
import { ApiError } from './errors.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': JSON_TYPE, ...headers } });
}

/** `{"data": ..., "timestamp"}` with status 200. */
export function ok<T>(data: T): Response {
  return json(200, { data, timestamp: new Date().toISOString() });
}

/**
 * The router's `catch`: every thrown value becomes the error envelope. An `ApiError` is shown as
 * it is; anything else is logged in full and answered with a bare 500 that reveals nothing.
 */
export function toErrorResponse(err: unknown, request: IngestRequest): Response {
  let error: ApiError;
  if (err instanceof ApiError) {
    error = err;
    if (error.status >= 500 && error.cause !== undefined) {
      request.log.log('warn', error.code, { cause: describeError(error.cause) });
    }
  } else {
    request.log.log('error', 'unhandled error', {
      error: describeError(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    error = new ApiError(
      'INTERNAL_ERROR',
      'An internal error occurred. Retry later; if it persists, quote the correlation id.',
    );
  }
  const body: ErrorEnvelope = {
    error: {
      code: error.code,
      message: error.message,
      timestamp: new Date().toISOString(),
      correlation_id: request.correlationId,
      ...(error.details ? { details: error.details } : {}),
    },
  };
  return json(error.status, body, error.headers);
}

/**
 * Headers on every answer. Responses carry a tenant's events, keys' outcomes and errors quoting
 * its requests: no shared cache may keep them (`no-store`), and no browser may guess them to be
 * anything but the JSON they declare (`nosniff`). No CORS header is ever sent: the API is for
 * servers, and a browser page on another origin cannot read its answers (docs/api.md).
 */
const SECURITY_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/**
 * The router's `finally`: stamps the correlation id and {@link SECURITY_HEADERS} on the response
 * and logs the request once.
 */
export function finishResponse(response: Response, request: IngestRequest): Response {
  response.headers.set('x-correlation-id', request.correlationId);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  request.log.log(response.status >= 500 ? 'error' : 'info', 'request', {
    method: request.method,
    path: new URL(request.url).pathname,
    status: response.status,
    event_id: request.eventId,
    duration_ms: Date.now() - request.startedAt,
  });
  return response;
}
