import {
  commit,
  type EventWrites,
  type StoreWrite,
  tenantStore,
  type WrittenEvents,
} from '@triggers/event-store';
import { describeError } from '@triggers/log';
import type { ConsumerEnv } from './env.ts';
import { settingsOf } from './settings.ts';

/**
 * What committing a batch's D1 writes (the `dead_letters` of unreadable messages) came to: for
 * each write, the keys it inserted or changed (see event-store's `commit`), or, when D1 failed,
 * the reason every message that needed the write is retried with.
 */
export type Committed<T extends readonly StoreWrite[]> =
  | { ok: true; keys: { -readonly [K in keyof T]: Set<string> } }
  | { ok: false; reason: string };

/**
 * Runs a batch's D1 writes in one round trip. Never throws: a failure of the store is an outcome
 * that both queues' handlers answer the same way, by retrying the messages concerned.
 */
export async function tryCommit<const T extends readonly StoreWrite[]>(
  db: D1Database,
  writes: T,
): Promise<Committed<T>> {
  try {
    return { ok: true, keys: await commit(db, writes) };
  } catch (err) {
    return { ok: false, reason: `event store unavailable: ${describeError(err)}` };
  }
}

/** One tenant's share of a batch, and what writing it to the tenant's store came to. */
export type TenantShare<T> = { tenant: string; items: T[] } & (
  | { ok: true; written: WrittenEvents }
  | { ok: false; reason: string }
);

/**
 * Writes a batch's events to their tenants' stores: `items` grouped by `tenantOf`, each tenant's
 * share in ONE call of its store (`writeEvents`, one transaction there), every tenant at once.
 * Never throws: a tenant whose store fails is a share with the reason its messages are retried
 * with, and the other tenants' shares stand.
 */
export async function writeByTenant<T>(
  env: ConsumerEnv,
  items: readonly T[],
  tenantOf: (item: T) => string,
  writesOf: (share: T[]) => EventWrites,
  now: Date,
): Promise<TenantShare<T>[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const tenant = tenantOf(item);
    const group = groups.get(tenant);
    if (group === undefined) groups.set(tenant, [item]);
    else group.push(item);
  }
  return Promise.all(
    [...groups].map(async ([tenant, share]): Promise<TenantShare<T>> => {
      try {
        const store = tenantStore(env.TENANTS, tenant, { splitBytes: settingsOf(env).storeSplitBytes });
        const written = await store.writeEvents(writesOf(share), now);
        return { tenant, items: share, ok: true, written };
      } catch (err) {
        return { tenant, items: share, ok: false, reason: `event store unavailable: ${describeError(err)}` };
      }
    }),
  );
}
