/**
 * The store's queries were written for D1's API (`prepare`, `bind`, `all`, `first`, `run`,
 * `batch`). Inside a tenant's Durable Object the same SQL runs on the object's own SQLite
 * (`ctx.storage.sql`), through this adapter: one implementation of every query, whichever
 * database holds it. It covers what the store uses, and answers like D1:
 *
 * - bindings are positional (`?1`, `?2` …, a number reused as often as wanted), booleans become 0
 *   or 1 and bytes a blob, as D1 converts them; `undefined` is refused, as D1 refuses it;
 * - `batch` runs its statements in one transaction (`transactionSync`): all or nothing;
 * - `meta.changes` is the rows the statement inserted, updated or deleted (RETURNING or not; 0
 *   for an upsert that did nothing), `meta.rows_written` and `meta.rows_read` the runtime's own
 *   counters (which count index entries), `meta.size_after` the object's database size;
 * - `first(column)` refuses a column the row lacks, as D1 does.
 *
 * Not like D1: a blob is read back as an ArrayBuffer (D1 answers an array of bytes); the store
 * keeps no blobs. `exec` runs its text as one script.
 *
 * Everything is synchronous underneath: a call never yields between its statements, so the
 * object's one-call-at-a-time guarantee covers it whole.
 */

type Binding = string | number | null | ArrayBuffer;

/** D1's conversions: a boolean is 0 or 1, bytes are a blob; `undefined` is refused, as D1 refuses it. */
function toBinding(value: unknown): Binding {
  if (value === null || typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value))
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  throw new Error(`D1_TYPE_ERROR: Type '${typeof value}' not supported for value '${String(value)}'`);
}

type Row = Record<string, SqlStorageValue>;

/** `total_changes()` counts every row inserted, updated or deleted by the connection, ever. */
function totals(sql: SqlStorage): { changes: number; lastRowId: number } {
  return sql
    .exec<{ changes: number; lastRowId: number }>(
      'SELECT total_changes() AS changes, last_insert_rowid() AS lastRowId',
    )
    .one();
}

class Statement {
  constructor(
    private readonly sql: SqlStorage,
    readonly query: string,
    private readonly params: Binding[] = [],
  ) {}

  bind(...values: unknown[]): Statement {
    return new Statement(this.sql, this.query, values.map(toBinding));
  }

  /**
   * Runs now, synchronously: what `all()` resolves with. `meta.changes` is the difference of
   * `total_changes()` around the statement, as local D1 computes it: exact whatever the
   * statement (a `… RETURNING`, an upsert that did nothing, a SELECT after a write), where
   * `changes()` alone would repeat the last write's count after a statement that wrote nothing.
   */
  runSync<T = Row>(): D1Result<T> {
    const before = totals(this.sql);
    const cursor = this.sql.exec(this.query, ...this.params);
    const results = cursor.toArray() as T[];
    const after = totals(this.sql);
    const changes = after.changes - before.changes;
    return {
      success: true,
      results,
      meta: {
        duration: 0,
        size_after: this.sql.databaseSize,
        rows_read: cursor.rowsRead,
        rows_written: cursor.rowsWritten,
        last_row_id: after.lastRowId,
        changed_db: changes > 0 || cursor.rowsWritten > 0,
        changes,
      },
    } as D1Result<T>;
  }

  all<T = Row>(): Promise<D1Result<T>> {
    return Promise.resolve().then(() => this.runSync<T>());
  }

  run<T = Row>(): Promise<D1Result<T>> {
    return this.all<T>();
  }

  /** The first row, or its `column` (D1 refuses a column the row does not have). */
  first<T = Row>(column?: string): Promise<T | null> {
    return this.all<Row>().then(({ results }) => {
      const row = results[0];
      if (row === undefined) return null;
      if (column === undefined) return row as T;
      if (!Object.hasOwn(row, column)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
      return row[column] as T;
    });
  }

  raw<T = unknown[]>(): Promise<T[]> {
    return Promise.resolve().then(() => [...this.sql.exec(this.query, ...this.params).raw()] as T[]);
  }
}

/** A `D1Database` over a Durable Object's SQLite storage: the subset the store's queries use. */
export function sqliteAsD1(storage: DurableObjectStorage): D1Database {
  const sql = storage.sql;
  const db = {
    prepare: (query: string) => new Statement(sql, query),
    batch: <T = Row>(statements: Statement[]) =>
      Promise.resolve().then(() =>
        storage.transactionSync(() => statements.map((statement) => statement.runSync<T>())),
      ),
    exec: (query: string) =>
      Promise.resolve().then(() => {
        sql.exec(query);
        return { count: 1, duration: 0 };
      }),
  };
  return db as unknown as D1Database;
}
