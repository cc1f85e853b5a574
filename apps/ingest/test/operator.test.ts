import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { DAY_TABLES_SQL, dayOf, dayTable, reportTenantSize, tenantStore } from '@triggers/event-store';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import { call, expectError, newApiKey } from './support/ingest.ts';

/**
 * The operator routes (src/routes/operator.ts) against the test runtime's real local D1 (the old
 * shared store, seeded with the old consumer's own writes and plain INSERTs for the webhook tables)
 * and the real TenantStore objects hosted by test/worker.ts.
 */

const operator = { authorization: `Bearer ${env.OPERATOR_TOKEN}` };
const NOW = new Date('2026-12-01T12:00:00.000Z');

type Counts = { events: number; subscriptions: number; deliveries: number; delivery_attempts: number };

/** Seeds the old D1 store with `events` events of a new tenant, and, with `webhook`, one subscription, one delivery and two attempts. */
async function seedOldStore(
  events: number,
  webhook = false,
): Promise<{ tenant: string; eventIds: string[] }> {
  const tenant = `key_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  // One event a day, the days before NOW: the migration places each in its day's table.
  const queued = Array.from({ length: events }, (_, i) =>
    queuedEvent({ api_key_id: tenant, timestamp: new Date(NOW.getTime() - i * 86_400_000).toISOString() }),
  );
  // The old store's table (D1's migrations), as the old consumer wrote it.
  await env.DB.batch(
    queued.map((event) =>
      env.DB.prepare(
        `INSERT INTO events (event_id, api_key_id, payload, metadata, status, attempts, received_at, created_at,
                             updated_at, correlation_id, type, source)
         VALUES (?1, ?2, ?3, NULL, 'delivered', 1, ?4, ?5, ?5, ?6, 'triggers.event', ?7)`,
      ).bind(
        event.event_id,
        tenant,
        JSON.stringify(event.payload),
        event.timestamp,
        NOW.toISOString(),
        event.correlation_id,
        `/api-keys/${tenant}`,
      ),
    ),
  );
  const eventIds = queued.map((event) => event.event_id);
  if (webhook) {
    const at = NOW.toISOString();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO subscriptions (api_key_id, id, url, secret, created_at, updated_at)
         VALUES (?1, 'sub_1', 'https://example.com/hook', 'whsec_AAAA', ?2, ?2)`,
      ).bind(tenant, at),
      env.DB.prepare(
        `INSERT INTO deliveries (api_key_id, id, event_id, subscription_id, url, status, attempts, created_at, updated_at)
         VALUES (?1, 'msg_1', ?2, 'sub_1', 'https://example.com/hook', 'succeeded', 2, ?3, ?3)`,
      ).bind(tenant, eventIds[0], at),
      ...[1, 2].map((attempt) =>
        env.DB.prepare(
          `INSERT INTO delivery_attempts (api_key_id, delivery_id, round, attempt, attempted_at, http_status, latency_ms)
           VALUES (?1, 'msg_1', 1, ?2, ?3, ?4, 12)`,
        ).bind(tenant, attempt, at, attempt === 1 ? 500 : 200),
      ),
    ]);
  }
  return { tenant, eventIds };
}

const post = (path: string, body?: unknown, headers: Record<string, string> = operator) =>
  call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** Runs the migration page after page, as `pnpm store:migrate` does; answers the total moved and the pages. */
async function migrateAll(limit: number): Promise<{ moved: Counts; pages: number }> {
  const moved: Counts = { events: 0, subscriptions: 0, deliveries: 0, delivery_attempts: 0 };
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const response = await post('/operator/migrate', { cursor, limit });
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: { next_cursor: string | null; moved: Counts } };
    for (const table of Object.keys(moved) as (keyof Counts)[]) moved[table] += data.moved[table];
    pages++;
    if (data.next_cursor === null) return { moved, pages };
    cursor = data.next_cursor;
  }
}

type Verified = {
  tenants: number;
  d1: Omit<Counts, 'delivery_attempts'>;
  store: Omit<Counts, 'delivery_attempts'>;
  mismatches: { tenant: string }[];
  next_after: string | null;
};

