/**
 * One tenant's store: a SQLite-backed Durable Object per tenant, addressed by the tenant's id
 * (its API key id), holding that tenant's events, subscriptions, deliveries and attempts and
 * nothing else. The consumer Worker hosts the class (apps/consumer, which adds retention on the
 * object's alarm); the ingest Worker binds it through `script_name`. Both reach it only through
 * {@link tenantStore} (client.ts) with the tenant of the request or message.
 *
 * - The schema: the fixed tables of store-migrations/*.sql (src/schema.ts), applied by the object
 *   to itself when it starts, each once, in one transaction each; the events tables, one per day
 *   received, made by code as writes need them (partitions.ts).
 * - The first call names the object's tenant, kept in `store_owner`; a call for another tenant is
 *   refused ({@link WrongTenant}): isolation is structural, not only a `WHERE` clause.
 * - Every operation (tenant-ops.ts) runs on the object's own SQLite, one call at a time.
 */
import { DurableObject } from 'cloudflare:workers';
import { type EraList, eraName, eraStartOf, nextEraStart } from './eras.ts';
import {
  addDays,
  DAY_TABLES_SQL,
  dayOf,
  dayStart,
  dayTable,
  EVENT_COLUMNS,
  EVENTS_VIEW,
  eventsTableSql,
  eventsViewSql,
  KEPT_EVENTS,
  tableDay,
} from './partitions.ts';
import { MIGRATIONS } from './schema.ts';
import { sqliteAsD1 } from './sqlite-d1.ts';
import { type OpArgs, type OpResult, TENANT_OPS, type TenantOp, type WrittenEvents } from './tenant-ops.ts';
import type { PreparedWrites } from './write.ts';

/** Thrown when an object is called for a tenant other than its own. */
export class WrongTenant extends Error {
  constructor() {
    super('this store belongs to another tenant');
    this.name = 'WrongTenant';
  }
}

/** Thrown when a call names no operation of tenant-ops.ts. */
export class UnknownOp extends Error {
  constructor(op: string) {
    super(`unknown store operation ${op}`);
    this.name = 'UnknownOp';
  }
}

/** The last of the D1 migrations an object applied to itself before the day partitions. */
const SHARED_LAYOUT = '0007_signing_secrets.sql';
/** The store migration whose tables such an object holds already. */
const BASELINE = '0001_tenant_store.sql';
/**
 * D1 migrations such an object may have applied to itself after 0007, each with the store
 * migration that makes the same change: recorded as applied with the baseline, never run twice.
 */
const SHARED_LAYOUT_EQUIVALENTS: Readonly<Record<string, string>> = {
  '0008_subscription_filters.sql': '0003_subscription_filters.sql',
  '0010_subscription_disabled_at.sql': '0004_subscription_disabled_at.sql',
};

/**
 * Moves an object of the layout before the day partitions (one `events` table, made by the D1
 * migrations; only local and dev objects have it) to the partitioned one, in place: its rows go
 * to their day tables, `events` and the unused `dead_letters` are dropped, and the baseline
 * migration, whose tables it holds already, is recorded as applied, with the store migrations
 * of the later D1 ones it applied.
 */
function partitionSharedLayout(sql: SqlStorage, applied: ReadonlySet<string>): void {
  const legacy = sql
    .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'")
    .toArray().length;
  if (legacy > 0) {
    const days = sql
      .exec<{ day: string }>('SELECT DISTINCT substr(received_at, 1, 10) AS day FROM events')
      .toArray()
      .map((r) => dayOf(r.day));
    const columns = EVENT_COLUMNS.join(', ');
    for (const day of days) {
      for (const statement of eventsTableSql(dayTable(day))) sql.exec(statement);
      sql.exec(
        `INSERT INTO ${dayTable(day)} (${columns}) SELECT ${columns} FROM events
         WHERE received_at >= ?1 AND received_at < ?2`,
        dayStart(day),
        dayStart(addDays(day, 1)),
      );
    }
    sql.exec('DROP TABLE events');
  }
  sql.exec('DROP TABLE IF EXISTS dead_letters');
  const held = Object.entries(SHARED_LAYOUT_EQUIVALENTS)
    .filter(([d1]) => applied.has(d1))
    .map(([, store]) => store);
  for (const name of [BASELINE, ...held]) {
    sql.exec('INSERT INTO store_migrations (name, applied_at) VALUES (?, ?)', name, new Date().toISOString());
  }
}

