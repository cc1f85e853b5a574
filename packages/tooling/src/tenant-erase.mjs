#!/usr/bin/env node
// @ts-check
// Erases one tenant's store whole (its events, subscriptions, deliveries and attempts), its rows
// still in the old D1 tables (which `pnpm store:migrate` would bring back) and its row of the
// tenant register (`pnpm tenants:list`), through the ingest Worker's
// `POST /operator/tenants/{id}/erase`, and prints what each held:
//
//   pnpm tenant:erase key_abc                               # pnpm dev's Workers
//   pnpm tenant:erase key_abc --url https://ingest.example  # deployed; OPERATOR_TOKEN=... in the environment
//
// For a key that is gone for good: revoke it first (`pnpm key:revoke --id key_abc`), or its next
// events fill a new, empty store (docs/operations.md#erasing-a-tenant).
import { parseArgs } from 'node:util';
import { operatorCall, operatorTarget } from './operator.mjs';

const USAGE = 'usage: triggers-tenant-erase API_KEY_ID [--url URL]';

/** @type {string | undefined} */
let tenant;
/** @type {string | undefined} */
let url;
try {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: { url: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new Error('Give one API key id.');
  [tenant] = positionals;
  url = values.url;
} catch (err) {
  console.error(`${err instanceof Error ? err.message : err}\n${USAGE}`);
  process.exit(2);
}

try {
  const answer = await operatorCall(
    operatorTarget(url),
    'POST',
    `/operator/tenants/${encodeURIComponent(tenant ?? '')}/erase`,
  );
  /** @param {Record<string, number>} counts */
  const list = (counts) =>
    Object.entries(counts)
      .map(([table, n]) => `${n} ${table}`)
      .join(', ');
  console.log(`Erased the store of ${answer.tenant}; it held ${list(answer.erased)}.`);
  console.log(`Deleted its rows from the old D1 tables: ${list(answer.erased_from_d1)}.`);
  if (answer.erased_from_register) console.log('Removed it from the tenant register (pnpm tenants:list).');
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
