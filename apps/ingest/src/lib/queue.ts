import type { QueuedEvent, SizedEvent } from '@triggers/event-schema';
import { jsonBytes, MAX_QUEUED_EVENT_BYTES, packEvents, sendBatchChunks } from '@triggers/event-schema';
import type { IngestEnv } from '../env.ts';
import { ApiError, serviceUnavailable } from './errors.ts';
import { eventQueueFor } from './event-queues.ts';

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
 * Puts one event on its shard of the queue (lib/event-queues.ts) and resolves once the queue has
 * persisted it. Any failure of `send` (queue full, rate limited, unavailable) becomes 503 with
 * `Retry-After`.
 */
export async function enqueue(env: IngestEnv, { event }: SizedEvent, delaySeconds?: number): Promise<void> {
  try {
    await eventQueueFor(env, event.event_id).send(event, {
      contentType: 'json',
      ...(delaySeconds ? { delaySeconds } : {}),
    });
  } catch (err) {
    throw serviceUnavailable('The event could not be queued and was not accepted. Retry later.', err);
  }
}

/** How far {@link sendPacked} got: events `[0, queued)` are on the queue; `error` stopped the rest. */
export interface PackedSend {
  queued: number;
  error?: unknown;
}

/**
 * Puts events on the queue, in order, packed into as few messages as fit (`packEvents`: the queue
 * counts and bills messages; a lone event travels bare), in as few `sendBatch()` calls as its
 * limits allow, one after the other, each to the shard of its first event. Resolves once every
 * one has been persisted or a call failed. Several calls cannot be atomic: it never throws, and
 * says how many events (a prefix, in whole messages) are on the queue. How a batch request's and
 * a replay's events travel, both.
 */
export async function sendPacked(
  env: IngestEnv,
  events: readonly SizedEvent[],
  delaySeconds?: number,
): Promise<PackedSend> {
  let queued = 0;
  for (const call of sendBatchChunks(packEvents(events), (message) => message.bytes)) {
    const first = call[0]?.events[0];
    if (first === undefined) continue;
    try {
      await eventQueueFor(env, first.event.event_id).sendBatch(
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
 * Puts a batch request's events on the queue ({@link sendPacked}). When a call fails, the events
 * of the calls before it are already on the queue. That is answered with 503 for the whole batch,
 * saying how many may already be queued; a retry is safe for events sent with an idempotency key,
 * since they keep their `event_id` and are stored once.
 */
export async function enqueueBatch(
  env: IngestEnv,
  events: readonly SizedEvent[],
  delaySeconds?: number,
): Promise<void> {
  const { queued, error } = await sendPacked(env, events, delaySeconds);
  if (error === undefined) return;
  const already = queued === 0 ? 'None of them was queued' : `${queued} of them may already be queued`;
  throw serviceUnavailable(
    `The batch could not be queued completely and no event of it is acknowledged (${already}). ` +
      'Retry the whole batch later: events with an idempotency_key keep their event_id and are stored once.',
    error,
  );
}
