#!/usr/bin/env node
// @ts-check
// The events of `pnpm dev`'s local state (no payloads), newest first:
//
//   pnpm events:list                          # the last 20 events, counts by status, dead letters
//   pnpm events:list --status failed --limit 50
//   pnpm events:list --key key_local_test
//   pnpm events:list --persist-to DIR         # another local state (as `wrangler dev --persist-to`)
//
// Events live in the tenant stores (one SQLite file per tenant object, read here with node:sqlite,
// tenants.mjs); dead letters, which belong to no tenant, in the local D1 (read through
// `wrangler d1 execute --local`). Both reads work while `pnpm dev` runs.
import { parseArgs } from 'node:util';
import { recentDeadLettersSql, recentEventsSql, statusCountsSql } from '@triggers/event-store/inspect';
import { persistTo, queryLocalD1 } from './local.mjs';
import { queryTenantStores, tenantObjects } from './tenants.mjs';

const USAGE =
  'usage: triggers-events [--status pending|delivered|failed] [--key API_KEY_ID] [--limit 1-1000] [--persist-to DIR]';

/** @type {string[]} */
let statements;
/** @type {string} */
let deadLettersSql;
/** @type {string} */
let stateDir;
try {
  const { values } = parseArgs({
    // `pnpm events:list -- --status failed` passes the `--` along.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      status: { type: 'string' },
      key: { type: 'string' },
      limit: { type: 'string', default: '20' },
      'persist-to': { type: 'string', default: persistTo },
    },
  });
  stateDir = values['persist-to'];
  // The SQL builders validate the status and the limit; a cast only lets the string through to them.
  const status = /** @type {import('@triggers/event-store/inspect').EventFilter['status']} */ (values.status);
  const filter = { status, apiKeyId: values.key };
  const limit = Number(values.limit);
  statements = [statusCountsSql(filter), recentEventsSql(filter, limit)];
  deadLettersSql = recentDeadLettersSql(limit);
} catch (err) {
  console.error(`${err instanceof Error ? err.message : err}\n${USAGE}`);
  process.exit(2);
}

/** @type {import('./local.mjs').Row[]} */
let deadLetters = [];
/** @type {import('./local.mjs').Row[]} */
let oldEvents = [];
try {
  // The old shared store's events, still in D1 until `pnpm store:migrate` moves them.
  [deadLetters = [], oldEvents = []] = queryLocalD1([deadLettersSql, 'SELECT count(*) AS n FROM events'], {
    persistTo: stateDir,
  });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  if (/no such table/.test(message)) {
    console.error(
      `The local D1 in ${stateDir} has no event store yet: \`pnpm dev\` creates it when it starts.`,
    );
  } else {
    console.error(message);
  }
  process.exit(1);
}
const [counts = [], events = []] = queryTenantStores(statements, { persistTo: stateDir });
console.log(`Events by status (tenant stores: ${tenantObjects({ persistTo: stateDir }).size}):`);
console.table(counts);
console.log(`Newest ${events.length} events:`);
console.table(events);
if (deadLetters.length > 0) {
  console.log('Dead letters that were not valid events:');
  console.table(deadLetters);
}
const unmigrated = Number(oldEvents[0]?.n ?? 0);
if (unmigrated > 0) {
  console.log(
    `The old shared store (D1) still holds ${unmigrated} events: \`pnpm store:migrate\` moves them to the tenant stores.`,
  );
}
