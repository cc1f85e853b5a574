/**
 * Retention: a tenant's store keeps events for a while, not forever. Run on the store object's
 * alarm (apps/consumer), one tenant at a time (an operator path, never a request path), in
 * bounded rounds; D1's dead letters, which belong to no tenant, by the scheduled handler
 * ({@link purgeDeadLetters}).
 *
 * - `delivered` events, and acknowledged ones of any final status, older than `deliveredDays`;
 * - `failed` events not acknowledged, and unreadable dead letters, older than `failedDays` (longer:
 *   they wait for someone to look at them or replay them);
 * - `pending` events are never purged: they are in flight; nor is an event with a webhook delivery
 *   still `pending` (attempts left, or a manual retry), whatever its age: its next attempt needs it;
 * - webhook deliveries only once their event is gone, since a delivery's
 *   UNIQUE (api_key_id, event_id, subscription_id) row is what keeps a replayed event from being
 *   delivered twice; their attempts only once the delivery is gone. Both wait, besides, until they
 *   are older than the shorter of the two ages, so the purge walks only old rows;
 * - subscriptions are the tenant's configuration and stay until deleted through the API; only the
 *   signing secrets replaced by rotations are wiped, each once its overlap has ended.
 *
 * Events go by whole days (partitions.ts): once a day's last instant is older than
 * `deliveredDays`, what the rules above still keep of it moves to kept_events and its table is
 * dropped, at a cost independent of its rows; kept_events is then purged row by row by the same
 * rules. Ages count from `received_at`; a delivered or acknowledged event also waits the short
 * age after its last change (`updated_at`), so an old failed event replayed and stored lately is
 * kept, its webhook deliveries still running. Dead letters and deliveries count from
 * `created_at`; attempts from `attempted_at`.
 *
 * With an `archive` callback (the consumer's R2 archive), expired events are handed to it before
 * they go, at most `rowsPerStatement` and about `archiveBytesPerRound` of payload a round: an
 * archive that fails lets nothing go.
 *
 * Late writes. A day is archived in key order over rounds that may span runs hours apart, and
 * writes still reach its table meanwhile (a delayed queue message, a dead letter recorded as
 * `failed`, an ack, a replay): a row written behind the read would go with the day unarchived,
 * or archived as it was before it changed. So, from its first round, the day's table has two
 * triggers (`AFTER INSERT`, `AFTER UPDATE`) recording in `retention_late` every row written at or
 * behind how far the read got (`retention_progress.read_*`, the day's end once the read reached
 * it). Once the read is through, the day's rounds hand those rows to the archive as they are now
 * (an event changed after its archive is archived again: the archive keeps its last state, the
 * copy with the latest `updated_at`), survivors moving to kept_events as before; the day is
 * dropped only in the turn that finds none left. Cheaper and surer than the alternatives: write
 * times (`updated_at`) come from the consumer's clock, not the object's, and an import keeps old
 * ones; a count of rows names none of them and misses updates; a rowid high-water mark misses
 * updates and rowids come back after deletes. The triggers cost nothing until a day is archived,
 * then a primary-key probe per write to that day (2 rows read), and a late write 3 rows written
 * more (measured: a new event behind the read writes 6 rows, not 3). A run stays bounded: a
 * round of late rows reads at most `rowsPerStatement` records and their rows, and the check
 * before a drop reads the day's records (none when nothing came late).
 */
import { storedDays } from './days.ts';
import { addDays, dayStart, dayTable, EVENTS_VIEW, eventsViewSql, KEPT_EVENTS } from './partitions.ts';
import { type StoredEvent, toStoredEvent } from './read.ts';

export interface RetentionPolicy {
  /** Days a delivered or acknowledged event is kept. */
  deliveredDays: number;
  /** Days a failed, unacknowledged event (and an unreadable dead letter) is kept. */
  failedDays: number;
  /** Rows one statement removes (or, for secrets, changes) at most. */
  rowsPerStatement: number;
  /** Rounds one run makes at most (see {@link purgeExpired}; D1's dead letters: one DELETE each). */
  maxRounds: number;
  /**
   * When archiving: payload and metadata characters one round reads at most (past the first
   * event), so that a round's events fit in a Worker's memory and under D1's 50 MB result limit.
   */
  archiveBytesPerRound: number;
}

