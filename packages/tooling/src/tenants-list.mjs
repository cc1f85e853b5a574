#!/usr/bin/env node
// @ts-check
// Lists the tenant register (every tenant's store size and event count, as each store last
// reported them) through the ingest Worker's `GET /operator/tenants`, largest tenant (its stores
// added up) first, one page per run, with the totals of all tenants:
//
//   pnpm tenants:list                               # pnpm dev's Workers, the 50 largest
//   pnpm tenants:list --limit 200 --cursor CURSOR   # the next page, as the previous run printed
//   pnpm tenants:list --url https://ingest.example  # deployed; OPERATOR_TOKEN=... in the environment
//
// What the columns mean and how fresh they are: docs/operations.md#the-tenant-register.
import { parseArgs } from 'node:util';
import { operatorCall, operatorTarget } from './operator.mjs';

const USAGE = 'usage: triggers-tenants-list [--url URL] [--limit 1-1000] [--cursor CURSOR]';

/** @type {{ url?: string, limit?: string, cursor?: string }} */
let values;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: { url: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  }));
} catch (err) {
  console.error(`${err instanceof Error ? err.message : err}\n${USAGE}`);
  process.exit(2);
}

const query = new URLSearchParams({ limit: values.limit ?? '50' });
if (values.cursor !== undefined) query.set('cursor', values.cursor);

try {
  const page = await operatorCall(operatorTarget(values.url), 'GET', `/operator/tenants?${query}`);
  const { totals } = page;
  console.log(
    `Tenants: ${totals.tenants}; bytes: ${totals.bytes}; events: ${totals.events} (as each store last reported).`,
  );
  const { warn_bytes, full_bytes } = page.thresholds;
  console.log(`state: warning from ${warn_bytes} bytes, full (new events refused) from ${full_bytes}.`);
  const header = ['api_key_id', 'state', 'bytes', 'events', 'stores', 'counted_at', 'updated_at'];
  /** @type {string[][]} */
  const rows = [
    header,
    ...page.tenants.map(
      /** @param {Record<string, string | number>} t */
      (t) => header.map((column) => String(t[column])),
    ),
  ];
  if (page.tenants.length > 0) {
    const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
    for (const row of rows)
      console.log(
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      );
  }
  if (page.next_cursor !== null)
    console.log(`More: pnpm tenants:list --limit ${query.get('limit')} --cursor ${page.next_cursor}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
