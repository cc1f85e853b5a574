/**
 * The store's queries were written for D1's API (`prepare`, `bind`, `all`, `first`, `run`,
 * `batch`). Inside a tenant's Durable Object the same SQL runs on the object's own SQLite
 * (`ctx.storage.sql`), through this adapter: one implementation of every query, whichever
 * database holds it. It covers what the store uses, and answers like D1:
 *
 * - bindings are positional (`?1`, `?2` …), booleans become 0 or 1 and `undefined` becomes NULL,
 *   as D1 converts them;
 * - `batch` runs its statements in one transaction (`transactionSync`): all or nothing;
 * - `meta.changes` is SQLite's `changes()` of the statement (rows it inserted, updated or
 *   deleted), `meta.rows_written` and `meta.rows_read` the runtime's own counters (which count
 *   index entries), `meta.size_after` the object's database size.
 *
 * Everything is synchronous underneath: a call never yields between its statements, so the
 * object's one-call-at-a-time guarantee covers it whole.
 */

type Binding = string | number | null | ArrayBuffer;

function toBinding(value: unknown): Binding {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (ArrayBuffer.isView(value))
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  return value as Binding;
}

type Row = Record<string, SqlStorageValue>;

class Statement {
  constructor(
    private readonly sql: SqlStorage,
    readonly query: string,
    private readonly params: Binding[] = [],
  ) {}

  bind(...values: unknown[]): Statement {
    return new Statement(this.sql, this.query, values.map(toBinding));
  }

  /** Runs now, synchronously: what `all()` resolves with. */
  runSync<T = Row>(): D1Result<T> {
    const cursor = this.sql.exec(this.query, ...this.params);
    const results = cursor.toArray() as T[];
    const changes = (this.sql.exec('SELECT changes() AS n').one().n as number) ?? 0;
    return {
      success: true,
      results,
      meta: {
        duration: 0,
        size_after: this.sql.databaseSize,
        rows_read: cursor.rowsRead,
        rows_written: cursor.rowsWritten,
        last_row_id: 0,
        changed_db: cursor.rowsWritten > 0,
        changes: cursor.rowsWritten > 0 ? changes : 0,
      },
    } as D1Result<T>;
  }

  all<T = Row>(): Promise<D1Result<T>> {
    return Promise.resolve().then(() => this.runSync<T>());
  }

  run<T = Row>(): Promise<D1Result<T>> {
    return this.all<T>();
  }

  first<T = Row>(column?: string): Promise<T | null> {
    return this.all<Row>().then(({ results }) => {
      const row = results[0];
      if (row === undefined) return null;
      return (column === undefined ? row : (row[column] ?? null)) as T | null;
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