async function verify(): Promise<Verified> {
  const response = await call('/operator/migrate/verify', { headers: operator });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Verified }).data;
}

type TenantsPage = {
  tenants: {
    api_key_id: string;
    bytes: number;
    events: number;
    counted_at: string;
    updated_at: string;
    state: 'ok' | 'warning' | 'full';
  }[];
  thresholds: { warn_bytes: number; full_bytes: number };
  totals: { tenants: number; bytes: number; events: number };
  next_cursor: string | null;
};

/** One page of GET /operator/tenants with the operator token. */
async function tenantsPage(query = ''): Promise<TenantsPage> {
  const response = await call(`/operator/tenants?${query}`, { headers: operator });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: TenantsPage }).data;
}

describe('operator routes', () => {
  it('answer 401 without the operator token, a tenant API key included, and are not in the OpenAPI document', async () => {
    const key = await newApiKey();
    await expectError(await post('/operator/migrate', {}, {}), 401, 'UNAUTHORIZED');
    await expectError(
      await post('/operator/migrate', {}, { authorization: `Bearer ${key.key}` }),
      401,
      'UNAUTHORIZED',
    );
    await expectError(await call('/operator/migrate/verify'), 401, 'UNAUTHORIZED');
    await expectError(await call('/operator/tenants'), 401, 'UNAUTHORIZED');
    await expectError(
      await call('/operator/tenants', { headers: { authorization: `Bearer ${key.key}` } }),
      401,
      'UNAUTHORIZED',
    );
    await expectError(await post(`/operator/tenants/${key.id}/erase`, undefined, {}), 401, 'UNAUTHORIZED');
    const doc = (await (await call('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/operator'))).toEqual([]);
  });

  it('moves the old store into one store per tenant page by page, verifies the counts, and a second run writes nothing', async () => {
    const a = await seedOldStore(3, true);
    const b = await seedOldStore(2);
    const first = await migrateAll(2);
    expect(first.pages).toBeGreaterThan(2);
    expect(first.moved).toMatchObject({ deliveries: expect.any(Number) });
    // Each tenant's rows are in its own store, and only there.
    expect(await tenantStore(env.TENANTS, a.tenant).storeCounts()).toEqual({
      events: 3,
      subscriptions: 1,
      deliveries: 1,
    });
    expect(await tenantStore(env.TENANTS, b.tenant).storeCounts()).toEqual({
      events: 2,
      subscriptions: 0,
      deliveries: 0,
    });
    const event = await tenantStore(env.TENANTS, a.tenant).getEvent({
      apiKeyId: a.tenant,
      eventId: a.eventIds[0] ?? '',
    });
    expect(event?.status).toBe('delivered');
    const deliveries = await tenantStore(env.TENANTS, a.tenant).listDeliveries({
      apiKeyId: a.tenant,
      eventId: a.eventIds[0] ?? '',
    });
    expect(JSON.stringify(deliveries)).toContain('msg_1');
    // Each event in the table of its day received, one day each.
    const placed = await runInDurableObject(
      env.TENANTS.get(env.TENANTS.idFromName(a.tenant)),
      (_, state) => ({
        days: state.storage.sql
          .exec<{ name: string }>(DAY_TABLES_SQL)
          .toArray()
          .map((r) => r.name),
        rows: a.eventIds.map(
          (id, i) =>
            state.storage.sql
              .exec(
                `SELECT event_id FROM ${dayTable(dayOf(new Date(NOW.getTime() - i * 86_400_000)))} WHERE event_id = ?`,
                id,
              )
              .toArray().length,
        ),
      }),
    );
    expect(placed).toEqual({
      days: ['20261129', '20261130', '20261201'].map(dayTable),
      rows: [1, 1, 1],
    });

    const verified = await verify();
    expect(verified.mismatches).toEqual([]);
    expect(verified.store).toEqual(verified.d1);
    expect(verified.d1.events).toBeGreaterThanOrEqual(5);

    const again = await migrateAll(500);
    expect(again.moved).toEqual({ events: 0, subscriptions: 0, deliveries: 0, delivery_attempts: 0 });
  });

  it('lists in verify a tenant whose store holds fewer rows than the old store', async () => {
    await migrateAll(500);
    const late = await seedOldStore(1);
    const verified = await verify();
    expect(verified.mismatches.map((m) => m.tenant)).toEqual([late.tenant]);
    await migrateAll(500);
    expect((await verify()).mismatches).toEqual([]);
  });

  it('does not list in verify a tenant whose only missing row is a delivery the old retention left without its event', async () => {
    const { tenant } = await seedOldStore(1);
    // The old retention deleted an event first, its deliveries in a later round: an orphan.
    await env.DB.prepare(
      `INSERT INTO deliveries (api_key_id, id, event_id, subscription_id, url, status, attempts, created_at, updated_at)
       VALUES (?1, 'msg_orphan', 'evt_purged', 'sub_1', 'https://example.com/hook', 'succeeded', 1, ?2, ?2)`,
    )
      .bind(tenant, NOW.toISOString())
      .run();
    await migrateAll(500);
    // A page of verify that starts at this tenant (the tenants are in id order).
    const response = await call(`/operator/migrate/verify?after=${tenant.slice(0, -1)}`, {
      headers: operator,
    });
    const { data } = (await response.json()) as { data: Verified };
    expect(data.tenants).toBeGreaterThan(0);
    expect(data.mismatches.map((m) => m.tenant)).not.toContain(tenant);
  });

  it('refuses a cursor it did not answer and a limit out of range with 400', async () => {
    await expectError(await post('/operator/migrate', { cursor: 'not-a-cursor' }), 400, 'VALIDATION_ERROR');
    await expectError(await post('/operator/migrate', { limit: 5000 }), 400, 'VALIDATION_ERROR');
  });

  it("erases a tenant's store whole, its rows in the old store and its row of the tenant register, answering what each held, and leaves other tenants alone", async () => {
    const a = await seedOldStore(2, true);
    const b = await seedOldStore(1);
    await migrateAll(500);
    await reportTenantSize(
      env.DB,
      { apiKeyId: a.tenant, store: a.tenant, bytes: 4096, events: 2, countedAt: NOW },
      NOW,
    );
    await reportTenantSize(
      env.DB,
      { apiKeyId: b.tenant, store: b.tenant, bytes: 4096, events: 1, countedAt: NOW },
      NOW,
    );
    const response = await post(`/operator/tenants/${a.tenant}/erase`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown }).data).toEqual({
      tenant: a.tenant,
      erased: { events: 2, subscriptions: 1, deliveries: 1 },
      erased_from_d1: { events: 2, subscriptions: 1, deliveries: 1, delivery_attempts: 2 },
      erased_from_register: true,
    });
    // Its row of the tenant register is gone, the other tenant's is not.
    const listed = (await tenantsPage('limit=1000')).tenants.map((t) => t.api_key_id);
    expect(listed).toContain(b.tenant);
    expect(listed).not.toContain(a.tenant);
    // Nothing left in the old store either, so migrating again does not bring it back.
    await migrateAll(500);
    expect(await tenantStore(env.TENANTS, a.tenant).storeCounts()).toEqual({
      events: 0,
      subscriptions: 0,
      deliveries: 0,
    });
    expect((await tenantStore(env.TENANTS, b.tenant).storeCounts()).events).toBe(1);
    await expectError(await post('/operator/tenants/bad%20id/erase'), 400, 'VALIDATION_ERROR');
  });
});

