#!/usr/bin/env node
// @ts-check
// Moves the old shared D1 store (events, subscriptions, deliveries and their attempts) into the
// tenant stores, one page per call of the ingest Worker's `POST /operator/migrate`, then checks
// the counts with `GET /operator/migrate/verify` and prints them:
//
//   pnpm store:migrate                               # pnpm dev's Workers (http://localhost:8787)
//   pnpm store:migrate --url https://ingest.example  # a deployed Worker; OPERATOR_TOKEN=... in the environment
//   pnpm store:migrate --cursor CURSOR --limit 200   # resume where a run stopped, smaller pages
//
// Resumable and idempotent: rows are imported with INSERT OR IGNORE, so a second run (or a run
// restarted from the beginning) reads everything again and writes nothing. Exits 1 when a
// tenant's store holds fewer rows than D1 (docs/deploying.md#moving-to-tenant-stores).
import { parseArgs } from 'node:util';
import { operatorCall, operatorTarget } from './operator.mjs';

const USAGE = 'usage: triggers-store-migrate [--url URL] [--limit 1-1000] [--cursor CURSOR]';

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
const limit = values.limit === undefined ? undefined : Number(values.limit);

/** @typedef {{ events: number, subscriptions: number, deliveries: number, delivery_attempts?: number }} Counts */
/** @param {Counts} into @param {Counts} counts */
const add = (into, counts) => {
  for (const [table, n] of Object.entries(counts))
    into[/** @type {keyof Counts} */ (table)] = (into[/** @type {keyof Counts} */ (table)] ?? 0) + n;
};

let cursor = values.cursor;
try {
  const target = operatorTarget(values.url);
  /** @type {Counts} */
  const read = { events: 0, subscriptions: 0, deliveries: 0, delivery_attempts: 0 };
  /** @type {Counts} */
  const moved = { events: 0, subscriptions: 0, deliveries: 0, delivery_attempts: 0 };
  let pages = 0;
  for (;;) {
    const page = await operatorCall(target, 'POST', '/operator/migrate', { cursor, limit });
    add(read, page.read);
    add(moved, page.moved);
    pages++;
    if (page.next_cursor === null) break;
    cursor = page.next_cursor;
    if (pages % 20 === 0) console.log(`… ${pages} pages, ${read.events} events read (cursor ${cursor})`);
  }
  console.log(`Migrated in ${pages} pages.`);
  console.log(`Read from D1:  ${describe(read)}`);
  console.log(
    `Written now:   ${describe(moved)}${moved.events + moved.subscriptions === 0 ? ' (nothing left to move)' : ''}`,
  );

  /** @type {Counts} */
  const d1 = { events: 0, subscriptions: 0, deliveries: 0 };
  /** @type {Counts} */
  const store = { events: 0, subscriptions: 0, deliveries: 0 };
  /** @type {Array<{ tenant: string, d1: Counts, store: Counts }>} */
  const mismatches = [];
  let tenants = 0;
  /** @type {string | null} */
  let after = '';
  while (after !== null) {
    const page = await operatorCall(
      target,
      'GET',
      `/operator/migrate/verify?after=${encodeURIComponent(after)}`,
    );
    tenants += page.tenants;
    add(d1, page.d1);
    add(store, page.store);
    mismatches.push(...page.mismatches);
    after = page.next_after;
  }
  console.log(`Verified ${tenants} tenants.`);
  console.log(`In D1:         ${describe(d1)}`);
  console.log(`Tenant stores: ${describe(store)}`);
  if (mismatches.length > 0) {
    console.error(`${mismatches.length} tenants hold fewer rows in their store than in D1:`);
    console.table(
      mismatches.map(({ tenant, d1: old, store: now }) => ({
        tenant,
        ...prefixed('d1_', old),
        ...prefixed('store_', now),
      })),
    );
    process.exit(1);
  }
  console.log('Every tenant store holds at least what D1 holds.');
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  if (cursor !== undefined) console.error(`Resume with: pnpm store:migrate --cursor ${cursor}`);
  process.exit(1);
}

/** @param {Counts} counts */
function describe(counts) {
  return Object.entries(counts)
    .map(([table, n]) => `${n} ${table}`)
    .join(', ');
}

/** @param {string} prefix @param {Counts} counts */
function prefixed(prefix, counts) {
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [`${prefix}${k}`, n]));
}
