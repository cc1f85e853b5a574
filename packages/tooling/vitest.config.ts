import { defineConfig } from 'vitest/config';

/**
 * The fast tier (`pnpm test`): the local commands against temporary local state, in Node (they
 * call the real wrangler). The system tier (a running `wrangler dev`) is vitest.system.config.ts.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/system/**'],
    environment: 'node',
    // Each wrangler call starts a local runtime: seconds each, more on a busy machine.
    testTimeout: 180_000,
  },
});
