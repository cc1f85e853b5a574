import type { QueuedEvent } from '@triggers/event-schema';
import { MAX_QUEUED_EVENT_BYTES } from '@triggers/event-schema';
import { ApiError } from './errors.ts';

/** Seconds a client should wait before retrying when the queue refuses a message. */
export const QUEUE_RETRY_AFTER_SECONDS = 2;

const encoder = new TextEncoder();

/**
 * Puts one event on the queue and resolves once the queue has persisted it. Refuses with 413 a
 * message over the queue's size limit (the request body's limit leaves room for our envelope,
 * but a JSON number such as `1e99` grows when re-serialized), and turns any failure of `send`
 * (queue full, rate limited, unavailable) into 503 with `Retry-After`.
 */
export async function enqueue(
  queue: Queue<QueuedEvent>,
  event: QueuedEvent,
  delaySeconds?: number,
): Promise<void> {
  const size = encoder.encode(JSON.stringify(event)).byteLength;
  if (size > MAX_QUEUED_EVENT_BYTES) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `The event serializes to ${size} bytes; a queued event may take at most ${MAX_QUEUED_EVENT_BYTES}.`,
      {
        details: { limit_bytes: MAX_QUEUED_EVENT_BYTES },
      },
    );
  }
  try {
    await queue.send(event, { contentType: 'json', ...(delaySeconds ? { delaySeconds } : {}) });
  } catch (err) {
    throw new ApiError(
      'SERVICE_UNAVAILABLE',
      'The event could not be queued and was not accepted. Retry later.',
      {
        headers: { 'retry-after': String(QUEUE_RETRY_AFTER_SECONDS) },
        cause: err,
      },
    );
  }
}
