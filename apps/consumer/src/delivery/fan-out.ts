import {
  type AttemptMessage,
  type FanOutMessage,
  jsonBytes,
  MAX_SUBSCRIPTIONS_PER_KEY,
  sendBatchChunks,
} from '@triggers/event-schema';
import { tenantStore } from '@triggers/event-store';
import type { Logger } from '@triggers/log';
import type { ConsumerEnv } from '../env.ts';

/**
 * Fan-out in two halves, so that a tenant's subscriptions never weigh on storing events, nor on
 * another tenant's: the `event-queue` batch only sends, per key, one {@link FanOutMessage} per
 * {@link FAN_OUT_EVENTS_PER_MESSAGE} stored events (a few messages whatever the subscriptions);
 * the dispatcher then creates that key's deliveries and queues their first attempts, one
 * message, one key and at most {@link FAN_OUT_EVENTS_PER_MESSAGE} × `MAX_SUBSCRIPTIONS_PER_KEY`
 * deliveries at a time. A failure there retries that message alone.
 */

/** Stored events one fan-out message names: with a key's largest number of subscriptions, 1,000 deliveries, ten `sendBatch` calls. */
export const FAN_OUT_EVENTS_PER_MESSAGE = Math.max(1, Math.floor(1_000 / MAX_SUBSCRIPTIONS_PER_KEY));

/** Sends `messages` in as few `sendBatch` calls as the queue's limits allow. */
async function sendAll<T>(queue: Queue<T>, messages: T[]): Promise<void> {
  const bodies = messages.map((body) => ({ body }));
  for (const part of sendBatchChunks(bodies, (m) => jsonBytes(m.body))) await queue.sendBatch(part);
}

/**
 * The fan-out messages for `events` just stored (duplicates included: fanning out is idempotent,
 * and a delivery whose first attempt was never queued is queued again), grouped by key.
 */
export function fanOutMessages(events: readonly { api_key_id: string; event_id: string }[]): FanOutMessage[] {
  const byKey = new Map<string, string[]>();
  for (const { api_key_id, event_id } of events)
    byKey.set(api_key_id, [...(byKey.get(api_key_id) ?? []), event_id]);
  return [...byKey].flatMap(([api_key_id, ids]) =>
    Array.from({ length: Math.ceil(ids.length / FAN_OUT_EVENTS_PER_MESSAGE) }, (_, i) => ({
      api_key_id,
      fan_out: ids.slice(i * FAN_OUT_EVENTS_PER_MESSAGE, (i + 1) * FAN_OUT_EVENTS_PER_MESSAGE),
    })),
  );
}

/**
 * Sends the fan-out of a stored batch to `delivery-queue`. Throws when the queue refuses, and the
 * batch's events are then retried (their fan-out with them).
 */
export function sendFanOut(
  queue: Queue<FanOutMessage>,
  events: readonly { api_key_id: string; event_id: string }[],
): Promise<void> {
  return sendAll(queue, fanOutMessages(events));
}

/**
 * The dispatcher's half: creates the deliveries a fan-out message asks for and queues each one's
 * first attempt. Throws when the store or the queue fails: the message is retried, and since the
 * store reports a delivery again until it is attempted, none is lost.
 */
export async function fanOutEvents(
  message: FanOutMessage,
  env: ConsumerEnv,
  log: Logger,
  now: Date,
): Promise<void> {
  const store = tenantStore(env.TENANTS, message.api_key_id);
  const attempts: AttemptMessage[] = await store.fanOut(message.api_key_id, message.fan_out, now);
  await sendAll(env.DELIVERY_QUEUE, attempts);
  log.log('debug', 'fan-out', {
    api_key_id: message.api_key_id,
    events: message.fan_out.length,
    deliveries: attempts.length,
  });
}