/**
 * Where expired events go before they are deleted (see {@link purgeExpired}): resolves with the
 * events it archived, all of `events` or some of them (to bound its own work); only those are
 * deleted, the others are read again by the next round.
 */
export type ArchiveEvents = (events: StoredEvent[], round: number) => Promise<StoredEvent[]>;

/**
 * The defaults. A run makes at most 9 rounds; each drops one expired day (or archives up to
 * 5,000 of its events, about 8 MB of payload) or purges up to 5,000 rows of kept_events, and
 * purges up to 5,000 deliveries and 5,000 attempts. Run every hour per tenant (the store's
 * alarm; every minute while it has more), that is 9 days an hour: a tenant's whole retention
 * window catches up in a few runs, whatever its traffic, since dropping a day costs the same at
 * any size. Archiving reads every event once before its day goes (one written behind its read,
 * once more): 45,000 events a run, 540,000 an hour at the catch-up pace.
 */
export const DEFAULT_RETENTION: RetentionPolicy = {
  deliveredDays: 7,
  failedDays: 30,
  rowsPerStatement: 5_000,
  maxRounds: 9,
  archiveBytesPerRound: 8_000_000,
};

/** Queries one run of {@link purgeDeadLetters} on D1 makes at most under `policy` (the Free plan allows 50). */
export function queriesPerRun(policy: RetentionPolicy): number {
  return policy.maxRounds;
}

export interface PurgeResult {
  delivered: number;
  failed: number;
  /** Webhook deliveries whose event was gone. */
  deliveries: number;
  /** Attempts of deliveries that were gone. */
  delivery_attempts: number;
  /** Subscriptions of which a replaced signing secret, past its overlap, was wiped. */
  expired_secrets: number;
  /** Day tables dropped whole. */
  dropped_days: number;
  /** Events moved from the dropped days to kept_events (what the policy keeps). */
  kept: number;
  rounds: number;
  /** False when the run stopped at `maxRounds` with more to purge: the next run goes on. */
  complete: boolean;
  /** The database's size after the run, as D1 reports it (`meta.size_after`), when it does. */
  size_bytes: number | null;
}

type Counted = 'deliveries' | 'delivery_attempts';

const DAY_MS = 86_400_000;

// Neither kind of event goes while one of its webhook deliveries is pending (through the
// deliveries' UNIQUE (api_key_id, event_id, subscription_id) index). `t` is the events table.
const NO_PENDING_DELIVERY = `NOT EXISTS (SELECT 1 FROM deliveries AS d
  WHERE d.api_key_id = t.api_key_id AND d.event_id = t.event_id AND d.status = 'pending')`;
// A delivered event also waits the short age after its last change (?1 is that age's cutoff in
// every statement using it): a failed event replayed and stored lately keeps its webhooks' event.
const DELIVERED_OR_ACKED = `(t.updated_at < ?1 AND (t.status = 'delivered' OR (t.acked_at IS NOT NULL AND t.status <> 'pending'))
  AND ${NO_PENDING_DELIVERY})`;
const FAILED_UNACKED = "(t.status = 'failed' AND t.acked_at IS NULL)";
const FAILED_TO_PURGE = `(${FAILED_UNACKED} AND ${NO_PENDING_DELIVERY})`;
// An event the policy lets go: ?1 the delivered cutoff, ?2 the failed one.
const EXPIRED = `((t.received_at < ?1 AND ${DELIVERED_OR_ACKED}) OR (t.received_at < ?2 AND ${FAILED_TO_PURGE}))`;

/**
 * The end of each `INSERT … SELECT` into kept_events: a copy of an event already kept stays the
 * one kept. Two copies of one event_id are both stored when they arrived more than 24 hours apart
 * on days that do not touch (the dedup window, write.ts); keeping both would break kept_events'
 * UNIQUE (event_id), and with it every later run of the tenant's retention. The later copy goes
 * with its day.
 */
const KEEP_FIRST_COPY = 'ON CONFLICT (event_id) DO NOTHING';
// RETURNING names no table (workerd's SQLite refuses a qualified column there).
const KIND = "CASE WHEN status = 'failed' AND acked_at IS NULL THEN 'failed' ELSE 'delivered' END";

