import { defineConfig } from 'vitest/config';

/**
 * The fast tier of the tooling, in Node, no server started: the apps' committed wrangler.toml
 * files against the shared packages and against what `wrangler deploy --dry-run` would upload,
 * and the npm settings bootstrap.mjs hands down. The local commands' tests are the system tier
 * (vitest.system.config.ts).
 */
export default defineConfig({
  test: {
    include: ['test/*.test.ts'],
    environment: 'node',
  },
});
