import type {
  DebugFlag,
  DebugMarker,
  EventRequest,
  IdempotencyKey,
  QueuedEvent,
} from '@triggers/event-schema';
import { QUEUE_DELAY_DEBUG_SECONDS } from '@triggers/event-schema';
import type { AuthedRequest } from '../context.ts';
import type { CloudEventContent } from './cloudevents.ts';
import { ApiError } from './errors.ts';
import { cloudEventId, idempotentEventId } from './idempotency.ts';
import { DEBUG, readParameter } from './parameters.ts';
import { type SizedEvent, sized } from './queue.ts';

/**
 * What every event of one request shares: who sent it, when it was accepted and the debug flag.
 * `POST /events` and `POST /events/batch` build their events through this one path.
 */
export interface Submission {
  apiKeyId: string;
  correlationId: string;
  timestamp: string;
  debug: DebugFlag | undefined;
  /** Delivery delay for the queue, when `?debug=queue_delay` asks for one. */
  delaySeconds: number | undefined;
}

/** `?debug=`: absent, or one known flag that only a `test` key may use. */
function debugFlag(request: AuthedRequest): DebugFlag | undefined {
  const flag = readParameter(request, DEBUG);
  if (flag === undefined) return undefined;
  if (request.apiKey.mode !== 'test') {
    throw new ApiError('DEBUG_NOT_ALLOWED', 'Debug flags are honoured only for test keys (sk_test_…).');
  }
  return flag;
}

export function openSubmission(request: AuthedRequest): Submission {
  const debug = debugFlag(request);
  return {
    apiKeyId: request.apiKey.id,
    correlationId: request.correlationId,
    timestamp: new Date().toISOString(),
    debug,
    delaySeconds: debug === 'queue_delay' ? QUEUE_DELAY_DEBUG_SECONDS : undefined,
  };
}

/** `?debug=validation_error`: refuse a request that would otherwise be accepted. */
export function rejectIfDebugRequested(submission: Submission): void {
  if (submission.debug !== 'validation_error') return;
  throw new ApiError(
    'VALIDATION_ERROR',
    'Rejected on purpose by ?debug=validation_error; nothing was queued.',
    {
      details: { issues: [{ path: 'query.debug', message: 'validation_error was requested' }] },
    },
  );
}

/**
 * One event as read and validated, before it is built: our JSON event with its idempotency key
 * (`Idempotency-Key`, or a batch item's `idempotency_key`), or a checked CloudEvent (any mode).
 */
export type EventInput =
  | { json: EventRequest; idempotencyKey: IdempotencyKey | undefined }
  | { cloudEvent: CloudEventContent };

/**
 * Builds the queue message for one validated event and measures it (413 when it would not fit a
 * queue message). Its `event_id` is derived from the idempotency key when there is one, random
 * otherwise; a CloudEvent's from the key, its `source` and its `id`, so a resent one is stored
 * once.
 */
export async function buildEvent(submission: Submission, input: EventInput): Promise<SizedEvent> {
  if ('cloudEvent' in input) {
    const { cloudEvent } = input;
    const eventId = await cloudEventId(submission.apiKeyId, cloudEvent.source, cloudEvent.cloudevent.id);
    return message(submission, eventId, cloudEvent);
  }
  const { json, idempotencyKey } = input;
  const eventId =
    idempotencyKey === undefined
      ? crypto.randomUUID()
      : await idempotentEventId(submission.apiKeyId, idempotencyKey);
  return message(submission, eventId, {
    payload: json.payload,
    ...(json.metadata ? { metadata: json.metadata } : {}),
    // Identity as the client gave it; the store fills in what is absent (eventIdentity).
    ...(json.type === undefined ? {} : { type: json.type }),
    ...(json.source === undefined ? {} : { source: json.source }),
    ...(json.subject === undefined ? {} : { subject: json.subject }),
  });
}

/** What the client sent, and what the request adds around it. */
type Content = Pick<QueuedEvent, 'payload' | 'metadata' | 'type' | 'source' | 'subject' | 'cloudevent'>;

function message(submission: Submission, eventId: string, content: Content): SizedEvent {
  const { debug } = submission;
  return sized({
    event_id: eventId,
    ...content,
    timestamp: submission.timestamp,
    correlation_id: submission.correlationId,
    api_key_id: submission.apiKeyId,
    ...(debug ? { debug: debug as DebugMarker } : {}),
  });
}
