import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * The store's queries run against a real local D1 inside workerd, migrated with the same files
 * wrangler applies (by @triggers/test-support/apply-migrations).
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(new URL('./migrations', import.meta.url).pathname);
  return {
    plugins: [
      cloudflareTest({
        main: './test/worker.ts',
        miniflare: {
          compatibilityDate: '2026-11-01',
          d1Databases: ['DB'],
          // Tenant stores: the TenantStore class of test/worker.ts, SQLite-backed as deployed.
          durableObjects: { TENANTS: { className: 'TenantStore', useSQLite: true } },
          bindings: { TEST_MIGRATIONS: migrations },
        },
      }),
    ],
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: ['@triggers/test-support/apply-migrations'],
      // Timeouts catch a hang, not slowness: a 100-event batch through workerd can pass 5 s on a
      // busy 2-core machine. Speed is the benchmark's business (pnpm bench).
      testTimeout: 30_000,
    },
  };
});
