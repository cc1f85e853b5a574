import {
  countEvents,
  deleteStoreSize,
  holdsExpirable,
  isEraName,
  purgeClaims,
  reportTenantSize,
  TenantStore as StoreObject,
  type TenantOp,
} from '@triggers/event-store';
import { createLogger, describeError, type Logger, parseLogLevel } from '@triggers/log';
import type { ConsumerEnv } from './env.ts';
import { retainTenant, warnIfNearlyFull } from './retention.ts';
import { settingsOf } from './settings.ts';

/** How long a store waits between two retention runs while it holds anything to purge one day. */
export const RETENTION_INTERVAL_MS = 3_600_000;
/** How soon a run that stopped at its bound (more to purge) goes on. */
export const RETENTION_CATCH_UP_MS = 60_000;
/** How often at most a store checks its size after a write, and reports it to the tenant register. */
export const STORE_WATCH_INTERVAL_MS = 60_000;
/** How often at most a store counts its events for the register: a count reads every row. */
export const EVENT_COUNT_INTERVAL_MS = 3_600_000;
/**
 * How long after its span ended an empty era is retired (event-store eras.ts): past the longest
 * retention, and the 14 days a queue can keep a message, so that nothing can still be written to it.
 */
export const eraRetireAfterMs = (failedDays: number): number => (failedDays + 14) * 86_400_000;
/** Where a store keeps its last count (its own key-value storage, emptied by an erase). */
const LAST_COUNT = 'tenant_sizes.last_count';

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
  'subscriptionRows',
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
 * - The same watch, and each retention run, report the size to D1's tenant register
 *   (`tenant_stores`, what `pnpm tenants:list` shows), with the event count, counted at most once per
 *   {@link EVENT_COUNT_INTERVAL_MS} (kept in the object's storage, so an evicted object does not
 *   count again). A report that fails is logged (`tenant size not reported`), never thrown: the
 *   write it follows has committed.
 */
export class TenantStore extends StoreObject<ConsumerEnv> {
  /** When this object may next check its size after a write (ms since the epoch). */
  #nextWatchAt = 0;

  protected override async afterRun(op: TenantOp): Promise<void> {
    const now = Date.now();
    if (READS.has(op)) {
      // An era's object read again after it was retired (a list cached elsewhere) is made again:
      // its alarm must find it, or it stays forever.
      const name = this.ctx.id.name;
      if (name !== undefined && isEraName(name) && (await this.ctx.storage.getAlarm()) === null) {
        await this.ctx.storage.setAlarm(now + RETENTION_INTERVAL_MS);
      }
      return;
    }
    if (now >= this.#nextWatchAt) {
      this.#nextWatchAt = now + STORE_WATCH_INTERVAL_MS;
      const log = logger(this.env, this.tenant());
      const bytes = this.ctx.storage.sql.databaseSize;
      warnIfNearlyFull(this.env, log, bytes);
      await this.#report(bytes, log, now);
    }
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(now + RETENTION_INTERVAL_MS);
    }
  }

  /** Reports the store's size and event count to the tenant register; logs a failure. */
  async #report(bytes: number, log: Logger, now: number): Promise<void> {
    const tenant = this.tenant();
    if (tenant === null) return;
    try {
      const kv = this.ctx.storage.kv;
      let last = kv.get<{ events: number; counted_at: number }>(LAST_COUNT);
      if (last === undefined || now - last.counted_at >= EVENT_COUNT_INTERVAL_MS) {
        last = { events: await countEvents(this.db), counted_at: now };
        kv.put(LAST_COUNT, last);
      }
      // The object's own name: the tenant's id for its head, `<tenant>@<start>` for an era.
      const store = this.ctx.id.name ?? tenant;
      const report = {
        apiKeyId: tenant,
        store,
        bytes,
        events: last.events,
        countedAt: new Date(last.counted_at),
      };
      await reportTenantSize(this.env.DB, report, new Date(now));
    } catch (err) {
      log.log('warn', 'tenant size not reported', { error: describeError(err) });
    }
  }

  /** The retention run of this tenant's store. */
  override async alarm(): Promise<void> {
    const tenant = this.tenant();
    if (tenant === null) return; // never used, or erased: nothing to purge
    const now = new Date();
    const log = logger(this.env, tenant);
    let next: number | null;
    // A copy of the subscriptions to the tenant's eras that failed goes again (eras.ts).
    await this.copyIfStale();
    try {
      await purgeClaims(this.db, now);
      const result = await retainTenant(this.db, this.env, log, now);
      if (!result.complete) next = RETENTION_CATCH_UP_MS;
      else next = (await holdsExpirable(this.db)) ? RETENTION_INTERVAL_MS : null;
    } catch {
      // Logged by retainTenant. Not thrown: the platform's few quick retries would not outlast an
      // archive outage, and a store no longer written to would never be purged again.
      next = RETENTION_INTERVAL_MS;
    }
    if (next === null) {
      // An era holding nothing any more leaves its tenant's list once no message can reach it.
      try {
        const retired = await this.retireIfEmpty(eraRetireAfterMs(settingsOf(this.env).retention.failedDays));
        if (retired === 'retired') {
          await deleteStoreSize(this.env.DB, tenant, this.ctx.id.name ?? tenant);
          log.log('info', 'tenant store era retired', { store: this.ctx.id.name });
          return;
        }
        if (retired !== null) next = Math.max(retired - now.getTime(), RETENTION_CATCH_UP_MS);
      } catch (err) {
        log.log('warn', 'tenant store era not retired', { error: describeError(err) });
        next = RETENTION_INTERVAL_MS;
      }
    }
    // What the run freed shows in the register now, not at the next write: a store whose sends
    // are refused (STORE_FULL) is written to again only once it has room.
    await this.#report(this.ctx.storage.sql.databaseSize, log, now.getTime());
    if (next !== null) {
      // A sooner one set during the run (a failed copy of the subscriptions, tried again) stands.
      const pending = await this.ctx.storage.getAlarm();
      if (pending === null || pending > now.getTime() + next)
        await this.ctx.storage.setAlarm(now.getTime() + next);
    }
  }
}
