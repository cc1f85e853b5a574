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
import { type OpArgs, type OpResult, TENANT_OPS, type TenantOp } from './tenant-ops.ts';

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
    await this.afterRun(op);
    return result;
  }

  /** A hook after each operation (the consumer's subclass arms its retention alarm here). */
  protected async afterRun(_op: TenantOp): Promise<void> {}

  /** The object's database size in bytes. */
  async size(tenant: string): Promise<number> {
    this.claim(tenant);
    return this.ctx.storage.sql.databaseSize;
  }

  /**
   * Erases everything the tenant stored, at once (`deleteAll`), and starts again empty: a revoked
   * key's data (`pnpm tenant:erase`). Answers the counts it erased.
   */
  async erase(tenant: string): Promise<OpResult<'storeCounts'>> {
    this.claim(tenant);
    const counts = await TENANT_OPS.storeCounts(this.db);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    migrateStore(this.ctx.storage);
    return counts;
  }
}
