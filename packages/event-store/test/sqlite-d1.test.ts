/**
 * The adapter of src/sqlite-d1.ts answers like D1 for what the store's queries use: each check
 * runs the same statements on D1 (`env.DB`) and on a tenant object's SQLite (inside the object,
 * by `runInDurableObject`) and compares the two answers.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { freshObject, inObject } from './backends.ts';

/** Runs `use` on D1 and on a fresh object, each with its own scratch table `t`. */
async function both<R>(use: (db: D1Database) => Promise<R>): Promise<{ d1: R; object: R }> {
  const table = `t_${crypto.randomUUID().replaceAll('-', '')}`;
  const run = async (db: D1Database) => {
    await db.prepare(`CREATE TABLE ${table} (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`).run();
    return use(withTable(db, table));
  };
  return { d1: await run(env.DB), object: await inObject(freshObject(), run) };
}

/** `db` with `t` in its statements standing for the scratch table. */
function withTable(db: D1Database, table: string): D1Database {
  const name = (query: string) => query.replaceAll(/\bt\b/g, table);
  return {
    prepare: (query: string) => db.prepare(name(query)),
    batch: (statements: D1PreparedStatement[]) => db.batch(statements),
  } as D1Database;
}

/** What a promise settled with: its value, or the message it was rejected with. */
const settled = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: Error) => ({ error: error.message }),
  );

describe('the DO SQLite adapter answers like D1', () => {
  it('reports meta.changes of INSERT, UPDATE and DELETE, with RETURNING, an upsert that did nothing and a read after a write', async () => {
    const { d1, object } = await both(async (db) => {
      const changes = async (query: string, ...params: unknown[]) =>
        (
          await db
            .prepare(query)
            .bind(...params)
            .run()
        ).meta.changes;
      return {
        insert: await changes("INSERT INTO t VALUES ('a', 1), ('b', 2), ('c', 3)"),
        conflictNothing: await changes("INSERT INTO t VALUES ('a', 9) ON CONFLICT DO NOTHING"),
        conflictNothingReturning: await changes(
          "INSERT INTO t VALUES ('a', 9) ON CONFLICT DO NOTHING RETURNING k",
        ),
        upsertWhereFalse: await changes(
          "INSERT INTO t VALUES ('a', 9) ON CONFLICT (k) DO UPDATE SET n = excluded.n WHERE n > 100",
        ),
        updateReturning: await db.prepare('UPDATE t SET n = n + 10 WHERE n >= ?1 RETURNING k').bind(2).run(),
        readAfterWrite: await changes('SELECT count(*) FROM t'),
        updateNone: await changes('UPDATE t SET n = 0 WHERE k = ?', 'zzz'),
        deleteReturning: await changes('DELETE FROM t WHERE n > ?1 RETURNING k', 10),
        delete: await changes('DELETE FROM t'),
      };
    });
    const { updateReturning: d1Update, ...d1Changes } = d1;
    const { updateReturning: objectUpdate, ...objectChanges } = object;
    expect(objectChanges).toEqual(d1Changes);
    expect(objectChanges).toEqual({
      insert: 3,
      conflictNothing: 0,
      conflictNothingReturning: 0,
      upsertWhereFalse: 0,
      readAfterWrite: 0,
      updateNone: 0,
      deleteReturning: 2,
      delete: 1,
    });
    for (const update of [d1Update, objectUpdate]) {
      expect(update.meta.changes).toBe(2);
      expect(update.results.map((r) => (r as { k: string }).k).sort()).toEqual(['b', 'c']);
    }
  });

  it('answers first(column) with the value, null without a row, and refuses a column the row lacks', async () => {
    const answers = await both(async (db) => {
      await db.prepare("INSERT INTO t VALUES ('a', 1)").run();
      return {
        value: await db.prepare('SELECT n FROM t WHERE k = ?').bind('a').first('n'),
        row: await db.prepare('SELECT k, n FROM t').first(),
        none: await db.prepare('SELECT n FROM t WHERE k = ?').bind('zzz').first('n'),
        missing: await settled(db.prepare('SELECT n FROM t').first('nope')),
      };
    });
    expect(answers.object).toEqual(answers.d1);
    expect(answers.object).toEqual({
      value: 1,
      row: { k: 'a', n: 1 },
      none: null,
      missing: { error: expect.stringContaining('D1_COLUMN_NOTFOUND') },
    });
  });

  it('runs a batch all or nothing: a failing statement rolls back the ones before it', async () => {
    const answers = await both(async (db) => {
      await db.prepare("INSERT INTO t VALUES ('kept', 0)").run();
      const batch = await settled(
        db.batch([
          db.prepare("INSERT INTO t VALUES ('a', 1)"),
          db.prepare("UPDATE t SET n = 5 WHERE k = 'kept'"),
          db.prepare("INSERT INTO t VALUES ('a', 2)"), // the primary key again: fails
        ]),
      );
      const rows = (await db.prepare('SELECT k, n FROM t ORDER BY k').all()).results;
      return { failed: 'error' in batch, rows };
    });
    expect(answers.object).toEqual(answers.d1);
    expect(answers.object).toEqual({ failed: true, rows: [{ k: 'kept', n: 0 }] });
  });

  it('binds booleans as 1 and 0, reuses a numbered ?1 parameter, and refuses undefined', async () => {
    const answers = await both(async (db) => ({
      values: await db
        .prepare('SELECT ?1 AS yes, ?2 AS no, ?3 || ?3 AS twice, ?3 AS once')
        .bind(true, false, 'x')
        .first(),
      undefined: await settled(
        Promise.resolve().then(() => db.prepare('SELECT ?1 AS u').bind(undefined).first()),
      ),
    }));
    expect(answers.object).toEqual(answers.d1);
    expect(answers.object).toEqual({
      values: { yes: 1, no: 0, twice: 'xx', once: 'x' },
      undefined: { error: expect.stringContaining('D1_TYPE_ERROR') },
    });
  });
});
