import { defineConfig } from 'vitest/config';

/** The config-agreement tests read files, so they run in Node, not workerd. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
