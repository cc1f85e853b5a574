/**
 * The tenant register (src/tenant-sizes.ts) in a real local D1, migrated with the same files
 * wrangler applies; and the tenant stores' schema (store-migrations/), which has no part of it.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import {
  deleteTenantSize,
  listTenantSizes,
  reportTenantSize,
  type TenantSize,
  type TenantStore,
  tenantStore,
} from '../src/index.ts';
import { MIGRATIONS } from '../src/schema.ts';

const AT = new Date('2026-12-05T12:00:00.000Z');
/** A tenant id as packages/api-keys makes them: `key_` and 16 letters or digits. */
const newTenant = () => `key_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
const report = (apiKeyId: string, bytes: number, events = 1, now = AT) =>
  reportTenantSize(env.DB, { apiKeyId, store: apiKeyId, bytes, events, countedAt: now }, now);
const rowOf = (apiKeyId: string) =>
  env.DB.prepare('SELECT * FROM tenant_stores WHERE api_key_id = ?1').bind(apiKeyId).first<TenantSize>();

/** The `rows_written` of each statement `fn` runs on D1 (read from the answers, not mocked). */
async function rowsWritten(fn: () => Promise<unknown>): Promise<number[]> {
  const counts: number[] = [];
  const prepare = env.DB.prepare.bind(env.DB);
  const spy = vi.spyOn(env.DB, 'prepare').mockImplementation((query) => {
    const statement = prepare(query);
    const bind = statement.bind.bind(statement);
    statement.bind = (...values) => {
      const bound = bind(...values);
      const run = bound.run.bind(bound);
      bound.run = async <T>() => {
        const result = await run<T>();
        counts.push(result.meta.rows_written);
        return result;
      };
      return bound;
    };
    return statement;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return counts;
}

describe('the tenant register in D1', () => {
  it('keeps one row per tenant: a later report replaces the earlier one, each writing 1 row', async () => {
    const tenant = newTenant();
    await report(tenant, 4096, 1);
    const later = new Date(AT.getTime() + 60_000);
    const written = await rowsWritten(() =>
      reportTenantSize(
        env.DB,
        { apiKeyId: tenant, store: tenant, bytes: 8192, events: 7, countedAt: AT },
        later,
      ),
    );
    // D1's own counter (what it bills): the row, no index (docs/scaling.md#what-stays-global).
    expect(written).toEqual([1]);
    const { results } = await env.DB.prepare('SELECT * FROM tenant_stores WHERE api_key_id = ?1')
      .bind(tenant)
      .all<TenantSize>();
    expect(results).toEqual([
      {
        api_key_id: tenant,
        store: tenant,
        bytes: 8192,
        events: 7,
        counted_at: AT.toISOString(),
        updated_at: later.toISOString(),
      },
    ]);
  });

  it('lists tenants largest first, page by page without skipping or repeating one, with the totals of all', async () => {
    await env.DB.exec('DELETE FROM tenant_stores');
    // Two of the same size: the id breaks the tie, and the cursor carries both.
    const sizes = [4096, 12288, 8192, 8192, 65536];
    const tenants = sizes.map(() => newTenant());
    for (const [i, tenant] of tenants.entries()) await report(tenant, sizes[i] ?? 0, i + 1);
    const seen: TenantSize[] = [];
    let after: [number, string] | undefined;
    let pages = 0;
    for (;;) {
      const page = await listTenantSizes(env.DB, { after, limit: 2 });
      expect(page.totals).toEqual({ tenants: 5, bytes: 98304, events: 15 });
      seen.push(...page.tenants);
      pages++;
      if (page.next === null) break;
      after = page.next;
    }
    expect(pages).toBe(3);
    const expected = tenants
      .map((id, i) => ({ id, bytes: sizes[i] ?? 0 }))
      .sort((a, b) => b.bytes - a.bytes || (a.id < b.id ? -1 : 1))
      .map((t) => t.id);
    expect(seen.map((t) => t.api_key_id)).toEqual(expected);
  });

  it("names as receiving the tenant's newest store whose era has started: not a larger older one, nor one opened ahead", async () => {
    await env.DB.exec('DELETE FROM tenant_stores');
    const tenant = newTenant();
    const stores = {
      // The head, grown large before its first era started.
      [tenant]: 65536,
      [`${tenant}@2026-12-04T00:00:00.000Z`]: 32768,
      // The era receiving now: the latest start at or before AT.
      [`${tenant}@2026-12-05T12:00:00.000Z`]: 8192,
      // Opened two hours ahead, not receiving yet.
      [`${tenant}@2026-12-05T14:00:00.000Z`]: 4096,
    };
    for (const [store, bytes] of Object.entries(stores))
      await reportTenantSize(env.DB, { apiKeyId: tenant, store, bytes, events: 1, countedAt: AT }, AT);
    const receiving = async (now: Date) =>
      (await listTenantSizes(env.DB, { limit: 10, now })).tenants[0]?.receiving_bytes;
    expect(await receiving(AT)).toBe(8192);
    expect(await receiving(new Date('2026-12-05T11:59:59.999Z'))).toBe(32768);
    expect(await receiving(new Date('2026-12-03T00:00:00.000Z'))).toBe(65536);
    expect(await receiving(new Date('2026-12-05T14:00:00.000Z'))).toBe(4096);
    // Before any store of it reported, nothing receives: 0.
    await env.DB.prepare('DELETE FROM tenant_stores WHERE store = ?1').bind(tenant).run();
    expect(await receiving(new Date('2026-12-03T00:00:00.000Z'))).toBe(0);
  });

  it('lists a tenant of several stores (its eras) once, their sizes and counts added up', async () => {
    await env.DB.exec('DELETE FROM tenant_stores');
    const [big, small] = [newTenant(), newTenant()];
    const era = `${big}@2026-12-05T12:00:00.000Z`;
    await report(big, 4096, 3);
    await reportTenantSize(env.DB, { apiKeyId: big, store: era, bytes: 16384, events: 5, countedAt: AT }, AT);
    await report(small, 8192, 1);
    const page = await listTenantSizes(env.DB, { limit: 10, now: AT });
    expect(page.totals).toEqual({ tenants: 2, bytes: 28672, events: 9 });
    expect(
      page.tenants.map(({ api_key_id, bytes, events, stores, store_bytes, receiving_bytes }) => ({
        api_key_id,
        bytes,
        events,
        stores,
        store_bytes,
        receiving_bytes,
      })),
    ).toEqual([
      { api_key_id: big, bytes: 20480, events: 8, stores: 2, store_bytes: 16384, receiving_bytes: 16384 },
      { api_key_id: small, bytes: 8192, events: 1, stores: 1, store_bytes: 8192, receiving_bytes: 8192 },
    ]);
    expect(await deleteTenantSize(env.DB, big)).toBe(true);
    expect((await listTenantSizes(env.DB, { limit: 10 })).tenants.map((t) => t.api_key_id)).toEqual([small]);
  });

  it('answers an empty page and zero totals when no store has reported', async () => {
    await env.DB.exec('DELETE FROM tenant_stores');
    expect(await listTenantSizes(env.DB, { limit: 10 })).toEqual({
      tenants: [],
      totals: { tenants: 0, bytes: 0, events: 0 },
      next: null,
    });
  });

  it('removes a tenant’s row, and only that one', async () => {
    const [gone, kept] = [newTenant(), newTenant()];
    await report(gone, 4096);
    await report(kept, 4096);
    expect(await deleteTenantSize(env.DB, gone)).toBe(true);
    expect(await rowOf(gone)).toBeNull();
    expect(await rowOf(kept)).not.toBeNull();
    expect(await deleteTenantSize(env.DB, gone)).toBe(false);
  });

  it('takes about 120 bytes of D1 per store, under 128 (measured over 10,000 rows: docs/scaling.md)', async () => {
    const size = async () => (await env.DB.prepare('SELECT 1').run()).meta.size_after ?? Number.NaN;
    const before = await size();
    const now = AT.toISOString();
    // 10,000 tenants in one statement, ids and values as wide as real ones.
    await env.DB.prepare(
      `INSERT INTO tenant_stores (api_key_id, store, bytes, events, counted_at, updated_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000),
         k(i, id) AS (SELECT i, 'key_' || substr(hex(randomblob(8)), 1, 16) FROM n)
       SELECT id, id, 8000000000 - i, 5000000 - i, ?1, ?1 FROM k`,
    )
      .bind(now)
      .run();
    const perRow = ((await size()) - before) / 10_000;
    console.log(`tenant_stores: ${perRow} bytes of D1 per store`);
    expect(perRow).toBeGreaterThan(0);
    expect(perRow).toBeLessThan(128);
    await env.DB.exec('DELETE FROM tenant_stores');
  });
});

describe('the tenant stores’ schema', () => {
  it('holds no tenant_stores table in a tenant’s object: the register is D1’s alone', async () => {
    expect(MIGRATIONS.map((m) => m.name)).not.toContain('0008_tenant_sizes.sql');
    expect(MIGRATIONS.map((m) => m.name)).not.toContain('0009_tenant_stores.sql');
    const store = tenantStore(env.TENANTS, 'key_no_register');
    await store.storeCounts();
    const stub = env.TENANTS.get(env.TENANTS.idFromName('key_no_register'));
    const tables = await runInDurableObject(stub, (_: TenantStore, state) =>
      state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((r) => r.name),
    );
    expect(tables).toContain('kept_events');
    expect(tables).not.toContain('tenant_stores');
  });
});
