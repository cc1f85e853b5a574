import { failsNow, InjectedFault, parseFaults } from '@triggers/faults';
import type { Logger } from '@triggers/log';
import type { ConsumerEnv } from './env.ts';
import { logBatchThrown } from './log.ts';

/**
 * The fault suite's "consumer dies with a batch in hand": throws for a fraction of batches when
 * `FAULTS` asks for it, so the queue retries every message. `FAULTS` is empty wherever this is
 * deployed, and then this does nothing.
 */
export function failBatchIfAsked(batch: MessageBatch<unknown>, env: ConsumerEnv, log: Logger): void {
  const faults = parseFaults(env.FAULTS);
  if (!faults || !failsNow(faults.consumer_batch_throw)) return;
  logBatchThrown(log, batch.queue, batch.messages.length, 'injected fault: consumer batch');
  throw new InjectedFault('injected fault: consumer batch');
}
