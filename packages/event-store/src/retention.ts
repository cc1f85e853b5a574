/**
 * Retention: the store keeps events for a while, not forever. Run by the consumer's scheduled
 * handler, across tenants (an operator path, never a request path), in bounded rounds.
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
 * Ages count from `received_at`; a delivered or acknowledged event also waits the short age after
 * its last change (`updated_at`), so an old failed event replayed and stored lately is not purged,
 * its webhook deliveries still running, at the next run. Dead letters and deliveries count from
 * `created_at`; attempts from `attempted_at`.
 *
 * With an `archive` callback (the consumer's R2 archive), each round first reads the expired
 * events (at most `rowsPerStatement`, and about `archiveBytesPerRound` of payload), hands them to
 * it, and deletes them only once it has resolved: an archive that fails deletes nothing.
 */
import { type StoredEvent, toStoredEvent } from './read.ts';

export interface RetentionPolicy {
  /** Days a delivered or acknowledged event is kept. */
  deliveredDays: number;
  /** Days a failed, unacknowledged event (and an unreadable dead letter) is kept. */
  failedDays: number;
  /** Rows one statement removes (or, for secrets, changes) at most. */
  rowsPerStatement: number;
  /** Rounds (one `db.batch` of {@link STATEMENTS_PER_ROUND} DELETEs each) one run makes at most. */
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
 * Statements per round: delivered events, failed events, dead letters, deliveries, attempts; when
 * archiving, the events' SELECT and one DELETE of what it read, in place of the first two.
 */
export const STATEMENTS_PER_ROUND = 5;

/**
 * The defaults. A run makes at most 9 rounds of 5 statements, plus one for expired secrets in its
 * first round: 46 queries, within the Free plan's 50 per Worker invocation (D1 counts each
 * statement of a batch). It removes up to 45,000 rows of each kind; run every 5 minutes, that is
 * 12.96 million rows of each kind a day, 150 a second: more than 100 events per second, each with
 * one delivery and one attempt, bring. Archiving keeps the count (a round's SELECT and one events
 * DELETE replace its two events DELETEs) but reads at most 5,000 events a round, of both kinds
 * together, and about 8 MB of payload: 45,000 small events a run, 150 a second.
 */
export const DEFAULT_RETENTION: RetentionPolicy = {
  deliveredDays: 7,
  failedDays: 30,
  rowsPerStatement: 5_000,
  maxRounds: 9,
  archiveBytesPerRound: 8_000_000,
};

/** Queries a run makes at most under `policy`. */
export function queriesPerRun(policy: RetentionPolicy): number {
  return policy.maxRounds * STATEMENTS_PER_ROUND + 1;
}

export interface PurgeResult {
  delivered: number;
  failed: number;
  dead_letters: number;
  /** Webhook deliveries whose event was gone. */
  deliveries: number;
  /** Attempts of deliveries that were gone. */
  delivery_attempts: number;
  /** Subscriptions of which a replaced signing secret, past its overlap, was wiped. */
  expired_secrets: number;
  rounds: number;
  /** False when the run stopped at `maxRounds` with more to purge: the next run goes on. */
  complete: boolean;
  /** The database's size after the run, as D1 reports it (`meta.size_after`), when it does. */
  size_bytes: number | null;
}

type Counted = 'delivered' | 'failed' | 'dead_letters' | 'deliveries' | 'delivery_attempts';

const DAY_MS = 86_400_000;

// Each statement deletes at most ?2 rows older than ?1, oldest first, through the index on its
// age column (migrations 0004 and 0006), by rowid so that LIMIT bounds the DELETE.
const PURGE_EVENTS = (condition: string) => `DELETE FROM events WHERE rowid IN (
  SELECT rowid FROM events WHERE received_at < ?1 AND ${condition} ORDER BY received_at LIMIT ?2)`;

// A delivered event also waits the short age after its last change (?1 is that age's cutoff in
// every statement using it): a failed event replayed and stored lately keeps its webhooks' event.
// Neither kind goes while one of its webhook deliveries is pending (through the deliveries'
// UNIQUE (api_key_id, event_id, subscription_id) index).
const NO_PENDING_DELIVERY = `NOT EXISTS (SELECT 1 FROM deliveries AS d
  WHERE d.api_key_id = events.api_key_id AND d.event_id = events.event_id AND d.status = 'pending')`;
const DELIVERED_OR_ACKED = `(updated_at < ?1 AND (status = 'delivered' OR (acked_at IS NOT NULL AND status <> 'pending'))
  AND ${NO_PENDING_DELIVERY})`;
const FAILED_UNACKED = "(status = 'failed' AND acked_at IS NULL)";
const FAILED_TO_PURGE = `(${FAILED_UNACKED} AND ${NO_PENDING_DELIVERY})`;
const PURGE_DELIVERED = PURGE_EVENTS(DELIVERED_OR_ACKED);
const PURGE_FAILED = PURGE_EVENTS(FAILED_TO_PURGE);
// Archiving: both kinds at once (?1 delivered cutoff, ?2 failed cutoff, ?3 the later of the two,
// for the index), oldest first, at most ?4 rows and about ?5 characters of payload and metadata
// (a row is read when what precedes it is under ?5, so the first always is). `candidates` is how
// many rows the LIMIT let through: more than were read means the budget cut the round short.
const SELECT_EXPIRED = `SELECT * FROM (
  SELECT *, sum(size) OVER (ORDER BY received_at, event_id ROWS UNBOUNDED PRECEDING) - size AS before,
         count(*) OVER () AS candidates
  FROM (SELECT *, length(payload) + coalesce(length(metadata), 0) AS size FROM events
    WHERE received_at < ?3 AND ((received_at < ?1 AND ${DELIVERED_OR_ACKED})
                                OR (received_at < ?2 AND ${FAILED_TO_PURGE}))
    ORDER BY received_at LIMIT ?4))
WHERE before < ?5`;
// What was archived, unless a replay made it pending meanwhile or a manual retry one of its
// deliveries; RETURNING tells which kind it was.
const DELETE_ARCHIVED = `DELETE FROM events WHERE event_id IN (SELECT value FROM json_each(?1))
  AND status <> 'pending' AND ${NO_PENDING_DELIVERY}
  RETURNING CASE WHEN ${FAILED_UNACKED} THEN 'failed' ELSE 'delivered' END AS kind`;
const PURGE_DEAD_LETTERS = `DELETE FROM dead_letters WHERE rowid IN (
  SELECT rowid FROM dead_letters WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)`;
// After the events of the same round: a delivery goes in the round its event went, or later.
const PURGE_DELIVERIES = `DELETE FROM deliveries WHERE rowid IN (
  SELECT rowid FROM deliveries AS d WHERE d.created_at < ?1 AND NOT EXISTS (
    SELECT 1 FROM events AS e WHERE e.event_id = d.event_id AND e.api_key_id = d.api_key_id)
  ORDER BY d.created_at LIMIT ?2)`;
const PURGE_ATTEMPTS = `DELETE FROM delivery_attempts WHERE rowid IN (
  SELECT rowid FROM delivery_attempts AS a WHERE a.attempted_at < ?1 AND NOT EXISTS (
    SELECT 1 FROM deliveries AS d WHERE d.api_key_id = a.api_key_id AND d.id = a.delivery_id)
  ORDER BY a.attempted_at LIMIT ?2)`;
// Each replaced signing secret past its end is dropped; the column goes back to NULL once none is
// left. Walks only the subscriptions that have some (a partial index, migration 0007).
const WIPE_EXPIRED_SECRETS = `UPDATE subscriptions SET previous_secrets = (
    SELECT CASE WHEN count(*) = 0 THEN NULL ELSE json_group_array(json(p.value)) END
    FROM json_each(subscriptions.previous_secrets) AS p WHERE p.value ->> '$.expires_at' >= ?1)
  WHERE rowid IN (SELECT rowid FROM subscriptions AS s WHERE s.previous_secrets IS NOT NULL AND EXISTS (
    SELECT 1 FROM json_each(s.previous_secrets) AS p WHERE p.value ->> '$.expires_at' < ?1) LIMIT ?2)`;

/**
 * Deletes what `policy` says has expired at `now`, in rounds, until nothing is left or `maxRounds`.
 * With `archive`, each round's expired events are handed to it first, and deleted once it resolves;
 * if it rejects, the run throws with that round's events still stored.
 */
export async function purgeExpired(
  db: D1Database,
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
  archive?: ArchiveEvents,
): Promise<PurgeResult> {
  const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  const deliveredBefore = before(policy.deliveredDays);
  const failedBefore = before(policy.failedDays);
  const webhooksBefore = before(Math.min(policy.deliveredDays, policy.failedDays));
  const limit = policy.rowsPerStatement;
  const others: [Counted, D1PreparedStatement][] = [
    ['dead_letters', db.prepare(PURGE_DEAD_LETTERS).bind(failedBefore, limit)],
    ['deliveries', db.prepare(PURGE_DELIVERIES).bind(webhooksBefore, limit)],
    ['delivery_attempts', db.prepare(PURGE_ATTEMPTS).bind(webhooksBefore, limit)],
  ];
  const purgeEvents: [Counted, D1PreparedStatement][] = [
    ['delivered', db.prepare(PURGE_DELIVERED).bind(deliveredBefore, limit)],
    ['failed', db.prepare(PURGE_FAILED).bind(failedBefore, limit)],
  ];
  const result: PurgeResult = {
    delivered: 0,
    failed: 0,
    dead_letters: 0,
    deliveries: 0,
    delivery_attempts: 0,
    expired_secrets: 0,
    rounds: 0,
    complete: false,
    size_bytes: null,
  };
  while (result.rounds < policy.maxRounds) {
    const first = result.rounds === 0;
    let more = false;
    const statements = others.map(([, statement]) => statement);
    if (archive === undefined) {
      statements.unshift(...purgeEvents.map(([, statement]) => statement));
    } else {
      const read = await readExpired(db, [deliveredBefore, failedBefore], policy);
      const archived = read.events.length > 0 ? await archive(read.events, result.rounds + 1) : [];
      const ids = JSON.stringify(archived.map((e) => e.event_id));
      statements.unshift(db.prepare(DELETE_ARCHIVED).bind(ids));
      more = read.more || archived.length < read.events.length;
    }
    if (first) statements.push(db.prepare(WIPE_EXPIRED_SECRETS).bind(now.toISOString(), limit));
    const results = await db.batch<{ kind?: Counted }>(statements);
    result.rounds++;
    const counts = results.map((r) => r.meta.changes ?? 0);
    const eventStatements = archive === undefined ? purgeEvents.length : 1;
    if (archive === undefined) {
      purgeEvents.forEach(([name], i) => {
        result[name] += counts[i] ?? 0;
        more ||= (counts[i] ?? 0) >= limit;
      });
    } else {
      for (const row of results[0]?.results ?? []) if (row.kind) result[row.kind]++;
    }
    others.forEach(([name], i) => {
      const count = counts[eventStatements + i] ?? 0;
      result[name] += count;
      more ||= count >= limit;
    });
    if (first) result.expired_secrets = counts[eventStatements + others.length] ?? 0;
    result.size_bytes = results.at(-1)?.meta.size_after ?? result.size_bytes;
    if (!more) {
      // Secrets left past the bound wait for the next run, like any other row.
      result.complete = result.expired_secrets < limit;
      break;
    }
  }
  return result;
}

/** One round's expired events, oldest first, within the policy's bounds; `more` if some were left. */
async function readExpired(
  db: D1Database,
  [deliveredBefore, failedBefore]: [string, string],
  policy: RetentionPolicy,
): Promise<{ events: StoredEvent[]; more: boolean }> {
  const latest = deliveredBefore > failedBefore ? deliveredBefore : failedBefore;
  const { results } = await db
    .prepare(SELECT_EXPIRED)
    .bind(deliveredBefore, failedBefore, latest, policy.rowsPerStatement, policy.archiveBytesPerRound)
    .all<{ candidates: number }>();
  const candidates = results[0]?.candidates ?? 0;
  return {
    events: results.map(toStoredEvent),
    more: candidates > results.length || candidates >= policy.rowsPerStatement,
  };
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
 * attempts, replaced signing secrets): a tenant's store keeps waking for retention only then.
 */
export async function holdsExpirable(db: D1Database): Promise<boolean> {
  const held = await db
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM deliveries)
              OR EXISTS (SELECT 1 FROM delivery_attempts) OR EXISTS (SELECT 1 FROM dead_letters)
              OR EXISTS (SELECT 1 FROM subscriptions WHERE previous_secrets IS NOT NULL) AS held`,
    )
    .first<number>('held');
  return held === 1;
}
