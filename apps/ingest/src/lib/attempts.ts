import { type AttemptMessage, jsonBytes, sendBatchChunks } from '@triggers/event-schema';
import type { TenantStoreHandle } from '@triggers/event-store';
import { describeError } from '@triggers/log';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { serviceUnavailable } from './errors.ts';

/**
 * Queues the first attempt of each delivery a manual retry or a recovery has just moved to a new
 * round (`pending`, no attempt yet), in as few `sendBatch()` calls as the queue's limits allow.
 * The rows move first and the messages follow, as for a replayed event (requeue.ts): what is not
 * on the queue when a send fails is put back to `failed` ({@link TenantStoreHandle.unrestartDeliveries}),
 * so no delivery waits in `pending` for a message that does not exist, and the answer is 503
 * with `unqueued` as its message (or, when some were queued, a count of them first).
 */
export async function queueFirstAttempts(
  request: AuthedRequest,
  env: IngestEnv,
  store: TenantStoreHandle,
  messages: readonly AttemptMessage[],
  unqueued: string,
): Promise<void> {
  let queued = 0;
  let error: unknown;
  for (const chunk of sendBatchChunks(messages, jsonBytes)) {
    try {
      await env.DELIVERY_QUEUE.sendBatch(chunk.map((body) => ({ body })));
      queued += chunk.length;
    } catch (err) {
      error = err;
      break;
    }
  }
  if (error === undefined) return;

  const unsent = messages.slice(queued);
  const reason = `new round not queued: ${describeError(error)}`;
  try {
    await store.unrestartDeliveries(unsent, reason, new Date());
    request.log.log('warn', 'deliveries not queued; put back to failed', {
      queued,
      unsent: unsent.length,
      error: describeError(error),
    });
  } catch (err) {
    // Left pending with no attempt and no message: the delivery log shows them, and a later
    // recovery cannot take them (they are not failed); a manual retry cannot either.
    request.log.log('error', 'deliveries not queued and not put back; left pending', {
      queued,
      unsent: unsent.length,
      error: describeError(err),
    });
  }
  throw serviceUnavailable(
    queued === 0
      ? unqueued
      : `${queued} of the ${messages.length} deliveries were queued before the queue failed. ${unqueued}`,
    error,
  );
}
