import { defineConfig } from 'vitest/config';

/**
 * The console's system tests, in Node: they start the console, ingest and consumer Workers in one
 * `wrangler dev` (the harness of @triggers/tooling/system) and drive the console in a real
 * headless Chromium (Debian's, through playwright-core). `pnpm test:system` runs them.
 */
export default defineConfig({
  test: {
    include: ['test/system/**/*.system.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
