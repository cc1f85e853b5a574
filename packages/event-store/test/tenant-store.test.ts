import { env, evictDurableObject, listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { migrateStore, prepareWrites, type TenantStore, tenantStore } from '../src/index.ts';
import { MIGRATIONS } from '../src/schema.ts';

const event = (apiKeyId: string, n: number) => ({
  event_id: `evt_${apiKeyId}_${n}`,
  api_key_id: apiKeyId,
  payload: { n },
  timestamp: new Date(Date.UTC(2026, 11, 5, 12, 0, n)).toISOString(),
  correlation_id: `cor_${n}`,
});

describe('tenant stores', () => {
  it('keeps two tenants in two objects, each holding only its own events', async () => {
    const now = new Date();
    const a = tenantStore(env.TENANTS, 'key_a');
    const b = tenantStore(env.TENANTS, 'key_b');
    const written = await a.writeEvents(
      { delivered: [1, 2].map((n) => ({ event: event('key_a', n), attempts: 1 })) },
      now,
    );
    await b.writeEvents({ delivered: [{ event: event('key_b', 3), attempts: 1 }] }, now);
    expect(written.delivered.sort()).toEqual(['evt_key_a_1', 'evt_key_a_2']);
    const ids = await listDurableObjectIds(env.TENANTS);
    expect(ids).toHaveLength(2);
    const held = await Promise.all(
      ids.map((id) =>
        runInDurableObject(env.TENANTS.get(id), (_: TenantStore, state) =>
          state.storage.sql
            .exec<{ event_id: string }>('SELECT event_id FROM events ORDER BY event_id')
            .toArray(),
        ),
      ),
    );
    expect(held.map((rows) => rows.map((r) => r.event_id)).sort()).toEqual([
      ['evt_key_a_1', 'evt_key_a_2'],
      ['evt_key_b_3'],
    ]);
    expect(await a.getEvent({ apiKeyId: 'key_a', eventId: 'evt_key_b_3' })).toBeNull();
    expect((await b.getEvent({ apiKeyId: 'key_b', eventId: 'evt_key_b_3' }))?.status).toBe('delivered');
    const again = await a.writeEvents({ delivered: [{ event: event('key_a', 1), attempts: 2 }] }, now);
    expect(again.delivered).toEqual([]);
  });
});

describe('a batch handed to its store', () => {
  it('crosses to the object as one JSON text per day received, stored as the events it holds', async () => {
    const late = { ...event('key_days', 2), timestamp: '2026-12-06T00:00:01.000Z' };
    const writes = {
      delivered: [event('key_days', 1), late].map((e) => ({ event: e, attempts: 1 })),
      retry: [{ event: event('key_days', 3), attempts: 1, error: 'upstream timeout' }],
    };
    const prepared = prepareWrites(writes);
    // What the RPC copies: strings, one array per day and outcome, never an event object.
    expect(prepared.delivered.map((d) => d.day)).toEqual(['20261205', '20261206']);
    expect(prepared.retry.map((d) => d.day)).toEqual(['20261205']);
    expect(prepared.failed).toEqual([]);
    expect(prepared.fanOutTenants).toEqual(['key_days']);
    for (const { arrays } of [...prepared.delivered, ...prepared.retry]) {
      for (const array of arrays) {
        expect(typeof array.text).toBe('string');
        expect(JSON.parse(array.ids)).toEqual(
          JSON.parse(array.text).map((e: { event_id: string }) => e.event_id),
        );
      }
    }
    const store = tenantStore(env.TENANTS, 'key_days');
    const written = await store.writeEvents(writes, new Date());
    expect(written).toEqual({
      delivered: ['evt_key_days_1', 'evt_key_days_2'],
      retry: ['evt_key_days_3'],
      failed: [],
      subscribed: false,
    });
    const second = await store.getEvent({ apiKeyId: 'key_days', eventId: 'evt_key_days_2' });
    expect(second).toMatchObject({ status: 'delivered', payload: { n: 2 }, received_at: late.timestamp });
    const retried = await store.getEvent({ apiKeyId: 'key_days', eventId: 'evt_key_days_3' });
    expect(retried).toMatchObject({ status: 'pending', last_error: 'upstream timeout' });
  });
});

/** The object of `name`'s id, called directly (no client): how another caller could reach it. */
const objectOf = (name: string) =>
  env.TENANTS.get(env.TENANTS.idFromName(name)) as unknown as DurableObjectStub<TenantStore> & {
    run(tenant: string, op: string, args: unknown[]): Promise<unknown>;
  };

/** What a promise was rejected with (it must be rejected). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

describe('a tenant object', () => {
  it('refuses a call for another tenant: across RPC, an error with its message and no data', async () => {
    const owner = tenantStore(env.TENANTS, 'key_owner');
    await owner.writeEvents({ delivered: [{ event: event('key_owner', 1), attempts: 1 }] }, new Date());
    const stub = objectOf('key_owner');
    const calls = [
      () => stub.run('key_intruder', 'getEvent', [{ apiKeyId: 'key_owner', eventId: 'evt_key_owner_1' }]),
      () => stub.run('key_intruder', 'storeCounts', []),
      () => stub.size('key_intruder'),
      () => stub.erase('key_intruder'),
    ];
    for (const call of calls) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe('WrongTenant');
      expect(error.message).toBe('this store belongs to another tenant');
      // What RPC adds to a remote error (the object's id, `remote`) and nothing of either tenant.
      expect(Object.keys(error).sort()).toEqual(['durableObjectId', 'name', 'remote']);
      expect(JSON.stringify({ ...error, message: error.message })).not.toMatch(/key_owner|key_intruder|evt_/);
    }
    // Refused before anything ran: the owner's event is still there.
    expect(await owner.storeCounts()).toEqual({ events: 1, subscriptions: 0, deliveries: 0 });
  });

  it('refuses an operation name that tenant-ops.ts does not list, inherited names included', async () => {
    const stub = objectOf('key_ops');
    for (const op of ['dropEverything', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect((await rejection(stub.run('key_ops', op, []))).message).toBe(`unknown store operation ${op}`);
    }
    // A refused name claims nothing: the object still has no tenant.
    const owner = await runInDurableObject(stub, (_: TenantStore, state) =>
      state.storage.sql.exec('SELECT tenant FROM store_owner').toArray(),
    );
    expect(owner).toEqual([]);
  });

  it('hands out a handle that is no thenable, so awaiting it answers the handle and calls nothing', async () => {
    const handle = tenantStore(env.TENANTS, 'key_then');
    expect(await handle).toBe(handle);
    expect(await Promise.resolve(handle)).toBe(handle);
    expect((handle as unknown as Record<symbol, unknown>)[Symbol.toPrimitive]).toBeUndefined();
    const ids = (await listDurableObjectIds(env.TENANTS)).map(String);
    expect(ids).not.toContain(String(env.TENANTS.idFromName('key_then')));
  });

  it('erases everything with erase(), answering the counts, and is usable and empty after it', async () => {
    const store = tenantStore(env.TENANTS, 'key_erase');
    const now = new Date();
    await store.writeEvents(
      { delivered: [1, 2].map((n) => ({ event: event('key_erase', n), attempts: 1 })) },
      now,
    );
    await store.createSubscription(
      { apiKeyId: 'key_erase', id: 'sub_1', url: 'https://example.com/hook', eventTypes: null, secret: 's' },
      now,
      10,
    );
    expect(await store.erase()).toEqual({ events: 2, subscriptions: 1, deliveries: 0 });
    expect(await store.storeCounts()).toEqual({ events: 0, subscriptions: 0, deliveries: 0 });
    expect(await store.getEvent({ apiKeyId: 'key_erase', eventId: 'evt_key_erase_1' })).toBeNull();
    // Usable: the same event is stored anew, not taken for a duplicate.
    const again = await store.writeEvents(
      { delivered: [{ event: event('key_erase', 1), attempts: 1 }] },
      now,
    );
    expect(again.delivered).toEqual(['evt_key_erase_1']);
    expect(await store.storeCounts()).toEqual({ events: 1, subscriptions: 0, deliveries: 0 });
  });

  it('applies every migration once: a restarted object reading the same storage applies none', async () => {
    const stub = objectOf('key_migrations');
    const applied = () =>
      runInDurableObject(stub, (instance: TenantStore, state) => ({
        instance,
        rows: state.storage.sql
          .exec<{ name: string; applied_at: string }>(
            'SELECT name, applied_at FROM store_migrations ORDER BY name',
          )
          .toArray(),
        again: migrateStore(state.storage),
      }));
    const first = await applied();
    expect(first.rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(first.again).toBe(0);
    await evictDurableObject(stub);
    const restarted = await applied();
    expect(restarted.instance).not.toBe(first.instance);
    // Same rows, same times: the new instance's constructor applied nothing.
    expect(restarted.rows).toEqual(first.rows);
    expect(restarted.again).toBe(0);
  });
});
