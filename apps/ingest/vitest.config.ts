import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { EVENT_QUEUES } from '@triggers/event-schema';
import { environments, wranglerConfig } from '@triggers/tooling/wrangler-config';
import { defineConfig } from 'vitest/config';

/**
 * A stand-in consumer of the real local `event-queue` and its shards: it copies every event it
 * receives to the `QUEUE_SPY` KV namespace (key = event_id) with the message that carried it (its
 * queue, its id, and how many events it packed: 1 for a bare event) and how many copies of the
 * event have come through so far, and acks it, so tests can see what actually went through the
 * queues, and in how many messages. It is test wiring, not a mock: the messages really crossed the
 * queues.
 */
const queueSpy = /* js */ `
export default {
  async queue(batch, env) {
    for (const message of batch.messages) {
      const events = Array.isArray(message.body.events) ? message.body.events : [message.body];
      for (const event of events) {
        const before = await env.QUEUE_SPY.get(event.event_id, 'json');
        const seen = {
          body: event,
          queue: batch.queue,
          attempts: message.attempts,
          message_id: message.id,
          packed: events.length,
          copies: (before?.copies ?? 0) + 1,
        };
        await env.QUEUE_SPY.put(event.event_id, JSON.stringify(seen));
      }
      message.ack();
    }
  },
};`;

/**
 * The test runtime's rate limit: low enough that a test reaches it in a few requests, high enough
 * that no other test, each with its own API key, comes near it. Overrides both the binding and the
 * vars that state it, as another environment would.
 */
const TEST_RATE_LIMIT = { limit: 100, period: 60 } as const;

/**
 * Budgets lowered in the test runtime so a test reaches them below the request limit above: 120
 * calls of 100 events (1,200 events) and 20 inbox pages per minute and key. The other limits keep
 * wrangler.toml's values, which their tests reach as they are. A 429 still states LIMITS'
 * production figures.
 */
const TEST_EVENT_LIMIT = { limit: 12, period: 60 } as const;
const TEST_INBOX_LIMIT = { limit: 20, period: 60 } as const;

/**
 * The event store's D1 (the `DB` binding of wrangler.toml, local to the test runtime: dead letters
 * only) is migrated before each test file by @triggers/test-support/apply-migrations, with the files
 * wrangler applies.
 *
 * The tenant stores: wrangler.toml binds TENANTS to the TenantStore class of the consumer Worker
 * (`script_name`), which does not run here. The test runtime's main module (test/worker.ts) is the
 * ingest Worker plus that class, and `durableObjects` below binds TENANTS to it, SQLite-backed as
 * deployed; it overrides wrangler.toml's binding (a test checks the objects are this runtime's).
 */
export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      main: './test/worker.ts',
      miniflare: {
        durableObjects: { TENANTS: { className: 'TenantStore', useSQLite: true } },
        kvNamespaces: { QUEUE_SPY: 'queue-spy' },
        ratelimits: {
          RATE_LIMITER: { namespace_id: '1001', simple: TEST_RATE_LIMIT },
          EVENT_LIMITER: { namespace_id: '1003', simple: TEST_EVENT_LIMIT },
          INBOX_LIMITER: { namespace_id: '1004', simple: TEST_INBOX_LIMIT },
        },
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(
            new URL('../../packages/event-store/migrations', import.meta.url).pathname,
          ),
          // What wrangler.toml's environments declare, for the test that LIMITS restates them.
          WRANGLER_RATELIMITS: Object.fromEntries(
            environments(wranglerConfig('ingest')).map(([name, section]) => [
              name,
              (section.ratelimits ?? []).map(({ name, simple }) => ({ name, simple: { ...simple } })),
            ]),
          ),
          // wrangler.toml's top level is production; the test runtime is local development, as
          // under `pnpm dev` (local webhook URLs accepted, FAULTS honoured).
          ENVIRONMENT: 'development',
          RATE_LIMIT_REQUESTS: TEST_RATE_LIMIT.limit,
          RATE_LIMIT_PERIOD_SECONDS: TEST_RATE_LIMIT.period,
          // The secret wrangler.toml's [secrets] requires; made up per run, as `pnpm dev` does.
          OPERATOR_TOKEN: `op_test_${crypto.randomUUID().replaceAll('-', '')}`,
        },
        workers: [
          {
            name: 'queue-spy',
            modules: true,
            script: queueSpy,
            compatibilityDate: '2026-11-01',
            kvNamespaces: { QUEUE_SPY: 'queue-spy' },
            queueConsumers: Object.fromEntries(
              EVENT_QUEUES.map((queue) => [queue, { maxBatchTimeout: 0.05 }]),
            ),
          },
        ],
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['@triggers/test-support/apply-migrations'],
    // Timeouts catch a hang, not slowness: a 100-event batch through workerd can pass 5 s on a
    // busy 2-core machine. Speed is the benchmark's business (pnpm bench).
    testTimeout: 30_000,
    // Log lines of passing tests are noise; a failing test still shows its own.
    silent: 'passed-only' as const,
  },
}));
