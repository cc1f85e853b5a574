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
 * transaction, nothing written when every table exists (a read of `sqlite_master`).
 */
export async function ensureDays(db: D1Database, days: Iterable<string>): Promise<void> {
  const wanted = new Set(days);
  if (wanted.size === 0) return;
  const stored = new Set(await storedDays(db));
  const missing = [...wanted].filter((day) => !stored.has(day));
  if (missing.length === 0) return;
  const statements = [
    ...missing.flatMap((day) => eventsTableSql(dayTable(day))),
    ...eventsViewSql([...stored, ...missing]),
  ];
  await db.batch(statements.map((sql) => db.prepare(sql)));
}
