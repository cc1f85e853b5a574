import type { QueuedEvent } from '@triggers/event-schema';
import {
  MAX_QUEUED_EVENT_BYTES,
  QUEUE_PLATFORM_OVERHEAD_BYTES,
  sendBatchChunks,
} from '@triggers/event-schema';
import { ApiError } from './errors.ts';

/** Seconds a client should wait before retrying when the queue refuses a message. */
export const QUEUE_RETRY_AFTER_SECONDS = 2;

const encoder = new TextEncoder();

/** An event with the size of its serialized form, measured once. */
export interface SizedEvent {
  event: QueuedEvent;
  bytes: number;
}

/**
 * Measures an event as the queue will carry it, refusing with 413 a message over the queue's
 * size limit (the request body's limit leaves room for our envelope, but a JSON number such as
 * `1e99` grows when re-serialized).
 */
export function sized(event: QueuedEvent): SizedEvent {
  const bytes = encoder.encode(JSON.stringify(event)).byteLength;
  if (bytes > MAX_QUEUED_EVENT_BYTES) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `The event serializes to ${bytes} bytes; a queued event may take at most ${MAX_QUEUED_EVENT_BYTES}.`,
      {
        details: { limit_bytes: MAX_QUEUED_EVENT_BYTES },
      },
    );
  }
  return { event, bytes };
}

const unavailable = (message: string, cause: unknown) =>
  new ApiError('SERVICE_UNAVAILABLE', message, {
    headers: { 'retry-after': String(QUEUE_RETRY_AFTER_SECONDS) },
    cause,
  });

/**
 * Puts one event on the queue and resolves once the queue has persisted it. Any failure of
 * `send` (queue full, rate limited, unavailable) becomes 503 with `Retry-After`.
 */
export async function enqueue(
  queue: Queue<QueuedEvent>,
  { event }: SizedEvent,
  delaySeconds?: number,
): Promise<void> {
  try {
    await queue.send(event, { contentType: 'json', ...(delaySeconds ? { delaySeconds } : {}) });
  } catch (err) {
    throw unavailable('The event could not be queued and was not accepted. Retry later.', err);
  }
}

/**
 * Puts events on the queue with as few `sendBatch()` calls as its limits allow, one after the
 * other, resolving once every one has been persisted. Several calls cannot be atomic: when one
 * fails, the events of the calls before it are already on the queue. That is answered with 503
 * for the whole batch, saying how many may already be queued; a retry is safe for events sent with
 * an idempotency key, since they keep their `event_id` and are stored once.
 */
export async function enqueueBatch(
  queue: Queue<QueuedEvent>,
  events: readonly SizedEvent[],
  delaySeconds?: number,
): Promise<void> {
  let queued = 0;
  for (const chunk of sendBatchChunks(events, (item) => item.bytes + QUEUE_PLATFORM_OVERHEAD_BYTES)) {
    const messages = chunk.map(({ event }) => ({
      body: event,
      contentType: 'json' as const,
      ...(delaySeconds ? { delaySeconds } : {}),
    }));
    try {
      await queue.sendBatch(messages);
    } catch (err) {
      const already = queued === 0 ? 'None of them was queued' : `${queued} of them may already be queued`;
      throw unavailable(
        `The batch could not be queued completely and no event of it is acknowledged (${already}). ` +
          'Retry the whole batch later: events with an idempotency_key keep their event_id and are stored once.',
        err,
      );
    }
    queued += chunk.length;
  }
}
