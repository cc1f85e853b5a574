import { defineConfig } from 'vitest/config';

/**
 * The system tier (`pnpm test:system`): the local commands against a running `wrangler dev` of
 * both Workers (startSystem), in Node. Runs for about a minute: it waits out the key cache.
 */
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