// kept_events, row by row (it holds only what the dropped days kept): at most ?3 rows, oldest
// first, through its primary key.
const PURGE_KEPT = `DELETE FROM ${KEPT_EVENTS} AS t WHERE event_id IN (
  SELECT t.event_id FROM ${KEPT_EVENTS} AS t WHERE ${EXPIRED} ORDER BY t.received_at LIMIT ?3)
  RETURNING ${KIND} AS kind`;
// Archiving: the rows of `from` (events as `t`) matching `where` (past the position ?3, ?4), in
// the order `order` (`inner` inside, naming the tables), at most ?5 rows and about ?6 characters
// of payload and metadata (a row is read when what precedes it is under ?6, so the first always
// is), each with whether it expired. `candidates` is how many rows the LIMIT let through: more
// than were read means the budget cut the round short.
const SELECT_WINDOW = (
  from: string,
  where: string,
  order: string,
  inner: string,
  extra = '',
) => `SELECT * FROM (
  SELECT *, sum(size) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) - size AS before,
         count(*) OVER () AS candidates
  FROM (SELECT ${extra}t.*, length(t.payload) + coalesce(length(t.metadata), 0) AS size, ${EXPIRED} AS expired
        FROM ${from} WHERE ${where} ORDER BY ${inner} LIMIT ?5))
WHERE before < ?6`;
// The rows of `table` past (?3, ?4) in key order: all of a day being archived, only the expired
// ones of kept_events.
const SELECT_PAST = (table: string, onlyExpired: boolean) =>
  SELECT_WINDOW(
    `${table} AS t`,
    `(t.received_at, t.event_id) > (?3, ?4)${onlyExpired ? ` AND ${EXPIRED}` : ''}`,
    'received_at, event_id',
    't.received_at, t.event_id',
  );
// The rows of day ?3's `table` written late (see the module's comment), past record ?4, in the
// order they were written. A record whose row has gone (to kept_events) joins none.
const SELECT_LATE = (table: string) =>
  SELECT_WINDOW(
    `retention_late AS l JOIN ${table} AS t ON t.event_id = l.event_id`,
    'l.day = ?3 AND l.seq > ?4',
    'seq',
    'l.seq',
    'l.seq AS seq, ',
  );
// Whether a row of day ?1's `table` written late waits for the archive.
const LATE_WAITING = (table: string) => `SELECT EXISTS (SELECT 1 FROM retention_late AS l
  JOIN ${table} AS t ON t.event_id = l.event_id WHERE l.day = ?1) AS waiting`;
// The triggers of a day being archived: a row written at or behind how far the read got is
// recorded, its earlier record replaced (a new seq). `day` is checked by dayTable.
const LATE_TRIGGERS = (day: string) =>
  ['insert', 'update'].map(
    (
      op,
    ) => `CREATE TRIGGER IF NOT EXISTS ${dayTable(day)}_late_${op} AFTER ${op.toUpperCase()} ON ${dayTable(day)}
  WHEN EXISTS (SELECT 1 FROM retention_progress AS p WHERE p.day = '${day}'
    AND (NEW.received_at, NEW.event_id) <= (p.read_received_at, p.read_event_id))
  BEGIN
    DELETE FROM retention_late WHERE day = '${day}' AND event_id = NEW.event_id;
    INSERT INTO retention_late (day, event_id) VALUES ('${day}', NEW.event_id);
  END`,
  );
// What was archived from kept_events (?3), unless it no longer expired when the archive was done
// (a replay made it pending meanwhile, a manual retry one of its deliveries, an ack changed it
// lately): kept, it is archived again as it then is. RETURNING tells which kind it was.
const DELETE_ARCHIVED = `DELETE FROM ${KEPT_EVENTS} AS t WHERE event_id IN (SELECT value FROM json_each(?3))
  AND ${EXPIRED}
  RETURNING ${KIND} AS kind`;
// After the events of the same round: a delivery goes in the round its event went, or later.
const PURGE_DELIVERIES = `DELETE FROM deliveries WHERE rowid IN (
  SELECT rowid FROM deliveries AS d WHERE d.created_at < ?1 AND NOT EXISTS (
    SELECT 1 FROM ${EVENTS_VIEW} AS e WHERE e.event_id = d.event_id AND e.api_key_id = d.api_key_id)
  ORDER BY d.created_at LIMIT ?2)`;
