/**
 * Retention: the store keeps events for a while, not forever. Run by the consumer's scheduled
 * handler, across tenants (an operator path, never a request path), in bounded rounds.
 *
 * - `delivered` events, and acknowledged ones of any final status, older than `deliveredDays`;
 * - `failed` events not acknowledged, and unreadable dead letters, older than `failedDays` (longer:
 *   they wait for someone to look at them or replay them);
 * - `pending` events are never purged: they are in flight.
 *
 * Ages count from `received_at` (dead letters: `created_at`).
 */

export interface RetentionPolicy {
  /** Days a delivered or acknowledged event is kept. */
  deliveredDays: number;
  /** Days a failed, unacknowledged event (and an unreadable dead letter) is kept. */
  failedDays: number;
  /** Rows one DELETE statement removes at most. */
  rowsPerStatement: number;
  /** Rounds (one `db.batch` of three DELETEs each) one run makes at most. */
  maxRounds: number;
}

/**
 * The defaults. A run makes at most 10 rounds of 3 statements: 30 queries, within the Free plan's
 * 50 per Worker invocation, and removes up to 50,000 rows of each kind. Run every 5 minutes, that
 * is 14.4 million rows of each kind a day, more than 100 events per second arrive.
 */
export const DEFAULT_RETENTION: RetentionPolicy = {
  deliveredDays: 7,
  failedDays: 30,
  rowsPerStatement: 5_000,
  maxRounds: 10,
};

export interface PurgeResult {
  delivered: number;
  failed: number;
  dead_letters: number;
  rounds: number;
  /** False when the run stopped at `maxRounds` with more to purge: the next run goes on. */
  complete: boolean;
  /** The database's size after the run, as D1 reports it (`meta.size_after`), when it does. */
  size_bytes: number | null;
}

const DAY_MS = 86_400_000;

const PURGE_EVENTS = (condition: string) => `DELETE FROM events WHERE rowid IN (
  SELECT rowid FROM events WHERE received_at < ?1 AND ${condition} ORDER BY received_at LIMIT ?2)`;

const PURGE_DELIVERED = PURGE_EVENTS(
  "(status = 'delivered' OR (acked_at IS NOT NULL AND status <> 'pending'))",
);
const PURGE_FAILED = PURGE_EVENTS("status = 'failed' AND acked_at IS NULL");
const PURGE_DEAD_LETTERS = `DELETE FROM dead_letters WHERE rowid IN (
  SELECT rowid FROM dead_letters WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)`;

/** Deletes what `policy` says has expired at `now`, in rounds, until nothing is left or `maxRounds`. */
export async function purgeExpired(
  db: D1Database,
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): Promise<PurgeResult> {
  const deliveredBefore = new Date(now.getTime() - policy.deliveredDays * DAY_MS).toISOString();
  const failedBefore = new Date(now.getTime() - policy.failedDays * DAY_MS).toISOString();
  const limit = policy.rowsPerStatement;
  const result: PurgeResult = {
    delivered: 0,
    failed: 0,
    dead_letters: 0,
    rounds: 0,
    complete: false,
    size_bytes: null,
  };
  while (result.rounds < policy.maxRounds) {
    const [delivered, failed, letters] = await db.batch([
      db.prepare(PURGE_DELIVERED).bind(deliveredBefore, limit),
      db.prepare(PURGE_FAILED).bind(failedBefore, limit),
      db.prepare(PURGE_DEAD_LETTERS).bind(failedBefore, limit),
    ]);
    result.rounds++;
    const counts = [delivered, failed, letters].map((r) => r?.meta.changes ?? 0);
    result.delivered += counts[0] ?? 0;
    result.failed += counts[1] ?? 0;
    result.dead_letters += counts[2] ?? 0;
    result.size_bytes = letters?.meta.size_after ?? result.size_bytes;
    if (counts.every((count) => count < limit)) {
      result.complete = true;
      break;
    }
  }
  return result;
}

/** The database's size in bytes as D1 reports it (`meta.size_after` of a trivial query), or null. */
export async function storeSize(db: D1Database): Promise<number | null> {
  const result = await db.prepare('SELECT 1').run();
  return result.meta.size_after ?? null;
}
