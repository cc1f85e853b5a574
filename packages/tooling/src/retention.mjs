#!/usr/bin/env node
// @ts-check
// Runs the consumer's scheduled retention job (its cron, apps/consumer/src/retention.ts) once, on
// the local D1 of `pnpm dev`, and prints what it purged and D1's size. The cron purges what stays
// in D1: dead letters that belong to no tenant. Tenant stores purge themselves, each on its own
// Durable Object alarm, and log their own `retention` line: this command does not run them.
//
//   pnpm retention:run
//   pnpm retention:run --persist-to DIR      # another local state (as `wrangler dev --persist-to`)
//
// It starts the consumer alone under `wrangler dev --test-scheduled` on a free port, with a
// private dev registry (so it never takes messages from a running `pnpm dev`), calls its
// `/__scheduled` endpoint, waits for the run's log line and stops. Works while `pnpm dev` runs,
// and on a state `pnpm dev` never created.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { consumerConfig, migrateLocalD1, persistTo } from './local.mjs';
import { startWorkers } from './system.mjs';

const CRON = '*/5 * * * *';

const USAGE = `usage: triggers-retention [--persist-to DIR]

Runs the consumer's cron once on the local D1: purges dead letters older than RETENTION_FAILED_DAYS
and prints D1's size. Tenant stores (events, subscriptions, deliveries) purge themselves on their
own Durable Object alarm, not here (docs/operations.md#retention).`;

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { 'persist-to': { type: 'string', default: persistTo }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

// The migrations first, as `pnpm dev` applies them: a state that never ran `pnpm dev` gets an empty
// store (nothing to purge) instead of "no such table", and an older one gets the indexes the
// retention statements walk.
migrateLocalD1({ persistTo: values['persist-to'] ?? persistTo });

const registry = mkdtempSync(join(tmpdir(), 'triggers-retention-'));
const workers = await startWorkers({
  configs: [consumerConfig],
  persistTo: values['persist-to'] ?? persistTo,
  args: ['--test-scheduled'],
  // The consumer has no fetch handler: any answer means it is up.
  readyPath: '/',
  env: { WRANGLER_REGISTRY_PATH: registry },
});
let status = 0;
try {
  const response = await fetch(`${workers.url}/__scheduled?cron=${encodeURIComponent(CRON)}`);
  await response.arrayBuffer();
  // The cron's line, not a tenant store's (theirs name the tenant).
  const ofCron = (/** @type {import('./system.mjs').LogLine} */ line) => line.tenant === undefined;
  const done = (/** @type {import('./system.mjs').LogLine[]} */ logs) =>
    logs.some(
      (line) => ofCron(line) && (line.message === 'retention' || line.message === 'retention failed'),
    );
  await workers.waitForLogs(done, 60_000);
  for (const line of workers.logs.filter(
    (l) =>
      ofCron(l) && (String(l.message).startsWith('retention') || l.message === 'event store nearly full'),
  )) {
    console.log(JSON.stringify(line));
    if (line.level === 'error') status = 1;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  console.error(workers.output().slice(-4_000));
  status = 1;
} finally {
  await workers.stop();
  rmSync(registry, { recursive: true, force: true });
}
process.exit(status);