const PURGE_ATTEMPTS = `DELETE FROM delivery_attempts WHERE rowid IN (
  SELECT rowid FROM delivery_attempts AS a WHERE a.attempted_at < ?1 AND NOT EXISTS (
    SELECT 1 FROM deliveries AS d WHERE d.api_key_id = a.api_key_id AND d.id = a.delivery_id)
  ORDER BY a.attempted_at LIMIT ?2)`;
// Each replaced signing secret past its end is dropped; the column goes back to NULL once none is
// left. Walks only the subscriptions that have some (a partial index).
const PURGE_DEAD_LETTERS = `DELETE FROM dead_letters WHERE rowid IN (
  SELECT rowid FROM dead_letters WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)`;
const WIPE_EXPIRED_SECRETS = `UPDATE subscriptions SET previous_secrets = (
    SELECT CASE WHEN count(*) = 0 THEN NULL ELSE json_group_array(json(p.value)) END
    FROM json_each(subscriptions.previous_secrets) AS p WHERE p.value ->> '$.expires_at' >= ?1)
  WHERE rowid IN (SELECT rowid FROM subscriptions AS s WHERE s.previous_secrets IS NOT NULL AND EXISTS (
    SELECT 1 FROM json_each(s.previous_secrets) AS p WHERE p.value ->> '$.expires_at' < ?1) LIMIT ?2)`;

/** The two cutoffs of a run: delivered (and acknowledged) events, failed ones. */
type Cutoffs = [deliveredBefore: string, failedBefore: string];

interface ReadRow {
  event_id: string;
  received_at: string;
  expired: number;
  candidates: number;
  seq?: number;
}

type ReadEvent = StoredEvent & { expired: boolean };

/** A position in key order: `(received_at, event_id)`. */
type Key = [received_at: string, event_id: string];

/**
 * One round's rows of `sql` ({@link SELECT_WINDOW}) past `position`, within the policy's bounds;
 * `more` if some were left; `seqs`, with the rows, their late records' seq ({@link SELECT_LATE}).
 */
async function readRows(
  db: D1Database,
  sql: string,
  cutoffs: Cutoffs,
  position: [string, string | number],
  policy: RetentionPolicy,
): Promise<{ rows: ReadEvent[]; seqs: number[]; more: boolean }> {
  const { results } = await db
    .prepare(sql)
    .bind(...cutoffs, ...position, policy.rowsPerStatement, policy.archiveBytesPerRound)
    .all<ReadRow>();
  const candidates = results[0]?.candidates ?? 0;
  return {
    rows: results.map((row) => ({ ...toStoredEvent(row), expired: row.expired === 1 })),
    seqs: results.map((row) => row.seq ?? 0),
    more: candidates > results.length || candidates >= policy.rowsPerStatement,
  };
}

/**
 * The longest prefix of `rows` that the archive took care of: each row kept by the policy, or
 * expired and among `archived`.
 */
function settledPrefix<T extends { event_id: string; expired: boolean }>(
  rows: T[],
  archived: StoredEvent[],
): T[] {
  const taken = new Set(archived.map((event) => event.event_id));
  const end = rows.findIndex((row) => row.expired && !taken.has(row.event_id));
  return end === -1 ? rows : rows.slice(0, end);
}

/**
 * Drops the expired day `day` whole: what the policy still keeps moves to kept_events first
 * (pending events, failed ones not expired yet, any event with a pending delivery), then the
 * table goes, its cost independent of its rows. Answers the rows it let go by kind and the rows
 * it kept; when `archiving`, null instead while a row written late waits for the archive.
 */