/**
 * Applies the migrations not applied yet, in order, then makes `kept_events` and the `events`
 * view if missing (partitions.ts); answers how many migrations it applied. An object of the
 * layout before the day partitions is moved to it first ({@link partitionSharedLayout}).
 */
export function migrateStore(storage: DurableObjectStorage): number {
  const sql = storage.sql;
  sql.exec('CREATE TABLE IF NOT EXISTS store_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  sql.exec('CREATE TABLE IF NOT EXISTS store_owner (tenant TEXT PRIMARY KEY)');
  const applied = () =>
    new Set(
      sql
        .exec<{ name: string }>('SELECT name FROM store_migrations')
        .toArray()
        .map((r) => r.name),
    );
  const before = applied();
  if (before.has(SHARED_LAYOUT) && !before.has(BASELINE)) {
    storage.transactionSync(() => partitionSharedLayout(sql, before));
  }
  const done = applied();
  let count = 0;
  for (const { name, sql: text } of MIGRATIONS) {
    if (done.has(name)) continue;
    storage.transactionSync(() => {
      sql.exec(text);
      sql.exec(
        'INSERT INTO store_migrations (name, applied_at) VALUES (?, ?)',
        name,
        new Date().toISOString(),
      );
    });
    count++;
  }
  const view = sql
    .exec("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?", EVENTS_VIEW)
    .toArray();
  if (view.length === 0) {
    storage.transactionSync(() => {
      for (const statement of eventsTableSql(KEPT_EVENTS)) sql.exec(statement);
      const days = sql
        .exec<{ name: string }>(DAY_TABLES_SQL)
        .toArray()
        .map((r) => tableDay(r.name))
        .filter((day): day is string => day !== null);
      for (const statement of eventsViewSql(days)) sql.exec(statement);
    });
  }
  return count;
}

export class TenantStore<Env = unknown> extends DurableObject<Env> {
  protected readonly db: D1Database;
  /** Set once a retired era erased itself: its tables are made again only if it is called again. */
  #emptied = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = sqliteAsD1(ctx.storage);
    migrateStore(ctx.storage);
  }

  /** The tenant this object holds, or null before its first call. */
  protected tenant(): string | null {
    const row = this.ctx.storage.sql.exec<{ tenant: string }>('SELECT tenant FROM store_owner').toArray()[0];
    return row?.tenant ?? null;
  }

  /** Claims the object for `tenant` on its first call; refuses any other tenant after. */
  protected claim(tenant: string): void {
    if (this.#emptied) {
      // Retired (retireIfEmpty), then called again: by a list cached before the retirement.
      migrateStore(this.ctx.storage);
      this.#emptied = false;
    }
    const owner = this.tenant();
    if (owner === null) this.ctx.storage.sql.exec('INSERT INTO store_owner (tenant) VALUES (?)', tenant);
    else if (owner !== tenant) throw new WrongTenant();
  }

  /** Runs one operation of tenant-ops.ts for `tenant`. */
  async run<K extends TenantOp>(tenant: string, op: K, args: OpArgs<K>): Promise<OpResult<K>> {
    // Only the table's own entries: a name like `constructor` or `toString` is no operation.
    if (typeof op !== 'string' || !Object.hasOwn(TENANT_OPS, op)) throw new UnknownOp(String(op));
    this.claim(tenant);
    const fn = TENANT_OPS[op] as (db: D1Database, ...rest: unknown[]) => Promise<OpResult<K>>;
    const result = await fn(this.db, ...(args as unknown[]));
    if (this.#starts().length > 0 && this.#changedSubscriptions(op, args as unknown[], result)) {
      await this.copyToEras(tenant);
    }
    await this.afterRun(op);
    return result;
  }

  /**
   * Whether `op` (which answered `result`) changed a subscription as its eras' copies must know:
   * any change through the API; a delivery's end only when it disabled the subscription (the
   * failure count an era does not use, and copying it at every attempt would cost rows).
   */
  #changedSubscriptions(op: TenantOp, args: unknown[], result: unknown): boolean {
    if (SUBSCRIPTION_CHANGES.has(op)) return true;
    if (op === 'countDeliveryOutcome') return result === true;
    if (op !== 'recordAttempt' || result !== true) return false;
    const [attempt, now] = args as OpArgs<'recordAttempt'>;
    if (attempt.status !== 'failed' || attempt.subscriptionId === null) return false;
    const row = this.ctx.storage.sql
      .exec<{ disabled: number }>(
        'SELECT enabled = 0 AND disabled_at = ? AS disabled FROM subscriptions WHERE api_key_id = ? AND id = ?',
        now.toISOString(),
        attempt.apiKeyId,
        attempt.subscriptionId,
      )
      .toArray()[0];
    return row?.disabled === 1;
  }

  /** Writes a batch's share (`writeEvents`) and answers, with what it wrote, the store's size after. */
  async write(
    tenant: string,
    prepared: PreparedWrites,
    now: Date,
  ): Promise<WrittenEvents & { bytes: number }> {
    const written = await this.run(tenant, 'writeEvents', [prepared, now]);
    return { ...written, bytes: this.ctx.storage.sql.databaseSize };
  }

  /** A hook after each operation (the consumer's subclass arms its retention alarm here). */
  protected async afterRun(_op: TenantOp): Promise<void> {}

  /** The object's database size in bytes. */
  async size(tenant: string): Promise<number> {
    this.claim(tenant);
    return this.ctx.storage.sql.databaseSize;
  }

  /** The starts of the tenant's eras (eras.ts), kept by its head; empty in any other store. */
  #starts(): string[] {
    return this.ctx.storage.kv.get<string[]>(ERA_STARTS) ?? [];
  }

  /** The tenant's eras, as its head (this object) holds them now. */
  async eraList(tenant: string): Promise<EraList> {
    this.claim(tenant);
    return { starts: this.#starts(), asOf: Date.now() };
  }

  /**
   * Opens an era of the tenant starting at `start` (default: {@link nextEraStart}, the only start
   * that no cached list routes wrong; an earlier one is for tests and operators), unless one
   * opened already starts in the future; copies the subscriptions to it. Answers the list.
   */
  async openEra(tenant: string, start?: string): Promise<EraList> {
    this.claim(tenant);
    const now = Date.now();
    const starts = this.#starts();
    const last = starts.at(-1);
    if (last === undefined || Date.parse(last) <= now) {
      // Canonical: the era's object is named by this text, and messages name it again.
      const next = start === undefined ? nextEraStart(now) : new Date(start).toISOString();
      if (last !== undefined && Date.parse(next) <= Date.parse(last)) {
        throw new RangeError(`an era starts after ${last}`);
      }
      this.ctx.storage.kv.put(ERA_STARTS, [...starts, next]);
      await this.copyToEras(tenant);
    }
    return { starts: this.#starts(), asOf: now };
  }

  /**
   * The tenant's store objects, if the Worker hosting this class binds them as `TENANTS` (both
   * Workers do; a copy of the subscriptions needs it).
   */
  #namespace(): DurableObjectNamespace<TenantStore> | null {
    const env = this.env as { TENANTS?: DurableObjectNamespace<TenantStore> } | undefined;
    return env?.TENANTS ?? null;
  }

  /**
   * Copies the tenant's subscriptions, as the head (this object) now holds them, to each of its
   * eras. One that fails marks the copy stale, and the next alarm copies again
   * ({@link copyIfStale}): the change has committed here, and an era's copy follows within a minute.
   */
  protected copyToEras(tenant: string): Promise<void> {
    // One copy at a time, each reading the rows when it starts: a copy never lands after a newer one.
    const next = this.#copying.then(() => this.#copyNow(tenant));
    this.#copying = next.catch(() => {});
    return next;
  }

  #copying: Promise<void> = Promise.resolve();

  async #copyNow(tenant: string): Promise<void> {
    const namespace = this.#namespace();
    const starts = this.#starts();
    if (namespace === null || starts.length === 0) return;
    const rows = await TENANT_OPS.subscriptionRows(this.db);
    try {
      await Promise.all(
        starts.map((start) => {
          // Typed as the client types it (client.ts): RPC types of this class recurse too deep.
          const stub = namespace.get(namespace.idFromName(eraName(tenant, start))) as unknown as {
            run(tenant: string, op: TenantOp, args: unknown[]): Promise<unknown>;
          };
          return stub.run(tenant, 'copySubscriptions', [rows]);
        }),
      );
      this.ctx.storage.kv.delete(COPY_STALE);
    } catch {
      this.ctx.storage.kv.put(COPY_STALE, true);
      const alarm = await this.ctx.storage.getAlarm();
      const soon = Date.now() + COPY_RETRY_MS;
      if (alarm === null || alarm > soon) await this.ctx.storage.setAlarm(soon);
    }
  }

  /** Copies the subscriptions to the eras again if a copy failed (call it from the alarm). */
  protected async copyIfStale(): Promise<void> {
    const tenant = this.tenant();
    if (tenant !== null && this.ctx.storage.kv.get(COPY_STALE) === true) await this.copyToEras(tenant);
  }

  /**
   * Retires the era starting at `start` from the tenant's list (this object being its head), once
   * it is not the newest and its span ended at least `afterMs` ago: no message can still carry an
   * event of it. Answers whether it did, or when to ask again (ms since the epoch).
   */
  async retireEra(
    tenant: string,
    start: string,
    afterMs: number,
  ): Promise<{ retired: boolean; retryAt: number | null }> {
    this.claim(tenant);
    const starts = this.#starts();
    const at = starts.indexOf(start);
    if (at === -1) return { retired: true, retryAt: null };
    const end = starts[at + 1];
    if (end === undefined) return { retired: false, retryAt: null };
    const retireAt = Date.parse(end) + afterMs;
    if (Date.now() < retireAt) return { retired: false, retryAt: retireAt };
    this.ctx.storage.kv.put(
      ERA_STARTS,
      starts.filter((s) => s !== start),
    );
    return { retired: true, retryAt: null };
  }

  /**
   * For an era's store (not the head) holding nothing any more: asks its head to retire it
   * ({@link retireEra}) and, once retired, erases itself. Answers `retired`, or when to ask again
   * (ms since the epoch), or null when there is nothing to ask (the head, or the newest era).
   */
  protected async retireIfEmpty(afterMs: number): Promise<'retired' | number | null> {
    const tenant = this.tenant();
    const name = this.ctx.id.name;
    const namespace = this.#namespace();
    const start = tenant === null || name === undefined ? null : eraStartOf(tenant, name);
    if (tenant === null || start === null || namespace === null) return null;
    const head = namespace.get(namespace.idFromName(tenant)) as unknown as {
      retireEra(
        tenant: string,
        start: string,
        afterMs: number,
      ): Promise<{ retired: boolean; retryAt: number | null }>;
    };
    const answer = await head.retireEra(tenant, start, afterMs);
    if (!answer.retired) return answer.retryAt;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#emptied = true;
    return 'retired';
  }

  /**
   * Erases everything the tenant stored, at once (`deleteAll`), and starts again empty: a revoked
   * key's data (`pnpm tenant:erase`). Answers the counts it erased.
   */
  async erase(tenant: string): Promise<OpResult<'storeCounts'>> {
    this.claim(tenant);
    const counts = await TENANT_OPS.storeCounts(this.db);
    await this.ctx.storage.deleteAlarm();
    const starts = this.#starts();
    await this.ctx.storage.deleteAll();
    migrateStore(this.ctx.storage);
    // The head keeps naming its eras: one written again by a list cached elsewhere is still
    // reached by the next erase, and retired by its alarm.
    if (starts.length > 0) this.ctx.storage.kv.put(ERA_STARTS, starts);
    return counts;
  }
}

/** Where the head keeps its eras' starts (its key-value storage). */
const ERA_STARTS = 'eras.starts';
/** Set while an era's copy of the subscriptions is behind the head's. */
const COPY_STALE = 'eras.copy_stale';
/** How soon a failed copy of the subscriptions is tried again. */
const COPY_RETRY_MS = 60_000;

/** The operations that change subscriptions: after each, the head copies them to its eras. */
const SUBSCRIPTION_CHANGES: ReadonlySet<TenantOp> = new Set<TenantOp>([
  'createSubscription',
  'updateSubscription',
  'deleteSubscription',
  'rotateSubscriptionSecret',
]);
