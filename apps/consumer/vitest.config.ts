import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests in workerd, with the Worker's own wrangler.toml: its tenant store objects (the
 * TenantStore class of src/index.ts, SQLite-backed), its D1 for `dead_letters` (migrated by
 * @triggers/test-support/apply-migrations with the event store's migrations, as wrangler applies
 * them) and its queues, real and local. `service_binding_extra_handlers` lets a test call the
 * Worker's `queue` handler through `exports.default.queue()`, which reports acks and retries with
 * their delays.
 * The DLQ's batch timeout is shortened here, not in wrangler.toml, so that what the handler
 * sends to `event-dlq` is recorded within a test.
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
          queueConsumers: { 'event-dlq': { maxBatchTimeout: 0.05 } },
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
