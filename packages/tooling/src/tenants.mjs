// @ts-check
// The tenant stores in local state: one SQLite file per tenant object, where `wrangler dev`
// persists the consumer's TenantStore Durable Objects. Read with node:sqlite (Node >= 22.5; the
// workspace pins Node 24), read only, so it works while `pnpm dev` or a harness runs.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  addDays,
  DAY_TABLES_SQL,
  dayOf,
  dayTable,
  eventsTableSql,
  eventsViewSql,
  tableDay,
} from '@triggers/event-store/partitions';
import { MIGRATIONS } from '@triggers/event-store/schema';
import { persistTo } from './local.mjs';

/** @typedef {import('./local.mjs').Row} Row */

/**
 * Where `wrangler dev --persist-to <stateDir>` keeps the tenant objects: miniflare names the
 * folder `<script>-<class>` (the consumer Worker hosts the class), a file `<object id>.sqlite` each.
 * @param {string} [stateDir]
 */
export const tenantStoreDir = (stateDir = persistTo) =>
  join(stateDir, 'v3', 'do', 'triggers-consumer-TenantStore');

/**
 * The tables of a tenant's data (the rest of its file is the object's own bookkeeping). `events`
 * is a view in the object, over its day tables and kept_events (event-store's partitions.ts):
 * read as one table here.
 */
export const TENANT_TABLES = /** @type {const} */ ([
  'events',
  'subscriptions',
  'deliveries',
  'delivery_attempts',
]);

/**
 * How long a statement waits for the running object's write lock before SQLite answers "database
 * is locked": the object holds it for the length of one of its transactions, never for long.
 */
const BUSY_TIMEOUT_MS = 15_000;

/**
 * @param {string} file
 * @returns {DatabaseSync}
 */
const openReadOnly = (file) => new DatabaseSync(file, { readOnly: true, timeout: BUSY_TIMEOUT_MS });

/** node:sqlite answers rows without a prototype; callers compare plain objects. */
const plain = (/** @type {Record<string, unknown>} */ row) => ({ ...row });

/**
 * Every tenant object of the local state, tenant id (its API key id) to its SQLite file: the
 * tenant its `store_owner` table names. Objects never called yet hold no tenant and are left out.
 * One file per tenant: a tenant's eras (a store past `STORE_SPLIT_BYTES`, 6 GB, docs/scaling.md)
 * name the same tenant, and only one of its files is kept; local state never holds one that large.
 * @param {{ persistTo?: string }} [options]
 * @returns {Map<string, string>}
 */
export function tenantObjects({ persistTo: stateDir = persistTo } = {}) {
  const dir = tenantStoreDir(stateDir);
  /** @type {Map<string, string>} */
  const tenants = new Map();
  if (!existsSync(dir)) return tenants;
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.sqlite') || name === 'metadata.sqlite') continue;
    const file = join(dir, name);
    const db = openReadOnly(file);
    try {
      const owned = db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_owner'")
        .get();
      const row = owned ? db.prepare('SELECT tenant FROM store_owner').get() : undefined;
      if (row && typeof row.tenant === 'string') tenants.set(row.tenant, file);
    } finally {
      db.close();
    }
  }
  return tenants;
}

/**
 * Runs one SQL statement on the store of `tenant` (read only) and answers its rows; no rows when
 * the tenant has no store yet (nothing was ever stored for it).
 * @param {string} tenant
 * @param {string} sql
 * @param {Array<string | number | null>} [params]
 * @param {{ persistTo?: string }} [options]
 * @returns {Row[]}
 */
export function tenantQuery(tenant, sql, params = [], options = {}) {
  const file = tenantObjects(options).get(tenant);
  if (file === undefined) return [];
  const db = openReadOnly(file);
  try {
    return db
      .prepare(sql)
      .all(...params)
      .map(plain);
  } finally {
    db.close();
  }
}

/**
 * Runs SQL statements over every tenant's data at once, as the one shared D1 store used to
 * answer them: the tenant tables of every tenant object are copied into one in-memory database
 * with the store's schema (its migrations), and each statement runs there. For tools and tests at
 * local scale (every row is read); a statement may only read.
 * @param {string[]} statements
 * @param {{ persistTo?: string }} [options]
 * @returns {Row[][]} each statement's rows.
 */
export function queryTenantStores(statements, options = {}) {
  const all = new DatabaseSync(':memory:');
  try {
    for (const { sql } of MIGRATIONS) all.exec(sql);
    for (const sql of eventsTableSql('events')) all.exec(sql);
    for (const file of tenantObjects(options).values()) {
      const db = openReadOnly(file);
      try {
        for (const table of TENANT_TABLES) {
          const rows = db.prepare(`SELECT * FROM ${table}`).all();
          const columns = Object.keys(rows[0] ?? {});
          if (columns.length === 0) continue;
          const insert = all.prepare(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
          );
          all.exec('BEGIN');
          for (const row of rows)
            insert.run(.../** @type {Array<string | number | null>} */ (Object.values(row)));
          all.exec('COMMIT');
        }
      } finally {
        db.close();
      }
    }
    return statements.map((sql) => all.prepare(sql).all().map(plain));
  } finally {
    all.close();
  }
}

/**
 * Runs SQL that changes the store of `tenant` in place, while its object runs: for fault suites,
 * which make the real store refuse writes with a trigger (`CREATE TRIGGER … RAISE(ABORT, …)`) and
 * later drop it, as they did with D1. The object sees the change at its next statement. The
 * tenant's object must exist (something called it); throws otherwise.
 * @param {string} tenant
 * @param {string} sql
 * @param {{ persistTo?: string }} [options]
 */
export function tenantExec(tenant, sql, options = {}) {
  const file = tenantObjects(options).get(tenant);
  if (file === undefined) throw new Error(`tenant ${tenant} has no store object yet`);
  const db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/**
 * Makes the store of `tenant` refuse new events, while its object runs: a trigger
 * `RAISE(ABORT, message)` before each INSERT into the day tables of today (or of the instant
 * `on`) and the day after (when `when` holds, an SQL condition on `NEW`), which it creates first, with the `events` view over them,
 * as the object would (event-store's partitions.ts). For fault suites; answers the function that
 * removes the triggers. The tenant's object must exist.
 * @param {string} tenant
 * @param {string} name the triggers' name (`<name>`, `<name>_next`)
 * @param {{ when?: string, message: string, on?: string }} fault
 * @param {{ persistTo?: string }} [options]
 * @returns {() => void}
 */
export function tenantInsertFault(tenant, name, { when, message, on }, options = {}) {
  const today = dayOf(on ?? new Date());
  const stored = tenantQuery(tenant, DAY_TABLES_SQL, [], options)
    .map((row) => tableDay(String(row.name)))
    .filter((day) => day !== null);
  const faulted = [today, addDays(today, 1)];
  const days = [...new Set([...stored, addDays(today, -1), ...faulted, addDays(today, 2)])];
  const literal = message.replaceAll("'", "''");
  tenantExec(
    tenant,
    [
      ...days.flatMap((day) => eventsTableSql(dayTable(day))),
      ...eventsViewSql(days),
      ...faulted.map(
        (day, i) =>
          `CREATE TRIGGER ${name}${i === 0 ? '' : '_next'} BEFORE INSERT ON ${dayTable(day)}${when ? ` WHEN ${when}` : ''}
           BEGIN SELECT RAISE(ABORT, '${literal}'); END`,
      ),
    ].join(';\n'),
    options,
  );
  return () =>
    tenantExec(tenant, `DROP TRIGGER IF EXISTS ${name}; DROP TRIGGER IF EXISTS ${name}_next`, options);
}
