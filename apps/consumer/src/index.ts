import { EVENT_DLQ, EVENT_QUEUE, type QueuedEvent } from '@triggers/event-schema';
import { processDeadLetterBatch } from './dlq-batch.ts';
import type { ConsumerEnv } from './env.ts';
import { processEventBatch } from './event-batch.ts';
import { failBatchIfAsked } from './faults.ts';

export default {
  // Bodies are validated, never trusted: QueuedEvent is what a well-formed one carries.
  async queue(batch, env) {
    if (batch.queue === EVENT_QUEUE) {
      failBatchIfAsked(batch, env);
      return processEventBatch(batch, env);
    }
    if (batch.queue === EVENT_DLQ) return processDeadLetterBatch(batch, env);
    // A queue this Worker was not written for: throwing retries the batch, and says so in the logs.
    throw new Error(`triggers-consumer does not consume queue "${batch.queue}"`);
  },
} satisfies ExportedHandler<ConsumerEnv, QueuedEvent>;
