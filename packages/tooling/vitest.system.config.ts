import { defineConfig } from 'vitest/config';

/**
 * The local commands against real local state, in Node: against temporary `--persist-to` folders
 * (key.test.ts, events.test.ts) and against a running `wrangler dev` (key-revocation.test.ts).
 * Every wrangler call starts a local runtime (seconds each), so all of this is the system tier:
 * `pnpm test:system`.
 */
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    environment: 'node',
    // One wrangler at a time: the suites share a small machine with the rest of the system tier.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
