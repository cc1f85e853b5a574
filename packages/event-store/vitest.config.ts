import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * The store's queries run inside workerd against a real local D1, migrated with the same files
 * wrangler applies (by @triggers/test-support/apply-migrations), and again against a tenant's
 * Durable Object (its own SQLite, through src/sqlite-d1.ts): the query suites run once per
 * backend, as projects `d1` and `object` (test/backends.ts picks the database from
 * `STORE_BACKEND`). The other files (the adapter, the object itself) run once, in `d1`.
 */
const QUERY_SUITES = ['backends', 'store', 'inbox', 'webhooks', 'stats', 'retention', 'type-pattern'].map(
  (name) => `test/${name}.test.ts`,
);

export default defineConfig(async () => {
  const migrations = await readD1Migrations(new URL('./migrations', import.meta.url).pathname);
  const project = (backend: 'd1' | 'object', include: string[]) => ({
    plugins: [
      cloudflareTest({
        main: './test/worker.ts',
        miniflare: {
          compatibilityDate: '2026-11-01',
          d1Databases: ['DB'],
          // Tenant stores: the TenantStore class of test/worker.ts, SQLite-backed as deployed.
          durableObjects: { TENANTS: { className: 'TenantStore', useSQLite: true } },
          bindings: { TEST_MIGRATIONS: migrations, STORE_BACKEND: backend },
        },
      }),
    ],
    test: {
      name: backend,
      include,
      setupFiles: ['@triggers/test-support/apply-migrations'],
      // Timeouts catch a hang, not slowness: a 100-event batch through workerd can pass 5 s on a
      // busy 2-core machine. Speed is the benchmark's business (pnpm bench).
      testTimeout: 30_000,
    },
  });
  return {
    test: { projects: [project('d1', ['test/**/*.test.ts']), project('object', QUERY_SUITES)] },
  };
});
