import { MAX_QUEUED_EVENT_BYTES, type QueuedEvent } from '@triggers/event-schema';
import type { StoredEvent } from '@triggers/event-store';
import { describeError } from '@triggers/log';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { serviceUnavailable } from './errors.ts';
import { measured, type SizedEvent, sendPacked } from './queue.ts';
import { keyStore } from './stored-events.ts';

/**
 * The replayed event as it goes back on the queue: what the consumer stores, exactly as it was
 * first sent (same event_id, payload, metadata, identity, CloudEvent attributes, tenant and
 * received time), carrying the replay request's correlation id and no debug marker: the rehearsal
 * was the first life's, and a `processing_error` event replayed with its marker would only fail
 * again. Should the request's (longer) correlation id push the event over the queue's limit, it
 * keeps its original one.
 */
function replayed(stored: StoredEvent, correlationId: string): SizedEvent {
  const message = (correlation_id: string): QueuedEvent => ({
    event_id: stored.event_id,
    payload: stored.payload,
    ...(stored.metadata === null ? {} : { metadata: stored.metadata }),
    type: stored.type,
    source: stored.source,
    ...(stored.subject === null ? {} : { subject: stored.subject }),
    ...(stored.cloudevent === null ? {} : { cloudevent: stored.cloudevent }),
    timestamp: stored.received_at,
    correlation_id,
    api_key_id: stored.api_key_id,
  });
  const item = measured(message(correlationId));
  return item.bytes <= MAX_QUEUED_EVENT_BYTES ? item : measured(message(stored.correlation_id));
}

/**
 * Sends the events a replay has just moved to `pending` (`before`: the rows as they were), packed
 * as a batch request's are ({@link sendPacked}). Whatever is not on the queue when a send fails
 * is put back to `failed` as it was, so no row waits in `pending` for a message that does not
 * exist, and the answer is 503.
 */
export async function requeue(request: AuthedRequest, env: IngestEnv, before: StoredEvent[]): Promise<void> {
  let sent: { queued: number; error?: unknown };
  try {
    sent = await sendPacked(
      env,
      before.map((event) => replayed(event, request.correlationId)),
    );
  } catch (error) {
    sent = { queued: 0, error };
  }
  if (sent.error === undefined) return;

  const unsent = before.slice(sent.queued);
  try {
    const restored = await keyStore(request, env).restoreFailed(unsent, new Date());
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
