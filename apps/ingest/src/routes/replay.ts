import {
  type EventDetails,
  MAX_QUEUED_EVENT_BYTES,
  type QueuedEvent,
  ReplayRequest,
  type ReplayResult,
} from '@triggers/event-schema';
import { replayEvent, replayFailed, restoreFailed, type StoredEvent } from '@triggers/event-store';
import { describeError } from '@triggers/log';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { readOptionalJsonBody } from '../lib/body.ts';
import { serviceUnavailable } from '../lib/errors.ts';
import { measured, type SizedEvent, sendChunks } from '../lib/queue.ts';
import { ok } from '../lib/responses.ts';
import { eventNotFound, fromStore, inboxEvent, invalidState } from '../lib/store.ts';
import { assertOrderedRange, validate } from '../lib/validate.ts';
import { eventIdOf } from './inbox.ts';

/** The largest `POST /dlq/replay` body: three optional fields. */
const MAX_REPLAY_BODY_BYTES = 4_096;

/**
 * The fresh queue message of a replayed event: what the consumer stores, exactly as it was first
 * sent (same event_id, payload, metadata, tenant and received time), carrying the replay request's
 * correlation id and no debug marker: the rehearsal was the first life's, and a
 * `processing_error` event replayed with its marker would only fail again. Should the request's
 * (longer) correlation id push a message over the queue's limit, it keeps its original one.
 */
function replayMessage(stored: StoredEvent, correlationId: string): SizedEvent {
  const message = (correlation_id: string): QueuedEvent => ({
    event_id: stored.event_id,
    payload: stored.payload,
    ...(stored.metadata === null ? {} : { metadata: stored.metadata }),
    timestamp: stored.received_at,
    correlation_id,
    api_key_id: stored.api_key_id,
  });
  const item = measured(message(correlationId));
  return item.bytes <= MAX_QUEUED_EVENT_BYTES ? item : measured(message(stored.correlation_id));
}

/**
 * Sends the messages of events a replay has just moved to `pending` (`before`: the rows as they
 * were). Whatever is not on the queue when a send fails is put back to `failed` as it was, so no
 * row waits in `pending` for a message that does not exist, and the answer is 503.
 */
async function requeue(request: AuthedRequest, env: IngestEnv, before: StoredEvent[]): Promise<void> {
  let sent: { queued: number; error?: unknown };
  try {
    sent = await sendChunks(
      env.EVENT_QUEUE,
      before.map((event) => replayMessage(event, request.correlationId)),
    );
  } catch (error) {
    sent = { queued: 0, error };
  }
  if (sent.error === undefined) return;

  const unsent = before.slice(sent.queued);
  try {
    const restored = await restoreFailed(env.DB, unsent, new Date());
    request.log.log('warn', 'replay not queued; events put back to failed', {
      queued: sent.queued,
      restored: restored.size,
      error: describeError(sent.error),
    });
  } catch (err) {
    // Left pending with attempts 0 and no message: GET /inbox?status=pending shows them.
    request.log.log('error', 'replay not queued and not undone; events left pending', {
      queued: sent.queued,
      unsent: unsent.length,
      error: describeError(err),
    });
  }
  const message =
    before.length === 1
      ? 'The event could not be re-enqueued and stays failed. Retry later.'
      : `${sent.queued} of the ${before.length} events were re-enqueued before the queue failed; ` +
        'the others stay failed. Retry later: only failed events are replayed, so nothing is sent twice.';
  throw serviceUnavailable(message, sent.error);
}

/**
 * `POST /inbox/{event_id}/retry`: re-enqueues a failed event as a fresh message and answers it
 * `pending`. 409 for an event that is not failed; of two retries at once, one gets 409.
 */
export async function retryEvent(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const eventId = eventIdOf(request);
  const outcome = await fromStore(() =>
    replayEvent(env.DB, { apiKeyId: request.apiKey.id, eventId }, new Date()),
  );
  if (!outcome.replayed) {
    if (outcome.event === null) throw eventNotFound(eventId);
    throw invalidState(
      outcome.event.status,
      `Event ${eventId} is ${outcome.event.status}: only a failed event can be retried.`,
    );
  }
  await requeue(request, env, [outcome.before]);
  request.log.log('info', 'event replayed', { previous_attempts: outcome.before.attempts });
  return ok<EventDetails['data']>(inboxEvent(outcome.event));
}

/**
 * `POST /dlq/replay`: re-enqueues the key's failed events that are not acknowledged, oldest
 * first, within `from`/`to` and up to `limit`, in `sendBatch` calls within the queue's limits.
 * Safe to repeat: a replayed event is `pending`, and only `failed` ones are taken.
 */
export async function replayDeadLetters(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const input = validate(ReplayRequest, await readOptionalJsonBody(request, MAX_REPLAY_BODY_BYTES));
  assertOrderedRange(input);
  const before = await fromStore(() =>
    replayFailed(
      env.DB,
      { apiKeyId: request.apiKey.id, from: input.from, to: input.to, limit: input.limit },
      new Date(),
    ),
  );
  await requeue(request, env, before);
  request.log.log('info', 'events replayed', { replayed: before.length });
  return ok<ReplayResult['data']>({
    replayed: before.length,
    event_ids: before.map((event) => event.event_id),
  });
}
