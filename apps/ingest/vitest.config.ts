import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * A stand-in consumer of the real local `event-queue`: it copies every message it receives to
 * the `QUEUE_SPY` KV namespace (key = event_id) and acks it, so tests can see what actually went
 * through the queue. It is test wiring, not a mock: the messages really crossed the queue.
 */
const queueSpy = /* js */ `
export default {
  async queue(batch, env) {
    for (const message of batch.messages) {
      await env.QUEUE_SPY.put(message.body.event_id, JSON.stringify({ body: message.body, attempts: message.attempts }));
      message.ack();
    }
  },
};`;

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        kvNamespaces: { QUEUE_SPY: 'queue-spy' },
        workers: [
          {
            name: 'queue-spy',
            modules: true,
            script: queueSpy,
            compatibilityDate: '2026-11-01',
            kvNamespaces: { QUEUE_SPY: 'queue-spy' },
            queueConsumers: { 'event-queue': { maxBatchTimeout: 0.05 } },
          },
        ],
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    // Log lines of passing tests are noise; a failing test still shows its own.
    silent: 'passed-only',
  },
});