describe('GET /operator/tenants, the tenant register', () => {
  it('lists the tenants largest store first, page by page, with the totals of all tenants', async () => {
    await env.DB.exec('DELETE FROM tenant_stores');
    const sizes = [8192, 65536, 4096, 8192, 12288];
    const tenants = sizes.map((_, i) => `key_register${i}`);
    for (const [i, tenant] of tenants.entries())
      await reportTenantSize(
        env.DB,
        { apiKeyId: tenant, store: tenant, bytes: sizes[i] ?? 0, events: 10, countedAt: NOW },
        NOW,
      );
    const listed: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: TenantsPage = await tenantsPage(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.totals).toEqual({ tenants: 5, bytes: 98304, events: 50 });
      listed.push(...page.tenants.map((t) => t.api_key_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    // By size, ties by id.
    expect(listed).toEqual([
      'key_register1',
      'key_register4',
      'key_register0',
      'key_register3',
      'key_register2',
    ]);
    const [largest] = (await tenantsPage('limit=1')).tenants;
    expect(largest).toEqual({
      api_key_id: 'key_register1',
      bytes: 65536,
      events: 10,
      stores: 1,
      store_bytes: 65536,
      receiving_bytes: 65536,
      counted_at: NOW.toISOString(),
      updated_at: NOW.toISOString(),
      state: 'ok',
    });
  });

  it("adds up a tenant's stores (its eras) in one line, its state the store's receiving its events", async () => {
    await env.DB.exec('DELETE FROM tenant_stores');
    const { STORE_WARN_BYTES: warn, STORE_FULL_BYTES: full } = env;
    const era = (tenant: string, start: string) => `${tenant}@${start}`;
    // key_old_full: its head filled up, then an era took over, which refuses nothing.
    // key_new_warning: its head is small, its era (started) is past the warning.
    const stores = {
      key_old_full: { key_old_full: full, [era('key_old_full', '2026-12-01T00:00:00.000Z')]: 1024 },
      key_new_warning: { key_new_warning: 1024, [era('key_new_warning', '2026-12-01T00:00:00.000Z')]: warn },
    };
    for (const [apiKeyId, sizes] of Object.entries(stores))
      for (const [store, bytes] of Object.entries(sizes))
        await reportTenantSize(env.DB, { apiKeyId, store, bytes, events: 3, countedAt: NOW }, NOW);
    const page = await tenantsPage();
    expect(page.totals).toEqual({ tenants: 2, bytes: full + warn + 2048, events: 12 });
    expect(page.tenants).toEqual([
      expect.objectContaining({
        api_key_id: 'key_old_full',
        stores: 2,
        store_bytes: full,
        receiving_bytes: 1024,
        state: 'ok',
      }),
      expect.objectContaining({
        api_key_id: 'key_new_warning',
        stores: 2,
        store_bytes: warn,
        receiving_bytes: warn,
        state: 'warning',
      }),
    ]);
  });

  it('says which stores are past STORE_WARN_BYTES and which are refused new events at STORE_FULL_BYTES', async () => {
    await env.DB.exec('DELETE FROM tenant_stores');
    const { STORE_WARN_BYTES: warn, STORE_FULL_BYTES: full } = env;
    const sizes = { key_full: full, key_warning: warn, key_ok: warn - 1 };
    for (const [apiKeyId, bytes] of Object.entries(sizes))
      await reportTenantSize(env.DB, { apiKeyId, store: apiKeyId, bytes, events: 1, countedAt: NOW }, NOW);
    const page = await tenantsPage();
    expect(page.thresholds).toEqual({ warn_bytes: warn, full_bytes: full });
    expect(page.tenants.map((t) => [t.api_key_id, t.state])).toEqual([
      ['key_full', 'full'],
      ['key_warning', 'warning'],
      ['key_ok', 'ok'],
    ]);
  });

  it('refuses a cursor it did not issue, a limit out of range and an unknown parameter with 400', async () => {
    const get = (query: string) => call(`/operator/tenants?${query}`, { headers: operator });
    await expectError(await get('cursor=not-a-cursor'), 400, 'VALIDATION_ERROR');
    await expectError(await get('limit=0'), 400, 'VALIDATION_ERROR');
    await expectError(await get('limit=1001'), 400, 'VALIDATION_ERROR');
    await expectError(await get('order=asc'), 400, 'VALIDATION_ERROR');
    await expectError(
      await call('/operator/tenants', { method: 'POST', headers: operator }),
      405,
      'METHOD_NOT_ALLOWED',
    );
  });
});
