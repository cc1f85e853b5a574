import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * The store's queries run inside workerd: the tenant store's (events, subscriptions, deliveries,
 * retention) in a tenant's Durable Object, on its own SQLite through src/sqlite-d1.ts, as project
 * `object`; what still runs on D1 (dead letters, the adapter's answers compared with D1's) as
 * project `d1`, against a real local D1 migrated with the files wrangler applies (by
 * @triggers/test-support/apply-migrations).
 */
const D1_SUITES = ['sqlite-d1', 'dead-letters'].map((name) => `test/${name}.test.ts`);

export default defineConfig(async () => {
  const migrations = await readD1Migrations(new URL('./migrations', import.meta.url).pathname);
  const project = (name: 'd1' | 'object', include: string[], exclude: string[] = []) => ({
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
      name,
      include,
      exclude,
      setupFiles: ['@triggers/test-support/apply-migrations'],
      // Timeouts catch a hang, not slowness: a 100-event batch through workerd can pass 5 s on a
      // busy 2-core machine. Speed is the benchmark's business (pnpm bench).
      testTimeout: 30_000,
    },
  });
  return {
    test: { projects: [project('d1', D1_SUITES), project('object', ['test/**/*.test.ts'], D1_SUITES)] },
  };
});
