import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests, in Node: they start both Workers in one `wrangler dev` runtime
 * (startSystem, @triggers/tooling/system) and drive it over HTTP. Separate from the workerd tests
 * (vitest.config.ts): this is the system tier, `pnpm test:system`.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 90_000,
    hookTimeout: 150_000,
    // One file, one runtime: nothing to gain from parallel workers on a small machine.
    fileParallelism: false,
  },
});
