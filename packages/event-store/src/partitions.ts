/**
 * A tenant's events, partitioned by UTC day of `received_at` inside its store object
 * (docs/scaling.md, "Day partitions"):
 *
 * - `events_YYYYMMDD`: one table per day, created by code ({@link eventsTableSql}) on the first
 *   write that needs it, never by a migration, with `UNIQUE (event_id)` (lookups by id and
 *   duplicates) and an index of `(received_at, event_id)` (the inbox order and cursor): a new
 *   event writes 3 rows, where one shared table with 7 indexes wrote 8.
 * - `kept_events`: the same template, one table; what retention keeps of a day it drops (pending
 *   events, failed ones not expired yet, those with a pending webhook delivery).
 * - `events`: a view, the UNION ALL of `kept_events` and every day table, rebuilt with each table
 *   created or dropped. Reads by id, by time range or joined from deliveries go through it: SQLite
 *   pushes their conditions into each arm (an index probe per table, never a scan). Writes name
 *   a table.
 *
 * An event lives in the table of its day, or in `kept_events` once its day was dropped: never
 * in two tables at once (writes check the neighbouring days, write.ts).
 *
 * Pure module (no Workers APIs): the local tooling imports it too (packages/tooling's tenants.mjs).
 */

/** The table of the events retention kept from the days it dropped. */
export const KEPT_EVENTS = 'kept_events';

/** The view over every events table, for reads. */
export const EVENTS_VIEW = 'events';

/** A day as its tables name it: `YYYYMMDD` (UTC). */
const DAY = /^\d{8}$/;
const DAY_MS = 86_400_000;
const TABLE = /^events_(\d{8})$/;

/** The day (`YYYYMMDD`, UTC) of a fixed-width ISO-8601 UTC instant or a Date. */
export function dayOf(at: string | Date): string {
  const iso = typeof at === 'string' ? at : at.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
}

/** The table of `day`. Throws on anything but `YYYYMMDD`: the name is spliced into SQL. */
export function dayTable(day: string): string {
  if (!DAY.test(day)) throw new Error(`not a day: ${JSON.stringify(day)}`);
  return `events_${day}`;
}

/** The day of a day table's name, or null for any other name. */
export function tableDay(name: string): string | null {
  return TABLE.exec(name)?.[1] ?? null;
}

/** The first instant of `day`, as fixed-width ISO-8601 UTC text (what `received_at` holds). */
export function dayStart(day: string): string {
  dayTable(day);
  return `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00.000Z`;
}

/** The day `days` after `day` (before it when negative). */
export function addDays(day: string, days: number): string {
  return dayOf(new Date(Date.parse(dayStart(day)) + days * DAY_MS));
}

/**
 * The columns of every events table, in this order (the view's UNION ALL needs one order):
 * `received_at` first, the key's first column. `api_key_id` stays a column (the row describes
 * itself in the API and the archive) but is in no index: an object holds one tenant.
 */
const COLUMNS = `received_at TEXT NOT NULL,
  event_id TEXT NOT NULL UNIQUE,
  api_key_id TEXT NOT NULL,
  payload TEXT NOT NULL CHECK (json_valid(payload)),
  metadata TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL CHECK (attempts >= 0),
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  debug TEXT,
  acked_at TEXT CHECK (acked_at IS NULL OR status <> 'pending'),
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  subject TEXT,
  cloudevent TEXT CHECK (cloudevent IS NULL OR json_valid(cloudevent)),
  idempotency_conflicts INTEGER NOT NULL DEFAULT 0 CHECK (idempotency_conflicts >= 0)`;

/** The column names of {@link COLUMNS}, in order. */
export const EVENT_COLUMNS = [
  'received_at',
  'event_id',
  'api_key_id',
  'payload',
  'metadata',
  'status',
  'attempts',
  'last_error',
  'created_at',
  'updated_at',
  'correlation_id',
  'debug',
  'acked_at',
  'type',
  'source',
  'subject',
  'cloudevent',
  'idempotency_conflicts',
] as const;

/**
 * The statements creating an events table `name` (a day table or `kept_events`) if missing: a
 * rowid table (a row of 1 KB of payload stays on its page; keyed WITHOUT ROWID it spilled to an
 * overflow page, 4.8 KB stored per 1 KB event, measured), its UNIQUE (event_id) index (lookups by
 * id, duplicates) and the index of the inbox order and cursor, `(received_at, event_id)`: 3 rows
 * written per new event. The unacknowledged view's index is not among them: only a store whose
 * tenant reads that view has it ({@link unackedIndexSql}).
 */
export function eventsTableSql(name: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${name} (\n  ${COLUMNS}\n) STRICT`,
    `CREATE INDEX IF NOT EXISTS ${name}_by_received ON ${name} (received_at, event_id)`,
  ];
}

/**
 * The index of the unacknowledged view (the inbox's default) on events table `name`: its
 * `(received_at, event_id)` order, of the rows not acknowledged only, so a page of that view reads
 * about the page however much of the window is acknowledged. It costs a row written when an
 * unacknowledged event is stored and one when it is acknowledged, so a store has it only once its
 * tenant has read that view (days.ts, `indexUnacked`): docs/scaling.md, "Day partitions".
 */
export function unackedIndexSql(name: string): string {
  return `CREATE INDEX IF NOT EXISTS ${name}_unacked ON ${name} (received_at, event_id) WHERE acked_at IS NULL`;
}

/** The SQL listing the events tables that have the unacknowledged view's index. */
export const UNACKED_INDEXED_SQL =
  "SELECT tbl_name AS name FROM sqlite_master WHERE type = 'index' AND name GLOB '*_unacked'";

/**
 * Terms one compound SELECT may have in a Durable Object's SQLite (measured: 5 pass, 6 fail with
 * "too many terms in compound SELECT"). The view nests its UNION ALLs to stay under it.
 */
export const MAX_COMPOUND_TERMS = 5;

/** `arms` (each a SELECT) as one SELECT: a UNION ALL, nested by {@link MAX_COMPOUND_TERMS}. */
function unionAll(arms: string[]): string {
  if (arms.length <= MAX_COMPOUND_TERMS) return arms.join(' UNION ALL ');
  const groups: string[] = [];
  const size = Math.ceil(arms.length / MAX_COMPOUND_TERMS);
  for (let i = 0; i < arms.length; i += size)
    groups.push(`SELECT * FROM (${unionAll(arms.slice(i, i + size))})`);
  return unionAll(groups);
}

/**
 * The statements (re)building the {@link EVENTS_VIEW} over `kept_events` and `days`' tables: a
 * UNION ALL nested in groups (five tables a group, five groups a level), through which SQLite
 * still pushes a condition down to every table's index.
 */
export function eventsViewSql(days: readonly string[]): string[] {
  const arms = [KEPT_EVENTS, ...[...days].sort().map(dayTable)].map((table) => `SELECT * FROM ${table}`);
  return [`DROP VIEW IF EXISTS ${EVENTS_VIEW}`, `CREATE VIEW ${EVENTS_VIEW} AS ${unionAll(arms)}`];
}

/** The SQL listing the day tables (their names), oldest first. */
export const DAY_TABLES_SQL =
  "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'events_[0-9]*' ORDER BY name";
