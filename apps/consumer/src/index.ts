import { env } from 'cloudflare:workers';
import { DELIVERY_QUEUE, EVENT_DLQ, isEventQueue } from '@triggers/event-schema';
import { faultsFor } from '@triggers/faults';
import { createLogger, parseLogLevel } from '@triggers/log';
import { processDeliveryBatch } from './delivery/dispatch.ts';
import { processDeadLetterBatch } from './dlq-batch.ts';
import type { ConsumerEnv } from './env.ts';
import { processEventBatch } from './event-batch.ts';
import { failBatchIfAsked } from './faults.ts';
import { handleUnpacked } from './packed.ts';
import { runRetention } from './retention.ts';
import { settingsOf } from './settings.ts';

// Read once as the module loads: a malformed FAULTS stops a local Worker from starting, with a
// message saying what is wrong, instead of failing every batch (deployed, it is not read).
faultsFor(env);
// Likewise every var the Worker takes (settings.ts): a deploy with RETENTION_DELIVERED_DAYS = 0
// or an unreadable DELIVERY_SCHEDULE fails at startup, naming the var, instead of running on it.
settingsOf(env);

export { TenantStore } from './tenant-store.ts';

export default {
  // Three kinds of queue, three kinds of message (QueuedEvent, a DLQ message,
  // DeliveryQueueMessage): each handler validates its bodies, so they arrive as `unknown`. Every
  // shard of event-queue (EVENT_QUEUES) is read the same way. A message packing several events
  // (PackedEvents) reaches event-queue's and event-dlq's handlers as its events (packed.ts).
  async queue(batch, env) {
    const log = createLogger({}, parseLogLevel(env.LOG_LEVEL));
    if (isEventQueue(batch.queue)) {
      failBatchIfAsked(batch, env, log);
      return handleUnpacked(batch, (events) => processEventBatch(events, env, log));
    }
    if (batch.queue === EVENT_DLQ) {
      return handleUnpacked(batch, (letters) => processDeadLetterBatch(letters, env, log));
    }
    if (batch.queue === DELIVERY_QUEUE) return processDeliveryBatch(batch, env, log);
    // A queue this Worker was not written for: throwing retries the batch, and says so in the logs.
    throw new Error(`triggers-consumer does not consume queue "${batch.queue}"`);
  },
  // The retention of D1's dead_letters (src/retention.ts), on the cron of wrangler.toml;
  // `pnpm retention:run` locally. Each tenant's store purges itself on its alarm (tenant-store.ts).
  async scheduled(controller, env) {
    const log = createLogger({}, parseLogLevel(env.LOG_LEVEL));
    await runRetention(env, log, new Date(controller.scheduledTime));
  },
} satisfies ExportedHandler<ConsumerEnv, unknown>;
