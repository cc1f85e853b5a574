import { CorrelationId } from '@triggers/event-schema';
import { createLogger, parseLogLevel } from '@triggers/log';
import * as v from 'valibot';
import type { IngestRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';

/**
 * Gives every request a correlation id: the client's `X-Correlation-ID` when it is well-formed
 * (letters, digits, `._:-`, at most 128 characters), otherwise a new UUID. It is echoed on the
 * response, carried in the queue message and stamped on every log line.
 */
export function withCorrelation(request: IngestRequest, env: IngestEnv): void {
  const offered = request.headers.get('x-correlation-id');
  request.correlationId = offered !== null && v.is(CorrelationId, offered) ? offered : crypto.randomUUID();
  request.startedAt = Date.now();
  request.log = createLogger({ correlation_id: request.correlationId }, parseLogLevel(env.LOG_LEVEL));
}