async function dropDay(
  db: D1Database,
  day: string,
  cutoffs: Cutoffs,
  archiving: boolean,
): Promise<{ delivered: number; failed: number; kept: number } | null> {
  const table = dayTable(day);
  // In the same turn as the drop: the object runs one event at a time and its SQLite calls
  // never wait on I/O (sqlite-d1.ts), so no write comes between this check and the DROP.
  if (archiving && (await db.prepare(LATE_WAITING(table)).bind(day).first<number>('waiting')) === 1) {
    return null;
  }
  const others = (await storedDays(db)).filter((d) => d !== day);
  const keep = db
    .prepare(
      `INSERT INTO ${KEPT_EVENTS} SELECT t.* FROM ${table} AS t WHERE NOT ${EXPIRED} ${KEEP_FIRST_COPY} RETURNING 1`,
    )
    .bind(...cutoffs);
  // What goes: every row the INSERT does not keep.
  const count = db
    .prepare(
      `SELECT coalesce(sum(${FAILED_UNACKED}), 0) AS failed, count(*) AS n FROM ${table} AS t WHERE ${EXPIRED}`,
    )
    .bind(...cutoffs);
  const [, counted, kept] = await db.batch<{ failed: number; n: number }>([
    db.prepare(`DROP VIEW IF EXISTS ${EVENTS_VIEW}`),
    count,
    keep,
    db.prepare(`DROP TABLE ${table}`),
    ...eventsViewSql(others).map((sql) => db.prepare(sql)),
    db.prepare('DELETE FROM retention_progress WHERE day = ?1').bind(day),
    db.prepare('DELETE FROM retention_late WHERE day = ?1').bind(day),
  ]);
  const { failed = 0, n = 0 } = counted?.results[0] ?? {};
  return { delivered: n - failed, failed, kept: kept?.results.length ?? 0 };
}

/**
 * Deletes what `policy` says has expired at `now`, in rounds, until nothing is left or `maxRounds`.
 * Expired day tables without a row are dropped at once. Then each round takes the oldest expired
 * day that has rows: what the policy still keeps of it moves to kept_events and its table is
 * dropped whole; and it purges kept_events row by row (at most `rowsPerStatement`), then
 * deliveries and attempts. With `archive`, the day is first read in key order, a round at most
 * `rowsPerStatement` rows and about `archiveBytesPerRound` of payload, its expired events handed
 * to the archive with kept_events' (one call a round) and its survivors moved as the read passes
 * them (how far it got is kept in `retention_progress`), then its rows written behind the read
 * meanwhile (module comment, "Late writes"); only once the whole day is archived, late rows and
 * all, is it dropped, and kept_events' rows go once archived. If `archive` rejects, the run
 * throws with that round's events still stored.
 */
