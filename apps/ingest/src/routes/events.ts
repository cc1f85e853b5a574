import type { EventAccepted } from '@triggers/event-schema';
import { EventRequest, MAX_EVENT_BYTES } from '@triggers/event-schema';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { readJsonBody } from '../lib/body.ts';
import { idempotencyKeyHeader } from '../lib/idempotency.ts';
import { enqueue } from '../lib/queue.ts';
import { json } from '../lib/responses.ts';
import { buildEvent, openSubmission, rejectIfDebugRequested } from '../lib/submission.ts';
import { validate } from '../lib/validate.ts';

/**
 * `POST /events`: validates the body, stamps an `event_id` (derived from `Idempotency-Key` when
 * given) and answers 200 only once the queue has persisted the event.
 */
export async function postEvent(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const submission = openSubmission(request);
  const idempotencyKey = idempotencyKeyHeader(request);
  const { value } = await readJsonBody(request, MAX_EVENT_BYTES);
  const input = validate(EventRequest, value);
  rejectIfDebugRequested(submission);

  const item = await buildEvent(submission, input, idempotencyKey);
  request.eventId = item.event.event_id;
  await enqueue(env.EVENT_QUEUE, item, submission.delaySeconds);

  const body: EventAccepted = {
    data: { event_id: item.event.event_id, status: 'accepted', timestamp: item.event.timestamp },
    timestamp: new Date().toISOString(),
  };
  return json(200, body);
}
