#!/usr/bin/env node
// The events in the local D1 of `pnpm dev` (no payloads), newest first:
//
//   pnpm events:list                          # the last 20 events, counts by status, dead letters
//   pnpm events:list --status failed --limit 50
//   pnpm events:list --key key_local_test
//
// Reads through `wrangler d1 execute --local`, so it works while `pnpm dev` runs.
import { parseArgs } from 'node:util';
import { recentDeadLettersSql, recentEventsSql, statusCountsSql } from '@triggers/event-store';
import { queryLocalD1 } from './local.mjs';

const { values } = parseArgs({
  // `pnpm events:list -- --status failed` passes the `--` along.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    status: { type: 'string' },
    key: { type: 'string' },
    limit: { type: 'string', default: '20' },
  },
});
const filter = { status: values.status, apiKeyId: values.key };
const limit = Number(values.limit);

let counts, events, deadLetters;
try {
  [counts, events, deadLetters] = queryLocalD1([
    statusCountsSql(filter),
    recentEventsSql(filter, limit),
    recentDeadLettersSql(limit),
  ]);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  console.error('Is the local D1 migrated? `pnpm dev` applies the migrations when it starts.');
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
