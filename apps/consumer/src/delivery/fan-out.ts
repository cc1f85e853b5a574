import { type DeliveryMessage, jsonBytes, sendBatchChunks } from '@triggers/event-schema';
import { describeError } from '@triggers/log';

/**
 * Sends the deliveries a batch's commit created (event-store `fanOut` keys, JSON
 * {@link DeliveryMessage}s) to `delivery-queue`, in as few `sendBatch` calls as the queue allows. Answers why it
 * failed, or undefined; on failure the events' messages are retried, and the store reports the
 * never-attempted deliveries again, so none is lost.
 */
export async function sendDeliveries(
  queue: Queue<DeliveryMessage>,
  keys: ReadonlySet<string>,
): Promise<string | undefined> {
  const messages = [...keys].map((key) => ({ body: JSON.parse(key) as DeliveryMessage }));
  try {
    for (const part of sendBatchChunks(messages, (m) => jsonBytes(m.body))) await queue.sendBatch(part);
    return undefined;
  } catch (err) {
    return `delivery-queue refused the deliveries: ${describeError(err)}`;
  }
}
