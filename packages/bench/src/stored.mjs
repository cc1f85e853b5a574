// @ts-check
// What the consumer has stored, read straight from a system's local state, whichever layout the
// tree under test has: the events of every tenant in one D1 database (before issue 21), or each
// tenant's events in its own SQLite-backed Durable Object (`TenantStore`, hosted by the consumer).
// Every SQLite file under the state that holds an `events` table or view counts, so a tree in the middle
// of the move (old tables still in D1, new ones in the objects) is read whole: an event stored in
// both would show as duplicated. The batch durable floor's store (packages/bench/floor) is read here too.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { tenantStoreDir } from '@triggers/tooling/tenants';

/**
 * The SQLite files of the objects in `dir`: miniflare keeps a class's objects (a local D1
 * database is one too) in a folder of their own, one `<object id>.sqlite` each, next to its own
 * `metadata.sqlite`.
 * @param {string} dir
 */
function objectFiles(dir) {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.sqlite') && name !== 'metadata.sqlite')
        .map((name) => join(dir, name))
    : [];
}

/**
 * The SQLite files of the event store under `state` (a `wrangler dev --persist-to` directory):
 * the local D1 databases and the tenant stores' objects.
 * @param {string} state
 * @returns {string[]}
 */
export function storeFiles(state) {
  return [
    ...objectFiles(join(state, 'v3', 'd1', 'miniflare-D1DatabaseObject')),
    ...objectFiles(tenantStoreDir(state)),
  ];
}

/**
 * `read(db)` over every one of `files` that has an `events` table or view, read-only.
 * @template T
 * @param {string[]} files
 * @param {(db: DatabaseSync) => T} read
 * @returns {T[]}
 */
function eachEventsTable(files, read) {
  const results = [];
  for (const file of files) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      // A table before the day partitions, a view over the day tables since.
      const table = db
        .prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = 'events'")
        .get();
      if (table) results.push(read(db));
    } finally {
      db.close();
    }
  }
  return results;
}

// Not `pending`: the consumer has written the event (delivered, or failed after its attempts).
const SETTLED = "status IN ('delivered', 'failed')";

/**
 * How many events the consumer has settled over every store file: of tenant `apiKeyId`, or of
 * every tenant without it.
 * @param {string} state
 * @param {string} [apiKeyId]
 */
export function countSettled(state, apiKeyId) {
  const sql = `SELECT count(*) AS n FROM events WHERE ${apiKeyId === undefined ? '' : 'api_key_id = ? AND '}${SETTLED}`;
  return eachEventsTable(storeFiles(state), (db) =>
    Number(db.prepare(sql).get(...(apiKeyId === undefined ? [] : [apiKeyId]))?.n ?? 0),
  ).reduce((sum, n) => sum + n, 0);
}

/**
 * Every stored row (its id and status) matching `where` (one bound parameter), over every store file.
 * @param {string} state
 * @param {string} where
 * @param {string} value
 * @returns {{ event_id: string, status: string }[]}
 */
function rowsWhere(state, where, value) {
  return eachEventsTable(
    storeFiles(state),
    (db) =>
      /** @type {{ event_id: string, status: string }[]} */ (
        db.prepare(`SELECT event_id, status FROM events WHERE ${where}`).all(value)
      ),
  ).flat();
}

/**
 * Every stored row whose payload carries `run` as its `run` marker: reads every payload, so for
 * a final count rather than for polling.
 * @param {string} state
 * @param {string} run
 */
export const rowsOfRun = (state, run) => rowsWhere(state, "json_extract(payload, '$.run') = ?", run);

/**
 * Every stored row of tenant `apiKeyId`.
 * @param {string} state
 * @param {string} apiKeyId
 */
export const storedRows = (state, apiKeyId) => rowsWhere(state, 'api_key_id = ?', apiKeyId);

/**
 * Which layout holds the events in `state`: `tenant-stores` once any tenant's object exists.
 * @param {string} state
 */
export function layoutOf(state) {
  return storeFiles(state).some((file) => file.includes(`${join('v3', 'do')}`)) ? 'tenant-stores' : 'd1';
}

/**
 * The batch durable floor's store under `state` (packages/bench/floor: the `FloorStore` objects of
 * the `triggers-bench-floor` Worker), whose `events` table holds each stored event once.
 * @param {string} state
 */
const floorFiles = (state) => objectFiles(join(state, 'v3', 'do', 'triggers-bench-floor-FloorStore'));

/**
 * How many events the batch floor has stored.
 * @param {string} state
 */
export const countFloorStored = (state) =>
  eachEventsTable(floorFiles(state), (db) =>
    Number(db.prepare('SELECT count(*) AS n FROM events').get()?.n ?? 0),
  ).reduce((sum, n) => sum + n, 0);

/**
 * Every row the batch floor has stored: its id (the floor stores no status).
 * @param {string} state
 * @returns {{ event_id: string }[]}
 */
export const floorRows = (state) =>
  eachEventsTable(
    floorFiles(state),
    (db) => /** @type {{ event_id: string }[]} */ (db.prepare('SELECT event_id FROM events').all()),
  ).flat();