export async function purgeExpired(
  db: D1Database,
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
  archive?: ArchiveEvents,
): Promise<PurgeResult> {
  const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  const cutoffs: Cutoffs = [before(policy.deliveredDays), before(policy.failedDays)];
  const webhooksBefore = before(Math.min(policy.deliveredDays, policy.failedDays));
  const limit = policy.rowsPerStatement;
  const others: [Counted, D1PreparedStatement][] = [
    ['deliveries', db.prepare(PURGE_DELIVERIES).bind(webhooksBefore, limit)],
    ['delivery_attempts', db.prepare(PURGE_ATTEMPTS).bind(webhooksBefore, limit)],
  ];
  const result: PurgeResult = {
    delivered: 0,
    failed: 0,
    deliveries: 0,
    delivery_attempts: 0,
    expired_secrets: 0,
    dropped_days: 0,
    kept: 0,
    rounds: 0,
    complete: false,
    size_bytes: null,
  };
  const count = (rows: { kind?: string }[]) => {
    for (const row of rows) if (row.kind === 'failed' || row.kind === 'delivered') result[row.kind]++;
  };
  while (result.rounds < policy.maxRounds) {
    const first = result.rounds === 0;
    const round = result.rounds + 1;
    let more = false;
    // A day is expired once its last instant is older than the short age. Empty ones (the
    // neighbours writes make ahead, write.ts) go at once, in one transaction, without a round.
    let expiredDays = (await storedDays(db)).filter((day) => dayStart(addDays(day, 1)) <= cutoffs[0]);
    const empty = await emptyDays(db, expiredDays);
    if (empty.length > 0) {
      await dropEmptyDays(db, empty);
      result.dropped_days += empty.length;
      expiredDays = expiredDays.filter((day) => !empty.includes(day));
    }
    const day = expiredDays[0];
    more = expiredDays.length > 1;
    let dayArchived = archive === undefined;
    if (archive === undefined) {
      const { results } = await db
        .prepare(PURGE_KEPT)
        .bind(...cutoffs, limit)
        .all<{ kind: string }>();
      count(results);
      more ||= results.length >= limit;
    } else {
      // One archive call a round: the day's expired events read so far (or written late), and
      // kept_events' expired ones.
      const dayRead = day === undefined ? null : await readDay(db, day, cutoffs, policy);
      const keptRead = await readRows(db, SELECT_PAST(KEPT_EVENTS, true), cutoffs, ['', ''], policy);
      const handed = [...(dayRead?.rows.filter((row) => row.expired) ?? []), ...keptRead.rows];
      const taken = handed.length > 0 ? await archive(handed, round) : [];
      if (dayRead !== null) {
        const settled = await dayRead.settle(taken);
        result.kept += settled.kept;
        dayArchived = settled.archived;
      }
      const keptIds = new Set(keptRead.rows.map((row) => row.event_id));
      const takenKept = taken.filter((e) => keptIds.has(e.event_id));
      const { results } = await db
        .prepare(DELETE_ARCHIVED)
        .bind(...cutoffs, JSON.stringify(takenKept.map((e) => e.event_id)))
        .all<{ kind: string }>();
      count(results);
      more ||= keptRead.more || takenKept.length < keptRead.rows.length;
    }
    if (day !== undefined) {
      const dropped = dayArchived ? await dropDay(db, day, cutoffs, archive !== undefined) : null;
      if (dropped !== null) {
        result.delivered += dropped.delivered;
        result.failed += dropped.failed;
        result.kept += dropped.kept;
        result.dropped_days++;
      } else more = true;
    }
    const statements = others.map(([, statement]) => statement);
    if (first) statements.push(db.prepare(WIPE_EXPIRED_SECRETS).bind(now.toISOString(), limit));
    const results = await db.batch(statements);
    result.rounds++;
    const counts = results.map((r) => r.meta.changes ?? 0);
    others.forEach(([name], i) => {
      const n = counts[i] ?? 0;
      result[name] += n;
      more ||= n >= limit;
    });
    if (first) result.expired_secrets = counts[others.length] ?? 0;
    result.size_bytes = results.at(-1)?.meta.size_after ?? result.size_bytes;
    if (!more) {
      // Secrets left past the bound wait for the next run, like any other row.
      result.complete = result.expired_secrets < limit;
      break;
    }
  }
  return result;
}

/** Which of `days` have no row (an index probe each). */
async function emptyDays(db: D1Database, days: string[]): Promise<string[]> {
  if (days.length === 0) return [];
  const results = await db.batch<{ held: number }>(
    days.map((day) => db.prepare(`SELECT EXISTS (SELECT 1 FROM ${dayTable(day)}) AS held`)),
  );
  return days.filter((_, i) => results[i]?.results[0]?.held === 0);
}

/** Drops the empty tables of `days` and rebuilds the view, in one transaction. */
async function dropEmptyDays(db: D1Database, days: string[]): Promise<void> {
  const others = (await storedDays(db)).filter((d) => !days.includes(d));
  await db.batch([
    db.prepare(`DROP VIEW IF EXISTS ${EVENTS_VIEW}`),
    ...days.map((day) => db.prepare(`DROP TABLE ${dayTable(day)}`)),
    ...eventsViewSql(others).map((sql) => db.prepare(sql)),
    ...['retention_progress', 'retention_late'].map((table) =>
      db
        .prepare(`DELETE FROM ${table} WHERE day IN (SELECT value FROM json_each(?1))`)
        .bind(JSON.stringify(days)),
    ),
  ]);
}

/** One round of the archive on a day: the rows it read, and what to do once the archive took some. */
interface DayRead {
  rows: ReadEvent[];
  /**
   * After the archive took `taken` of the rows: moves the survivors it passed to kept_events and
   * records how far it got. Answers the rows moved, and whether the day's read is through (it may
   * go, unless a row written late waits: {@link dropDay} checks).
   */
  settle(taken: StoredEvent[]): Promise<{ kept: number; archived: boolean }>;
}

