#!/usr/bin/env node
// @ts-check
// The events in the local D1 of `pnpm dev` (no payloads), newest first:
//
//   pnpm events:list                          # the last 20 events, counts by status, dead letters
//   pnpm events:list --status failed --limit 50
//   pnpm events:list --key key_local_test
//   pnpm events:list --persist-to DIR         # another local state (as `wrangler dev --persist-to`)
//
// Reads through `wrangler d1 execute --local`, so it works while `pnpm dev` runs.
import { parseArgs } from 'node:util';
import { recentDeadLettersSql, recentEventsSql, statusCountsSql } from '@triggers/event-store';
import { persistTo, queryLocalD1 } from './local.mjs';

const USAGE =
  'usage: triggers-events [--status pending|delivered|failed] [--key API_KEY_ID] [--limit 1-1000] [--persist-to DIR]';

/** @type {string[]} */
let statements;
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
  const status = /** @type {import('@triggers/event-store').EventFilter['status']} */ (values.status);
  const filter = { status, apiKeyId: values.key };
  const limit = Number(values.limit);
  statements = [statusCountsSql(filter), recentEventsSql(filter, limit), recentDeadLettersSql(limit)];
} catch (err) {
  console.error(`${err instanceof Error ? err.message : err}\n${USAGE}`);
  process.exit(2);
}

/** @type {import('./local.mjs').Row[]} */
let counts = [];
/** @type {import('./local.mjs').Row[]} */
let events = [];
/** @type {import('./local.mjs').Row[]} */
let deadLetters = [];
try {
  [counts = [], events = [], deadLetters = []] = queryLocalD1(statements, { persistTo: stateDir });
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
console.log('Events by status:');
console.table(counts);
console.log(`Newest ${events.length} events:`);
console.table(events);
if (deadLetters.length > 0) {
  console.log('Dead letters that were not valid events:');
  console.table(deadLetters);
}
