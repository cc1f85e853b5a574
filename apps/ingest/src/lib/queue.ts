import type { EventQueueMessage, QueuedEvent, SizedEvent } from '@triggers/event-schema';
import { jsonBytes, MAX_QUEUED_EVENT_BYTES, packEvents, sendBatchChunks } from '@triggers/event-schema';
import { ApiError, serviceUnavailable } from './errors.ts';

export type { SizedEvent };

/** An event with the size of its serialized form, without judging it. */
export function measured(event: QueuedEvent): SizedEvent {
  return { event, bytes: jsonBytes(event) };
}

/**
 * Measures an event as the queue will carry it, refusing with 413 a message over the queue's
 * size limit (the request body's limit leaves room for our envelope, but a JSON number such as
 * `1e99` grows when re-serialized).
 */
export function sized(event: QueuedEvent): SizedEvent {
  const item = measured(event);
  if (item.bytes > MAX_QUEUED_EVENT_BYTES) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `The event serializes to ${item.bytes} bytes; a queued event may take at most ${MAX_QUEUED_EVENT_BYTES}.`,
      {
        details: { limit_bytes: MAX_QUEUED_EVENT_BYTES },
      },
    );
  }
  return item;
}

/**
 * Puts one event on the queue and resolves once the queue has persisted it. Any failure of
 * `send` (queue full, rate limited, unavailable) becomes 503 with `Retry-After`.
 */
export async function enqueue(
  queue: Queue<EventQueueMessage>,
  { event }: SizedEvent,
  delaySeconds?: number,
): Promise<void> {
  try {
    await queue.send(event, { contentType: 'json', ...(delaySeconds ? { delaySeconds } : {}) });
  } catch (err) {
    throw serviceUnavailable('The event could not be queued and was not accepted. Retry later.', err);
  }
}

/** How far {@link sendChunks} got: events `[0, queued)` are on the queue; `error` stopped the rest. */
export interface ChunkedSend {
  queued: number;
  error?: unknown;
}

/** How {@link sendChunks} sends. */
export interface SendOptions {
  delaySeconds?: number;
  /**
   * Several events to a message (`packEvents`), since the queue counts and bills messages: a
   * batch request's events. Otherwise one message per event.
   */
  packed?: boolean;
}

/**
 * Puts events on the queue, in order, in as few `sendBatch()` calls as its limits allow, one
 * after the other, and resolves once every one has been persisted or a call failed. Several calls
 * cannot be atomic: it never throws, and says how many events (a prefix, in whole messages) are
 * on the queue.
 */
export async function sendChunks(
  queue: Queue<EventQueueMessage>,
  events: readonly SizedEvent[],
  { delaySeconds, packed = false }: SendOptions = {},
): Promise<ChunkedSend> {
  const messages = packed
    ? packEvents(events)
    : events.map((item) => ({ body: item.event, bytes: item.bytes, events: [item] }));
  let queued = 0;
  for (const call of sendBatchChunks(messages, (message) => message.bytes)) {
    try {
      await queue.sendBatch(
        call.map(({ body }) => ({
          body,
          contentType: 'json' as const,
          ...(delaySeconds ? { delaySeconds } : {}),
        })),
      );
    } catch (error) {
      return { queued, error };
    }
    queued += call.reduce((sum, message) => sum + message.events.length, 0);
  }
  return { queued };
}

/**
 * Puts a batch request's events on the queue, packed into as few messages as fit
 * ({@link sendChunks}). When a call fails, the events of the calls before it are already on the
 * queue. That is answered with 503 for the whole batch, saying how many may already be queued; a
 * retry is safe for events sent with an idempotency key, since they keep their `event_id` and are
 * stored once.
 */
export async function enqueueBatch(
  queue: Queue<EventQueueMessage>,
  events: readonly SizedEvent[],
  delaySeconds?: number,
): Promise<void> {
  const { queued, error } = await sendChunks(queue, events, { delaySeconds, packed: true });
  if (error === undefined) return;
  const already = queued === 0 ? 'None of them was queued' : `${queued} of them may already be queued`;
  throw serviceUnavailable(
    `The batch could not be queued completely and no event of it is acknowledged (${already}). ` +
      'Retry the whole batch later: events with an idempotency_key keep their event_id and are stored once.',
    error,
  );
}