/**
 * The archive's next round on the expired day `day`: its rows past the mark in key order (see
 * the module's comment, "Late writes"), or once the read is through, its rows written behind it.
 */
async function readDay(
  db: D1Database,
  day: string,
  cutoffs: Cutoffs,
  policy: RetentionPolicy,
): Promise<DayRead> {
  const table = dayTable(day);
  const progress = await db
    .prepare(
      'SELECT received_at, event_id, read_received_at, read_event_id FROM retention_progress WHERE day = ?1',
    )
    .bind(day)
    .first<{ received_at: string; event_id: string; read_received_at: string; read_event_id: string }>();
  const after: Key = progress ? [progress.received_at, progress.event_id] : ['', ''];
  const read = await readRows(db, SELECT_PAST(table, false), cutoffs, after, policy);
  const last = read.rows.at(-1);
  if (last !== undefined) {
    // In the turn of the read (no I/O between): from now on a write at or behind what it read is
    // recorded; past the day's last row, any write. The records of the rows it read are done with.
    const reached: Key = read.more ? [last.received_at, last.event_id] : [dayStart(addDays(day, 1)), ''];
    const before: Key = progress ? [progress.read_received_at, progress.read_event_id] : ['', ''];
    const readTo = keyOrder(before, reached) > 0 ? before : reached;
    await db.batch([
      ...LATE_TRIGGERS(day).map((sql) => db.prepare(sql)),
      db
        .prepare(
          `INSERT INTO retention_progress (day, received_at, event_id, read_received_at, read_event_id)
           VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (day) DO UPDATE
           SET read_received_at = excluded.read_received_at, read_event_id = excluded.read_event_id`,
        )
        .bind(day, ...after, ...readTo),
      db
        .prepare(
          'DELETE FROM retention_late WHERE day = ?1 AND event_id IN (SELECT value FROM json_each(?2))',
        )
        .bind(day, JSON.stringify(read.rows.map((row) => row.event_id))),
    ]);
    return settling(db, day, cutoffs, read, (_settled, end) => ({
      scope: {
        sql: '(t.received_at, t.event_id) > (?4, ?5) AND (t.received_at, t.event_id) <= (?6, ?7)',
        params: [...after, end.received_at, end.event_id],
      },
      progress: db
        .prepare('UPDATE retention_progress SET received_at = ?2, event_id = ?3 WHERE day = ?1')
        .bind(day, end.received_at, end.event_id),
    }));
  }
  // Nothing past what was read: every row of the day has been, so a write anywhere in it from now
  // on is recorded (a read that ended on the day's last row left the mark on that row, and a
  // write past it during this round's archive would be dropped with the day, never archived).
  await db
    .prepare('UPDATE retention_progress SET read_received_at = ?2, read_event_id = ?3 WHERE day = ?1')
    .bind(day, dayStart(addDays(day, 1)), '')
    .run();
  const late = await readRows(db, SELECT_LATE(table), cutoffs, [day, 0], policy);
  return settling(db, day, cutoffs, late, (settled) => ({
    scope: {
      sql: 't.event_id IN (SELECT value FROM json_each(?4))',
      params: [JSON.stringify(settled.map((row) => row.event_id))],
    },
    // By seq: a record a write made again meanwhile (a new seq) stays for the next round.
    progress: db
      .prepare('DELETE FROM retention_late WHERE seq IN (SELECT value FROM json_each(?1))')
      .bind(JSON.stringify(late.seqs.slice(0, settled.length))),
  }));
}

/**
 * The {@link DayRead} of a round's `read`: once the archive took some rows, the survivors of the
 * settled prefix (within `pass(…).scope`; `last` is its last row) move to kept_events, in one
 * batch with `pass(…).progress`; nothing moves when none settled. The day's read is through when
 * nothing was left and everything read settled.
 */
function settling(
  db: D1Database,
  day: string,
  cutoffs: Cutoffs,
  read: { rows: ReadEvent[]; more: boolean },
  pass: (
    settled: ReadEvent[],
    last: ReadEvent,
  ) => { scope: { sql: string; params: string[] }; progress: D1PreparedStatement },
): DayRead {
  return {
    rows: read.rows,
    async settle(taken) {
      const settled = settledPrefix(read.rows, taken);
      const last = settled.at(-1);
      let kept = 0;
      if (last !== undefined) {
        const { scope, progress } = pass(settled, last);
        kept = await passSurvivors(db, day, cutoffs, settled, scope, progress);
      }
      return { kept, archived: !read.more && settled.length === read.rows.length };
    },
  };
}

