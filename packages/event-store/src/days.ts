/**
 * The day partitions as a tenant's store sees them (partitions.ts says what they are): which days
 * have a table, every events table, and making the tables a write needs. Through the store's
 * D1-shaped database (sqlite-d1.ts), inside the object.
 */
import {
  DAY_TABLES_SQL,
  dayTable,
  eventsTableSql,
  eventsViewSql,
  KEPT_EVENTS,
  tableDay,
  UNACKED_INDEXED_SQL,
  unackedIndexSql,
} from './partitions.ts';

/** The days that have a table, oldest first. */
export async function storedDays(db: D1Database): Promise<string[]> {
  const { results } = await db.prepare(DAY_TABLES_SQL).all<{ name: string }>();
  return results.map((r) => tableDay(r.name)).filter((day): day is string => day !== null);
}

/** Every events table: `kept_events`, then the day tables oldest first. */
export async function eventTables(db: D1Database): Promise<string[]> {
  return [KEPT_EVENTS, ...(await storedDays(db)).map(dayTable)];
}

/**
 * Creates the tables of `days` that do not exist yet, and rebuilds the view when it did: one
 * transaction, nothing written when every table exists (a read of `sqlite_master`). A new table
 * gets the unacknowledged view's index when the store has it (once its tenant read that view).
 */
export async function ensureDays(db: D1Database, days: Iterable<string>): Promise<void> {
  const wanted = new Set(days);
  if (wanted.size === 0) return;
  const stored = new Set(await storedDays(db));
  const missing = [...wanted].filter((day) => !stored.has(day));
  if (missing.length === 0) return;
  const unacked = (await unackedIndexed(db)).has(KEPT_EVENTS);
  const statements = [
    ...missing.flatMap((day) => [
      ...eventsTableSql(dayTable(day)),
      ...(unacked ? [unackedIndexSql(dayTable(day))] : []),
    ]),
    ...eventsViewSql([...stored, ...missing]),
  ];
  await db.batch(statements.map((sql) => db.prepare(sql)));
}

/** The events tables that have the unacknowledged view's index. */
async function unackedIndexed(db: D1Database): Promise<Set<string>> {
  const { results } = await db.prepare(UNACKED_INDEXED_SQL).all<{ name: string }>();
  return new Set(results.map((r) => r.name));
}

/**
 * Gives every events table of `days` and `kept_events` the unacknowledged view's index, where it
 * lacks it: called by each read of that view, so the first one builds them (reading each table
 * once) and every later one reads `sqlite_master` only. A store whose tenant never reads the view
 * never pays the index's row written per event.
 */
export async function indexUnacked(db: D1Database, days: readonly string[]): Promise<void> {
  const indexed = await unackedIndexed(db);
  const missing = [KEPT_EVENTS, ...days.map(dayTable)].filter((table) => !indexed.has(table));
  if (missing.length === 0) return;
  await db.batch(missing.map((table) => db.prepare(unackedIndexSql(table))));
}
