import { failsNow, faultsFor, InjectedFault } from '@triggers/faults';
import type { Logger } from '@triggers/log';
import type { ConsumerEnv } from './env.ts';
import { logBatchThrown } from './log.ts';

/**
 * The fault suite's "consumer dies with a batch in hand": throws for a fraction of batches when
 * `FAULTS` asks for it, so the queue retries every message. Outside a local `ENVIRONMENT` (see
 * `faultsFor`) this does nothing, whatever `FAULTS` holds.
 */
export function failBatchIfAsked(batch: MessageBatch<unknown>, env: ConsumerEnv, log: Logger): void {
  const faults = faultsFor(env);
  if (!faults || !failsNow(faults.consumer_batch_throw)) return;
  logBatchThrown(log, batch.queue, batch.messages.length, 'injected fault: consumer batch');
  throw new InjectedFault('injected fault: consumer batch');
}
