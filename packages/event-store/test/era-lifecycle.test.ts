import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type TenantStore, tenantStore } from '../src/index.ts';
import {
  delivered,
  event,
  failedAttempt,
  fannedOut,
  firstAttempt,
  NOW,
  START,
  sql,
  subscribe,
  tenant,
} from './eras-support.ts';

/**
 * The lifecycle of a tenant's eras (src/eras.ts) where one object's call to another fails or
 * arrives late: the count of a delivery's end at the head, the copies of the subscriptions, an
 * erase while another isolate's list is cached, and migration 0009 under the consumer deployed
 * before it. A call is made to fail or wait by a namespace that wraps the real one (a local
 * object cannot be made to fail on demand), put in the head's own `env` where the head makes it.
 */

/**
 * A namespace whose stubs go to the real objects, but with `hook(name, method, args)` run first:
 * it may throw (a failed call) or wait.
 */
function hooked(
  real: DurableObjectNamespace,
  hook: (name: string, method: string, args: unknown[]) => Promise<void> | void,
): DurableObjectNamespace {
  const names = new Map<string, string>();
  return {
    idFromName(name: string) {
      const id = real.idFromName(name);
      names.set(id.toString(), name);
      return id;
    },
    get(id: DurableObjectId) {
      const stub = real.get(id) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      const name = names.get(id.toString()) ?? '?';
      return new Proxy(
        {},
        {
          get(_, method: string | symbol) {
            if (typeof method === 'symbol' || method === 'then') return undefined;
            return async (...args: unknown[]) => {
              await hook(name, method, args);
              return (stub[method] as (...a: unknown[]) => Promise<unknown>)(...args);
            };
          },
        },
      );
    },
  } as unknown as DurableObjectNamespace;
}

describe('deliveries in an era', () => {
  it('counts a delivery’s end on the head even when the head failed the first time (the dispatcher retries)', async () => {
    const { key, store, message } = await fannedOut('recent', '2026-12-05T13:00:00.000Z');
    if (message.era === undefined) throw new Error('no era delivery');

    // The head fails once (an overloaded object, a network blip) on the count.
    let failOnce = true;
    const flaky = hooked(env.TENANTS as unknown as DurableObjectNamespace, (name, method, args) => {
      if (name === key && method === 'run' && args[1] === 'countDeliveryOutcome' && failOnce) {
        failOnce = false;
        throw new Error('head unavailable');
      }
    });
    const dispatcherStore = tenantStore(flaky as unknown as typeof env.TENANTS, key).era(message.era);
    await expect(dispatcherStore.recordAttempt(failedAttempt(key, message.delivery_id), NOW)).rejects.toThrow(
      /head unavailable/,
    );
    // The dispatcher's message is retried: the delivery is found ended by this attempt (`announce`),
    // or the attempt recorded again; either way, the head must end up having counted it.
    await dispatcherStore.recordAttempt(failedAttempt(key, message.delivery_id), NOW);
    const ended = await dispatcherStore.deliveryEnded(firstAttempt(key, message.delivery_id));
    expect(ended?.exhausted).toMatchObject({ subscription_id: 'sub_1' });
    // disableAfter 1: this failed delivery must have disabled the subscription.
    expect(await store.getSubscription({ apiKeyId: key, id: 'sub_1' })).toMatchObject({
      enabled: 0,
      consecutive_failures: 1,
    });
  });

  it('announces the disable a delivery of an era caused even when the copy to the era failed', async () => {
    const { key, store, message } = await fannedOut('recent', '2026-12-05T13:00:00.000Z');
    if (message.era === undefined) throw new Error('no era delivery');
    // The head's copies to its eras fail (the era object briefly unreachable).
    await runInDurableObject(env.TENANTS.get(env.TENANTS.idFromName(key)), (instance: TenantStore) => {
      const self = instance as unknown as { env: { TENANTS: DurableObjectNamespace } };
      self.env = {
        ...self.env,
        TENANTS: hooked(self.env.TENANTS, (_name, method, args) => {
          if (method === 'run' && args[1] === 'copySubscriptions') throw new Error('era unreachable');
        }),
      };
    });
    const era = store.era(message.era);
    expect(await era.recordAttempt(failedAttempt(key, message.delivery_id), NOW)).toBe(true);
    expect(await store.getSubscription({ apiKeyId: key, id: 'sub_1' })).toMatchObject({ enabled: 0 });
    // What the dispatcher sends next (announceEnded): the subscription.disabled event's payload.
    const ended = await era.deliveryEnded(firstAttempt(key, message.delivery_id));
    expect(ended?.disabled).toMatchObject({ subscription_id: 'sub_1' });
  });
});

