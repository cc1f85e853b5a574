/**
 * The database a query suite runs against: a tenant's Durable Object, whose SQLite the store
 * reaches through the adapter of src/sqlite-d1.ts, as it runs in production (the event queries
 * run nowhere else since the day partitions; D1 keeps dead letters and the old store).
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sqliteAsD1 } from '../src/sqlite-d1.ts';

type Stub = DurableObjectStub;

/** Runs `use` inside the object, on its SQLite as the store sees it (the adapter). */
export function inObject<R>(stub: Stub, use: (db: D1Database) => R | Promise<R>): Promise<R> {
  return runInDurableObject(stub, (_instance: unknown, state: DurableObjectState) =>
    use(sqliteAsD1(state.storage)),
  );
}

/**
 * A D1Database whose every call runs inside the object `stub` (by `runInDurableObject`): the
 * test's code stays outside the object, each statement and batch runs in it, on the adapter.
 */
export function objectDb(stub: Stub): D1Database {
  const statement = (query: string, params: unknown[] = []) => {
    const prepared = (db: D1Database) => db.prepare(query).bind(...params);
    return {
      query,
      params,
      bind: (...values: unknown[]) => statement(query, values),
      all: () => inObject(stub, (db) => prepared(db).all()),
      run: () => inObject(stub, (db) => prepared(db).run()),
      first: (column?: string) =>
        inObject(stub, (db) => (column === undefined ? prepared(db).first() : prepared(db).first(column))),
      raw: () => inObject(stub, (db) => prepared(db).raw()),
    };
  };
  type Statement = ReturnType<typeof statement>;
  return {
    prepare: (query: string) => statement(query),
    batch: (statements: Statement[]) =>
      inObject(stub, (db) => db.batch(statements.map((s) => db.prepare(s.query).bind(...s.params)))),
    exec: (query: string) => inObject(stub, (db) => db.exec(query)),
  } as unknown as D1Database;
}

/** A fresh tenant object of the test runtime's TENANTS namespace. */
export function freshObject(name = `test_${crypto.randomUUID()}`): Stub {
  return env.TENANTS.get(env.TENANTS.idFromName(name));
}

/** A fresh tenant object's store, as the query suites use it (one object per test file). */
export function storeDb(): D1Database {
  return objectDb(freshObject());
}