/** Negative, zero or positive as key `a` comes before, is, or comes after key `b`. */
function keyOrder(a: Key, b: Key): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

/**
 * Moves the survivors among the rows `scope` (a condition on the day's table `t`, its parameters
 * from ?4) of the rows a round of the archive passed (`settled`) to kept_events, as the read
 * judged them or as they are now, then runs `progress` (how far it got), in one transaction:
 * nothing it did not archive is left behind to be dropped. Answers the rows moved.
 */
async function passSurvivors(
  db: D1Database,
  day: string,
  cutoffs: Cutoffs,
  settled: { event_id: string; expired: boolean }[],
  scope: { sql: string; params: string[] },
  progress: D1PreparedStatement,
): Promise<number> {
  const table = dayTable(day);
  const survivors = JSON.stringify(settled.filter((row) => !row.expired).map((row) => row.event_id));
  const survivor = `(t.event_id IN (SELECT value FROM json_each(?3)) OR NOT ${EXPIRED})`;
  const bounds = [...cutoffs, survivors, ...scope.params];
  const [moved] = await db.batch([
    db
      .prepare(
        `INSERT INTO ${KEPT_EVENTS} SELECT t.* FROM ${table} AS t WHERE ${scope.sql} AND ${survivor} ${KEEP_FIRST_COPY} RETURNING 1`,
      )
      .bind(...bounds),
    db.prepare(`DELETE FROM ${table} AS t WHERE ${scope.sql} AND ${survivor}`).bind(...bounds),
    progress,
  ]);
  return moved?.results.length ?? 0;
}

/** The database's size in bytes as D1 reports it (`meta.size_after` of a trivial query), or null. */
export async function storeSize(db: D1Database): Promise<number | null> {
  const result = await db.prepare('SELECT 1').run();
  return result.meta.size_after ?? null;
}

/** What {@link purgeDeadLetters} removed. */
export interface DeadLetterPurge {
  dead_letters: number;
  rounds: number;
  /** False when the run stopped at `maxRounds` with more to purge. */
  complete: boolean;
  size_bytes: number | null;
}

/**
 * Deletes the unreadable dead letters older than `policy.failedDays`, in rounds of
 * `rowsPerStatement`, at most `maxRounds`: the retention of the shared D1 database, whose
 * `dead_letters` belong to no tenant (each tenant's store purges itself, {@link purgeExpired}).
 */
export async function purgeDeadLetters(
  db: D1Database,
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): Promise<DeadLetterPurge> {
  const before = new Date(now.getTime() - policy.failedDays * DAY_MS).toISOString();
  const result: DeadLetterPurge = { dead_letters: 0, rounds: 0, complete: false, size_bytes: null };
  while (result.rounds < policy.maxRounds) {
    const { meta } = await db.prepare(PURGE_DEAD_LETTERS).bind(before, policy.rowsPerStatement).run();
    result.rounds++;
    const count = meta.changes ?? 0;
    result.dead_letters += count;
    result.size_bytes = meta.size_after ?? result.size_bytes;
    if (count < policy.rowsPerStatement) {
      result.complete = true;
      break;
    }
  }
  return result;
}

/**
 * Whether the store holds anything {@link purgeExpired} may remove one day (events, deliveries,
 * attempts, replaced signing secrets; an empty day table waits for the next run after a write): a tenant's store keeps waking for retention only then.
 */
export async function holdsExpirable(db: D1Database): Promise<boolean> {
  const held = await db
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM ${EVENTS_VIEW}) OR EXISTS (SELECT 1 FROM deliveries)
              OR EXISTS (SELECT 1 FROM delivery_attempts)
              OR EXISTS (SELECT 1 FROM subscriptions WHERE previous_secrets IS NOT NULL)
              OR EXISTS (SELECT 1 FROM event_claims) OR EXISTS (SELECT 1 FROM counted_outcomes) AS held`,
    )
    .first<number>('held');
  return held === 1;
}
