import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests, in Node: they drive both Workers in one `wrangler dev` runtime over HTTP, one
 * runtime for all the files (sharedSystem, @triggers/tooling/system; each file with its own API
 * key). Separate from the workerd tests (vitest.config.ts): this is the system tier,
 * `pnpm test:system`.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 90_000,
    hookTimeout: 150_000,
    // One file at a time, in one process whose imports the files share (isolate: false), so that
    // they share one running system too; nothing to gain from parallel workers on a small machine.
    fileParallelism: false,
    isolate: false,
  },
});
