/**
 * An era of a tenant's store (event-store's eras.ts) whose events have all expired leaves the
 * tenant's list, and erases itself, once no queued message can reach it any more: its retention
 * run (the object's alarm, this Worker's TenantStore) asks the tenant's head.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { eraRetireAfterMs, type TenantStore } from '../src/tenant-store.ts';
import { event, storeOf } from './queue.ts';

const DAY_MS = 86_400_000;
/** wrangler.toml's RETENTION_FAILED_DAYS. */
const FAILED_DAYS = 30;

const eraObject = (key: string, start: string) => env.TENANTS.get(env.TENANTS.idFromName(`${key}@${start}`));
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();
const registered = (key: string, store: string) =>
  env.DB.prepare('SELECT bytes FROM tenant_stores WHERE api_key_id = ?1 AND store = ?2')
    .bind(key, store)
    .first();

/** A tenant with eras starting at `starts`, and one event stored in the first era. */
async function tenantWithEras(...starts: string[]) {
  const key = `key_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const store = storeOf(key);
  for (const start of starts) await store.openEra(start);
  const first = starts[0] as string;
  const old = event({ api_key_id: key, timestamp: new Date(Date.parse(first) + 3_600_000).toISOString() });
  // Written when it arrived, long ago: retention keeps a row changed lately a while longer.
  await store.writeEvents({ delivered: [{ event: old, attempts: 1 }] }, new Date(old.timestamp));
  return { key, store, first };
}

describe('retiring an era', () => {
  it('retires an era whose events expired once its span ended past the longest retention and a queue’s 14 days', async () => {
    const { key, store, first } = await tenantWithEras(daysAgo(60), daysAgo(50));
    const [, second] = (await store.eraList()).starts;
    expect(await registered(key, `${key}@${first}`)).not.toBeNull();
    expect(await runDurableObjectAlarm(eraObject(key, first))).toBe(true);
    expect((await store.eraList()).starts).toEqual([second]);
    // Erased whole: no table, no alarm; and gone from the register.
    const left = await runInDurableObject(eraObject(key, first), async (_: TenantStore, state) => ({
      tables: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'store_owner'").toArray()
        .length,
      alarm: await state.storage.getAlarm(),
    }));
    expect(left).toEqual({ tables: 0, alarm: null });
    expect(await registered(key, `${key}@${first}`)).toBeNull();
  });

  it('keeps an emptied era whose span ended too recently, and asks again when it may retire', async () => {
    const { key, store, first } = await tenantWithEras(daysAgo(20), daysAgo(10));
    const second = (await store.eraList()).starts[1] as string;
    expect(await runDurableObjectAlarm(eraObject(key, first))).toBe(true);
    expect((await store.eraList()).starts).toEqual([first, second]);
    const alarm = await runInDurableObject(eraObject(key, first), (_: TenantStore, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).toBe(Date.parse(second) + eraRetireAfterMs(FAILED_DAYS));
  });

  it('never retires the newest era, however empty', async () => {
    const { key, store, first } = await tenantWithEras(daysAgo(60));
    expect(await runDurableObjectAlarm(eraObject(key, first))).toBe(true);
    expect((await store.eraList()).starts).toEqual([first]);
    const owner = await runInDurableObject(eraObject(key, first), (_: TenantStore, state) =>
      state.storage.sql.exec('SELECT tenant FROM store_owner').toArray(),
    );
    expect(owner).toEqual([{ tenant: key }]);
  });
});
