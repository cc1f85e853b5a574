/**
 * Retention: the store keeps events for a while, not forever. Run by the consumer's scheduled
 * handler, across tenants (an operator path, never a request path), in bounded rounds.
 *
 * - `delivered` events, and acknowledged ones of any final status, older than `deliveredDays`;
 * - `failed` events not acknowledged, and unreadable dead letters, older than `failedDays` (longer:
 *   they wait for someone to look at them or replay them);
 * - `pending` events are never purged: they are in flight;
 * - webhook deliveries only once their event is gone, since a delivery's
 *   UNIQUE (api_key_id, event_id, subscription_id) row is what keeps a replayed event from being
 *   delivered twice; their attempts only once the delivery is gone. Both wait, besides, until they
 *   are older than the shorter of the two ages, so the purge walks only old rows;
 * - subscriptions are the tenant's configuration and stay until deleted through the API; only a
 *   signing secret replaced by a rotation is wiped once its overlap has ended.
 *
 * Ages count from `received_at` (dead letters and deliveries: `created_at`; attempts:
 * `attempted_at`).
 */

export interface RetentionPolicy {
  /** Days a delivered or acknowledged event is kept. */
  deliveredDays: number;
  /** Days a failed, unacknowledged event (and an unreadable dead letter) is kept. */
  failedDays: number;
  /** Rows one statement removes (or, for secrets, changes) at most. */
  rowsPerStatement: number;
  /** Rounds (one `db.batch` of {@link STATEMENTS_PER_ROUND} DELETEs each) one run makes at most. */
  maxRounds: number;
}

/** DELETEs per round: delivered events, failed events, dead letters, deliveries, attempts. */
export const STATEMENTS_PER_ROUND = 5;

/**
 * The defaults. A run makes at most 9 rounds of 5 statements, plus one for expired secrets in its
 * first round: 46 queries, within the Free plan's 50 per Worker invocation (D1 counts each
 * statement of a batch). It removes up to 45,000 rows of each kind; run every 5 minutes, that is
 * 12.96 million rows of each kind a day, 150 a second: more than 100 events per second, each with
 * one delivery and one attempt, bring.
 */
export const DEFAULT_RETENTION: RetentionPolicy = {
  deliveredDays: 7,
  failedDays: 30,
  rowsPerStatement: 5_000,
  maxRounds: 9,
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
  /** Subscriptions whose previous signing secret, past its overlap, was wiped. */
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

const PURGE_DELIVERED = PURGE_EVENTS(
  "(status = 'delivered' OR (acked_at IS NOT NULL AND status <> 'pending'))",
);
const PURGE_FAILED = PURGE_EVENTS("status = 'failed' AND acked_at IS NULL");
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
const WIPE_EXPIRED_SECRETS = `UPDATE subscriptions SET previous_secret = NULL, previous_secret_expires_at = NULL
  WHERE rowid IN (SELECT rowid FROM subscriptions
    WHERE previous_secret IS NOT NULL AND previous_secret_expires_at < ?1 LIMIT ?2)`;

/** Deletes what `policy` says has expired at `now`, in rounds, until nothing is left or `maxRounds`. */
export async function purgeExpired(
  db: D1Database,
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): Promise<PurgeResult> {
  const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  const deliveredBefore = before(policy.deliveredDays);
  const failedBefore = before(policy.failedDays);
  const webhooksBefore = before(Math.min(policy.deliveredDays, policy.failedDays));
  const limit = policy.rowsPerStatement;
  const round: [Counted, D1PreparedStatement][] = [
    ['delivered', db.prepare(PURGE_DELIVERED).bind(deliveredBefore, limit)],
    ['failed', db.prepare(PURGE_FAILED).bind(failedBefore, limit)],
    ['dead_letters', db.prepare(PURGE_DEAD_LETTERS).bind(failedBefore, limit)],
    ['deliveries', db.prepare(PURGE_DELIVERIES).bind(webhooksBefore, limit)],
    ['delivery_attempts', db.prepare(PURGE_ATTEMPTS).bind(webhooksBefore, limit)],
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
    const statements = round.map(([, statement]) => statement);
    if (first) statements.push(db.prepare(WIPE_EXPIRED_SECRETS).bind(now.toISOString(), limit));
    const results = await db.batch(statements);
    result.rounds++;
    const counts = results.map((r) => r.meta.changes ?? 0);
    round.forEach(([name], i) => {
      result[name] += counts[i] ?? 0;
    });
    if (first) result.expired_secrets = counts[round.length] ?? 0;
    result.size_bytes = results.at(-1)?.meta.size_after ?? result.size_bytes;
    if (counts.slice(0, round.length).every((count) => count < limit)) {
      // Secrets left past the bound wait for the next run, like any other row.
      result.complete = result.expired_secrets < limit;
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
