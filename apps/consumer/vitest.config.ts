import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { EVENT_QUEUE_CONSUMER, EVENT_QUEUES } from '@triggers/event-schema';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests in workerd, with the Worker's own wrangler.toml: its tenant store objects (the
 * TenantStore class of src/index.ts, SQLite-backed), its D1 for `dead_letters` (migrated by
 * @triggers/test-support/apply-migrations with the event store's migrations, as wrangler applies
 * them) and its queues, real and local. `service_binding_extra_handlers` lets a test call the
 * Worker's `queue` handler through `exports.default.queue()`, which reports acks and retries with
 * their delays.
 * The batch timeouts of the DLQ and of event-queue's shards are shortened here, not in
 * wrangler.toml, so that what reaches those queues is handled within a test.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(
    new URL('../../packages/event-store/migrations', import.meta.url).pathname,
  );
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          compatibilityFlags: ['service_binding_extra_handlers'],
          // wrangler.toml's top level is production; the test runtime is local development, as
          // under `pnpm dev` (local webhook URLs delivered to, FAULTS honoured).
          bindings: { TEST_MIGRATIONS: migrations, ENVIRONMENT: 'development' },
          // The optional archive bucket, local R2 (tests without it pass ARCHIVE: undefined).
          r2Buckets: ['ARCHIVE'],
          // Producers to two shards of event-queue, for the test that sends through both (the
          // Worker itself sends only operational events, to the first); their batches close at
          // once, as event-dlq's.
          queueProducers: {
            EVENT_QUEUE: { queueName: 'event-queue' },
            EVENT_QUEUE_1: { queueName: 'event-queue-1' },
          },
          queueConsumers: {
            'event-dlq': { maxBatchTimeout: 0.05 },
            // Each entry replaces wrangler.toml's for its queue: the other settings as deployed.
            ...Object.fromEntries(
              EVENT_QUEUES.map((queue) => [
                queue,
                {
                  maxBatchSize: EVENT_QUEUE_CONSUMER.maxBatchSize,
                  maxBatchTimeout: 0.05,
                  maxRetries: EVENT_QUEUE_CONSUMER.maxRetries,
                  deadLetterQueue: EVENT_QUEUE_CONSUMER.deadLetterQueue,
                },
              ]),
            ),
          },
        },
      }),
    ],
    test: {
      include: ['test/**/*.test.ts'],
      exclude: ['test/e2e/**'],
      setupFiles: ['@triggers/test-support/apply-migrations'],
      // A real HTTP receiver for the dispatcher's tests (test/node/receiver.ts), in Node.
      globalSetup: ['./test/node/receiver.ts'],
      // Timeouts catch a hang, not slowness: a 100-event batch through workerd can pass 5 s on a
      // busy 2-core machine. Speed is the benchmark's business (pnpm bench).
      testTimeout: 30_000,
      // Log lines of passing tests are noise; a failing test still shows its own.
      silent: 'passed-only' as const,
    },
  };
});
