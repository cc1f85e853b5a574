import type { DebugMarker, EventAccepted, QueuedEvent } from '@triggers/event-schema';
import { DebugFlag, EventRequest, MAX_EVENT_BYTES, QUEUE_DELAY_DEBUG_SECONDS } from '@triggers/event-schema';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { readJsonBody } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import { enqueue } from '../lib/queue.ts';
import { json } from '../lib/responses.ts';
import { validate } from '../lib/validate.ts';

/** `?debug=`: absent, or one known flag that only a `test` key may use. */
function debugFlag(request: AuthedRequest): DebugFlag | undefined {
  const raw = request.query.debug;
  if (raw === undefined) return undefined;
  const flag = validate(DebugFlag, raw, 'query.debug');
  if (request.apiKey.mode !== 'test') {
    throw new ApiError('DEBUG_NOT_ALLOWED', 'Debug flags are honoured only for test keys (sk_test_…).');
  }
  return flag;
}

/**
 * `POST /events`: validates the body, stamps an `event_id` and answers 200 only once the queue
 * has persisted the event.
 */
export async function postEvent(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const debug = debugFlag(request);
  const { value } = await readJsonBody(request, MAX_EVENT_BYTES);
  const input = validate(EventRequest, value);
  if (debug === 'validation_error') {
    throw new ApiError(
      'VALIDATION_ERROR',
      'Rejected on purpose by ?debug=validation_error; nothing was queued.',
      {
        details: { issues: [{ path: 'query.debug', message: 'validation_error was requested' }] },
      },
    );
  }

  const event: QueuedEvent = {
    event_id: crypto.randomUUID(),
    payload: input.payload,
    ...(input.metadata ? { metadata: input.metadata } : {}),
    timestamp: new Date().toISOString(),
    correlation_id: request.correlationId,
    api_key_id: request.apiKey.id,
    ...(debug ? { debug: debug as DebugMarker } : {}),
  };
  request.eventId = event.event_id;
  await enqueue(env.EVENT_QUEUE, event, debug === 'queue_delay' ? QUEUE_DELAY_DEBUG_SECONDS : undefined);

  const body: EventAccepted = {
    data: { event_id: event.event_id, status: 'accepted', timestamp: event.timestamp },
    timestamp: new Date().toISOString(),
  };
  return json(200, body);
}