describe('copies of the subscriptions', () => {
  /**
   * Two changes of one subscription in quick succession, the first one's copy to the era slow on
   * its way, the second one's copy `second` (passing or failing): answers what the head and the
   * era hold after, and whether the head marks the copy to be made again.
   */
  async function twoChanges(second: 'passes' | 'fails') {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await subscribe(key, 'sub_1');
    await store.openEra(START);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let copies = 0;
    await runInDurableObject(env.TENANTS.get(env.TENANTS.idFromName(key)), (instance: TenantStore) => {
      const self = instance as unknown as { env: { TENANTS: DurableObjectNamespace } };
      self.env = {
        ...self.env,
        TENANTS: hooked(self.env.TENANTS, async (_name, method, args) => {
          if (method !== 'run' || args[1] !== 'copySubscriptions') return;
          copies++;
          if (copies === 1)
            await held; // the first copy is slow on its way
          else if (copies === 2 && second === 'fails') throw new Error('era unreachable');
        }),
      };
    });
    const one = store.updateSubscription({ apiKeyId: key, id: 'sub_1' }, { enabled: false }, NOW);
    // Wait on this context's own timer (a promise resolved in the object would carry its context).
    while (copies < 1) await new Promise((r) => setTimeout(r, 10));
    const change = { url: 'https://new.example.com/' };
    const two = store.updateSubscription({ apiKeyId: key, id: 'sub_1' }, change, NOW);
    // Give the second change's copy its chance to go out before the first lands.
    for (let i = 0; i < 20 && copies < 2; i++) await new Promise((r) => setTimeout(r, 10));
    release();
    await Promise.all([one, two.catch(() => null)]);
    const rows = 'SELECT url, enabled FROM subscriptions';
    return {
      head: await sql<{ url: string; enabled: number }>(key, rows),
      copy: await sql<{ url: string; enabled: number }>(`${key}@${START}`, rows),
      stale: await runInDurableObject(env.TENANTS.get(env.TENANTS.idFromName(key)), (_: TenantStore, state) =>
        state.storage.kv.get('eras.copy_stale'),
      ),
    };
  }

  it('leaves the era with the latest subscriptions when an older copy is slower than a newer one', async () => {
    const { head, copy } = await twoChanges('passes');
    expect(head).toEqual([{ url: 'https://new.example.com/', enabled: 0 }]);
    expect(copy).toEqual(head);
  });

  it('keeps the copy marked stale when a newer copy failed while an older one was on its way', async () => {
    const { head, copy, stale } = await twoChanges('fails');
    expect(head).toEqual([{ url: 'https://new.example.com/', enabled: 0 }]);
    // Either the era holds the head's rows, or the copy is still marked to be made again.
    expect(copy[0]?.url === 'https://new.example.com/' || stale === true).toBe(true);
  });
});

describe('erasing a tenant with eras', () => {
  it('erases what a stale era list wrote to an era after the erase, when the erase runs again', async () => {
    const key = tenant();
    // This isolate: a consumer's, whose list of the tenant's eras is cached.
    const consumer = tenantStore(env.TENANTS, key);
    await consumer.openEra(START);
    await consumer.writeEvents(delivered(event(key, 'a', '2026-12-05T13:00:00.000Z')), NOW);
    // The operator's erase, from another isolate (the ingest Worker): eras first, then the head,
    // as the handle does; this isolate's cached list is not touched.
    const stub = (name: string) =>
      env.TENANTS.get(env.TENANTS.idFromName(name)) as unknown as { erase(t: string): Promise<unknown> };
    await stub(`${key}@${START}`).erase(key);
    await stub(key).erase(key);
    // A message still on the queue (the key revoked, its events in flight) is written after it.
    await consumer.writeEvents(delivered(event(key, 'late', '2026-12-05T14:00:00.000Z')), NOW);
    const late = await sql<{ event_id: string }>(`${key}@${START}`, 'SELECT event_id FROM events');
    expect(late).toEqual([{ event_id: 'late' }]);
    // A second tenant:erase, from any isolate that asks the head, must reach that era: the head
    // must still name it (this isolate's handle would use its stale cache, so ask the head itself).
    expect((await consumer.eraList()).starts).toContain(START);
  });
});

describe('migration 0009 and the consumer still running during a deploy', () => {
  it("keeps the deployed (pre-eras) consumer's register report working after the migration", async () => {
    // reportTenantSize as the deployed code (before this branch) runs it, verbatim.
    const apiKeyId = tenant();
    const at = new Date().toISOString();
    await expect(
      env.DB.prepare(
        `INSERT INTO tenant_sizes (api_key_id, bytes, events, counted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (api_key_id) DO UPDATE SET bytes = excluded.bytes, events = excluded.events,
           counted_at = excluded.counted_at, updated_at = excluded.updated_at`,
      )
        .bind(apiKeyId, 100, 1, at, at)
        .run(),
    ).resolves.toBeDefined();
  });
});
