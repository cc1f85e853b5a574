import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One suite at a time (two cores), in one process whose imports the files share
    // (isolate: false): the suites that need no fresh state share one running system that way
    // (src/shared-system.ts); faults, outage and startup start their own.
    fileParallelism: false,
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 1_800_000,
  },
});
