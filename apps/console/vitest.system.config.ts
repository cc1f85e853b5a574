import { defineConfig } from 'vitest/config';

/**
 * The console's system tests, in Node: they drive the console in a real headless Chromium
 * (Debian's, through playwright-core) against the console, ingest and consumer Workers in one
 * `wrangler dev`, which the files share (test/system/system.ts): one file at a time, in one
 * process whose imports they share (isolate: false). `pnpm test:system` runs them.
 */
export default defineConfig({
  test: {
    include: ['test/system/**/*.system.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    isolate: false,
  },
});
