/**
 * The vitest setup file of every workerd test runtime that has the event store's D1: it applies
 * `TEST_MIGRATIONS` (the migrations the test config read with `readD1Migrations`, the files
 * wrangler applies) to `DB` before each test file. Migrations already applied are skipped.
 *
 * @example
 * // vitest.config.ts
 * test: { setupFiles: ['@triggers/test-support/apply-migrations'] }
 */
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
