import { holdsExpirable, TenantStore as StoreObject, type TenantOp } from '@triggers/event-store';
import { createLogger, type Logger, parseLogLevel } from '@triggers/log';
import type { ConsumerEnv } from './env.ts';
import { retainTenant, warnIfNearlyFull } from './retention.ts';

/** How long a store waits between two retention runs while it holds anything to purge one day. */
export const RETENTION_INTERVAL_MS = 3_600_000;
/** How soon a run that stopped at its bound (more to purge) goes on. */
export const RETENTION_CATCH_UP_MS = 60_000;
/** How often at most a store checks its size after a write. */
export const STORE_WATCH_INTERVAL_MS = 60_000;

/** The operations that only read: every other one arms the retention alarm. */
const READS: ReadonlySet<TenantOp> = new Set<TenantOp>([
  'getEvent',
  'listEvents',
  'eventStats',
  'listSubscriptions',
  'getSubscription',
  'loadDeliveryWork',
  'listDeliveries',
  'storeCounts',
]);

/** This Worker's logger, every line naming the store's tenant. */
const logger = (env: ConsumerEnv, tenant: string | null): Logger =>
  createLogger({ api_key_id: tenant ?? undefined }, parseLogLevel(env.LOG_LEVEL));

/**
 * The tenant store class this Worker hosts (wrangler.toml `TENANTS`): event-store's TenantStore,
 * with this Worker's environment and its retention.
 *
 * - Retention runs on the object's alarm, one tenant at a time: a write arms it (if none is set)
 *   {@link RETENTION_INTERVAL_MS} ahead; the run ({@link retainTenant}) purges and archives as the
 *   settings say, then arms the next one, {@link RETENTION_CATCH_UP_MS} ahead when it stopped at
 *   its bound, else the interval ahead while the store still holds anything to purge one day. A
 *   failed run (the archive down, say) is logged and tried again an interval later.
 * - The store's size: past `STORE_WARN_BYTES` a write logs `event store nearly full`, at most once
 *   per {@link STORE_WATCH_INTERVAL_MS} per object, so the alarm keeps ringing while events arrive,
 *   between retention runs.
 */
export class TenantStore extends StoreObject<ConsumerEnv> {
  /** When this object may next check its size after a write (ms since the epoch). */
  #nextWatchAt = 0;

  protected override async afterRun(op: TenantOp): Promise<void> {
    if (READS.has(op)) return;
    const now = Date.now();
    if (now >= this.#nextWatchAt) {
      this.#nextWatchAt = now + STORE_WATCH_INTERVAL_MS;
      warnIfNearlyFull(this.env, logger(this.env, this.tenant()), this.ctx.storage.sql.databaseSize);
    }
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(now + RETENTION_INTERVAL_MS);
    }
  }

  /** The retention run of this tenant's store. */
  override async alarm(): Promise<void> {
    const tenant = this.tenant();
    if (tenant === null) return; // never used, or erased: nothing to purge
    const now = new Date();
    let next: number | null;
    try {
      const result = await retainTenant(this.db, this.env, logger(this.env, tenant), now);
      if (!result.complete) next = RETENTION_CATCH_UP_MS;
      else next = (await holdsExpirable(this.db)) ? RETENTION_INTERVAL_MS : null;
    } catch {
      // Logged by retainTenant. Not thrown: the platform's few quick retries would not outlast an
      // archive outage, and a store no longer written to would never be purged again.
      next = RETENTION_INTERVAL_MS;
    }
    if (next !== null) await this.ctx.storage.setAlarm(now.getTime() + next);
  }
}
