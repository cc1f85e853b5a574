import type { BatchAccepted, BatchItemResult, ItemError } from '@triggers/event-schema';
import { BatchEnvelope, BatchItem, MAX_BATCH_BYTES } from '@triggers/event-schema';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { readJsonBody } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import { enqueueBatch, type SizedEvent } from '../lib/queue.ts';
import { json } from '../lib/responses.ts';
import { buildEvent, openSubmission, rejectIfDebugRequested, type Submission } from '../lib/submission.ts';
import { validate } from '../lib/validate.ts';

/**
 * Validates and builds one item exactly as `POST /events` would its body; a failure becomes that
 * item's rejection (code, message and field paths under `events.<index>`) instead of the request's.
 */
async function prepareItem(
  submission: Submission,
  raw: unknown,
  index: number,
): Promise<SizedEvent | ItemError> {
  const path = `events.${index}`;
  try {
    const item = validate(BatchItem, raw, path);
    return await buildEvent(submission, item, item.idempotency_key);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return {
      code: err.code,
      message: err.message,
      issues: err.details?.issues ?? [{ path, message: err.message }],
    };
  }
}

/**
 * `POST /events/batch`: up to 100 events, each accepted or rejected on its own and answered in
 * request order. The valid ones are queued together (several `sendBatch()` calls when the queue's
 * limits need it) and the answer is 200 only once all of them are persisted. When no item is
 * valid the answer is 400 with every item's reason.
 */
export async function postEventBatch(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const submission = openSubmission(request);
  if (request.headers.has('idempotency-key')) {
    throw new ApiError(
      'VALIDATION_ERROR',
      'Idempotency-Key applies to POST /events; give each batch item its own "idempotency_key".',
      { details: { issues: [{ path: 'headers.idempotency-key', message: 'is not accepted on a batch' }] } },
    );
  }
  const { value } = await readJsonBody(request, MAX_BATCH_BYTES);
  const { events } = validate(BatchEnvelope, value);
  rejectIfDebugRequested(submission);

  const prepared = await Promise.all(events.map((raw, index) => prepareItem(submission, raw, index)));
  const ready = prepared.filter((item): item is SizedEvent => 'event' in item);
  const results = prepared.map(
    (item, index): BatchItemResult =>
      'event' in item
        ? { index, status: 'accepted', event_id: item.event.event_id }
        : { index, status: 'rejected', error: item },
  );
  if (ready.length === 0) {
    throw new ApiError(
      'VALIDATION_ERROR',
      `None of the ${events.length} events is valid; nothing was queued.`,
      {
        details: { results },
      },
    );
  }
  await enqueueBatch(env.EVENT_QUEUE, ready, submission.delaySeconds);

  const body: BatchAccepted = {
    data: { accepted: ready.length, rejected: events.length - ready.length, results },
    timestamp: new Date().toISOString(),
  };
  return json(200, body);
}
