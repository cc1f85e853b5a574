import { ensureDays } from './days.ts';
import { dayOf, dayTable, EVENTS_VIEW } from './partitions.ts';

/**
 * Rows copied as they are into a tenant's store: how `POST /operator/migrate` (apps/ingest) moves
 * the old shared D1 store into the tenant stores, one page at a time. An event goes to the table
 * of its day received (partitions.ts), made if missing. Each row is written with
 * `INSERT OR IGNORE`, an event only if no events table holds its id, so a page imported twice
 * writes nothing the second time: the migration can be stopped and run again from any cursor.
 */

/** A row as D1 answers it: column name to value. */
export type ImportRow = Record<string, string | number | null>;

/** The tables a migration fills, each with the rows to import. */
export interface ImportRows {
  events?: ImportRow[];
  subscriptions?: ImportRow[];
  deliveries?: ImportRow[];
  delivery_attempts?: ImportRow[];
}

/** Rows written now, per table (rows already there are not counted). */
export interface ImportedCounts {
  events: number;
  subscriptions: number;
  deliveries: number;
  delivery_attempts: number;
}

const TABLES = ['events', 'subscriptions', 'deliveries', 'delivery_attempts'] as const;

// Column names come from the rows (the old store's own columns): they are spliced into the SQL,
// so only plain identifiers are taken.
const COLUMN = /^[a-z_][a-z0-9_]*$/;

/**
 * `row` into `table` unless its key is there already. An event (`dayTable` set) is also left out
 * when any events table holds its id: retention may have moved it from its day to kept_events
 * since a first import, and its day's table, dropped then, is made again for this page.
 */
function insert(db: D1Database, table: string, row: ImportRow, dayTable?: string): D1PreparedStatement {
  const columns = Object.keys(row);
  for (const column of columns) {
    if (!COLUMN.test(column)) throw new Error(`importRows: ${table} has an unexpected column name`);
  }
  const placeholders = columns.map((_, i) => `?${i + 1}`).join(', ');
  const id = columns.indexOf('event_id') + 1;
  if (dayTable !== undefined && id === 0) throw new Error('importRows: an event without event_id');
  const unheld =
    dayTable === undefined ? '' : ` WHERE NOT EXISTS (SELECT 1 FROM ${EVENTS_VIEW} WHERE event_id = ?${id})`;
  return db
    .prepare(
      `INSERT OR IGNORE INTO ${dayTable ?? table} (${columns.join(', ')}) SELECT ${placeholders}${unheld}`,
    )
    .bind(...columns.map((column) => row[column]));
}

/**
 * Writes `rows` into the store in one transaction (after one making the day tables it needs),
 * each row unless its key is there already;
 * answers how many rows of each table were written now.
 */
export async function importRows(db: D1Database, rows: ImportRows): Promise<ImportedCounts> {
  const counts: ImportedCounts = { events: 0, subscriptions: 0, deliveries: 0, delivery_attempts: 0 };
  const statements = TABLES.flatMap((table) => (rows[table] ?? []).map((row) => ({ table, row })));
  if (statements.length === 0) return counts;
  const dayOfRow = (row: ImportRow) => {
    if (typeof row.received_at !== 'string') throw new Error('importRows: an event without received_at');
    return dayOf(row.received_at);
  };
  await ensureDays(db, (rows.events ?? []).map(dayOfRow));
  const results = await db.batch(
    statements.map(({ table, row }) =>
      insert(db, table, row, table === 'events' ? dayTable(dayOfRow(row)) : undefined),
    ),
  );
  statements.forEach(({ table }, i) => {
    counts[table] += results[i]?.meta.changes ?? 0;
  });
  return counts;
}
