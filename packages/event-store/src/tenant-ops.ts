/**
 * What a tenant's store object does: every read and write of one tenant's data, each run inside
 * the tenant's own Durable Object (tenant-store.ts) on its own SQLite, with the queries of this
 * package (through sqlite-d1.ts). An operation is `(db, ...args)`; the client (client.ts) calls
 * it by name with the tenant bound, so the arguments and answers cross the RPC boundary and must
 * be structured-cloneable: plain objects, arrays, dates; never a prepared statement.
 */
import { ackEvent } from './ack.ts';
import {
  abandonDelivery,
  countDeliveryOutcome,
  deliveryEnded,
  fanOut,
  listDeliveries,
  loadDeliveryWork,
  recordAttempt,
  restartDelivery,
  restartFailedDeliveries,
  subscribedKeys,
  unrestartDeliveries,
} from './deliveries.ts';
import { claimEvents, copySubscriptions, subscriptionRows } from './era-ops.ts';
import { importRows } from './import-rows.ts';
import { listEvents } from './list.ts';
import { getEvent } from './read.ts';
import { replayEvent, replayFailed, restoreFailed } from './replay.ts';
import { eventStats } from './stats.ts';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  rotateSubscriptionSecret,
  updateSubscription,
} from './subscriptions.ts';
import { commit, type PreparedWrites, writePrepared } from './write.ts';

/** The ids each kind of write changed now (a missing id was final already: a duplicate). */
export interface WrittenEvents {
  delivered: string[];
  retry: string[];
  failed: string[];
  /** Whether the tenant has an enabled subscription: only then is the fan-out sent. */
  subscribed: boolean;
}

/**
 * Writes one tenant's share of a batch in one transaction of its store. Its events come
 * serialized ({@link PreparedWrites}): the client's `writeEvents` prepares them (client.ts).
 */
async function writeEvents(db: D1Database, prepared: PreparedWrites, now: Date): Promise<WrittenEvents> {
  const [delivered, retry, failed, subscribed] = await commit(db, [
    ...writePrepared(db, prepared, now),
    subscribedKeys(db, prepared.fanOutTenants),
  ]);
  return {
    delivered: [...delivered],
    retry: [...retry],
    failed: [...failed],
    subscribed: subscribed.size > 0,
  };
}

/** Counts of what the store holds, for the operator and the migration's verification. */
async function storeCounts(
  db: D1Database,
): Promise<{ events: number; subscriptions: number; deliveries: number }> {
  const row = await db
    .prepare(
      `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM subscriptions) AS subscriptions,
              (SELECT count(*) FROM deliveries) AS deliveries`,
    )
    .first<{ events: number; subscriptions: number; deliveries: number }>();
  return row ?? { events: 0, subscriptions: 0, deliveries: 0 };
}

export const TENANT_OPS = {
  getEvent,
  listEvents,
  ackEvent,
  replayEvent,
  replayFailed,
  restoreFailed,
  eventStats,
  createSubscription,
  listSubscriptions,
  getSubscription,
  updateSubscription,
  deleteSubscription,
  rotateSubscriptionSecret,
  fanOut,
  loadDeliveryWork,
  recordAttempt,
  abandonDelivery,
  deliveryEnded,
  listDeliveries,
  restartDelivery,
  restartFailedDeliveries,
  unrestartDeliveries,
  writeEvents,
  storeCounts,
  importRows,
  claimEvents,
  subscriptionRows,
  copySubscriptions,
  countDeliveryOutcome,
};

export type TenantOps = typeof TENANT_OPS;
export type TenantOp = keyof TenantOps;
/** An operation's arguments after the database. */
export type OpArgs<K extends TenantOp> = TenantOps[K] extends (db: D1Database, ...rest: infer A) => unknown
  ? A
  : never;
export type OpResult<K extends TenantOp> = Awaited<ReturnType<TenantOps[K]>>;
