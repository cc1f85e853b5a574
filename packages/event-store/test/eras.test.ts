import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { purgeClaims } from '../src/era-ops.ts';
import {
  claimEras,
  ERA_LEAD_MS,
  type EventPage,
  eraAt,
  eraName,
  eras,
  prepareWrites,
  type StoredEvent,
  type TenantStore,
  tenantStore,
} from '../src/index.ts';
import { sqliteAsD1 } from '../src/sqlite-d1.ts';
import {
  delivered,
  event,
  failedAttempt,
  fannedOut,
  firstAttempt,
  heldBy,
  NOW,
  START,
  subscribe,
  subscriptionsOf,
  tenant,
} from './eras-support.ts';

/**
 * A tenant's store past one object (src/eras.ts): its head and the eras opened after it, each its
 * own Durable Object, read here from their local state; the handle (src/client.ts) routing every
 * operation across them.
 */

/** Every page of `read`, following `next`. */
async function allPages(read: (after?: EventPage['next']) => Promise<EventPage>): Promise<string[][]> {
  const pages: string[][] = [];
  let next: EventPage['next'] | undefined;
  do {
    const page = await read(next ?? undefined);
    pages.push(page.events.map((e: StoredEvent) => e.event_id));
    next = page.next;
  } while (next !== null && pages.length < 10);
  return pages;
}

describe('era arithmetic', () => {
  const list = { starts: ['2026-12-05T12:00:00.000Z', '2026-12-05T20:00:00.000Z'], asOf: 0 };
  const all = eras('key_x', list);

  it('names the head by the tenant and each era by its start', () => {
    expect(all.map((e) => e.name)).toEqual([
      'key_x',
      'key_x@2026-12-05T12:00:00.000Z',
      'key_x@2026-12-05T20:00:00.000Z',
    ]);
    expect(eraName('key_x', null)).toBe('key_x');
  });

  it('routes an instant to the era whose span holds it', () => {
    expect(eraAt(all, Date.parse('2026-12-05T11:59:59.999Z')).index).toBe(0);
    expect(eraAt(all, Date.parse('2026-12-05T12:00:00.000Z')).index).toBe(1);
    expect(eraAt(all, Date.parse('2026-12-06T12:00:00.000Z')).index).toBe(2);
  });

  it('claims in every older era a copy received up to 24 hours earlier could be in', () => {
    const claimsAt = (at: string) =>
      claimEras(all, eraAt(all, Date.parse(at)), Date.parse(at)).map((e) => e.index);
    // 21:00 is in era 2; a copy from 21:00 the day before could be in era 1 or in the head.
    expect(claimsAt('2026-12-05T21:00:00.000Z')).toEqual([1, 0]);
    // Era 1 ended at 20:00 on the 5th: past the window on the 6th at 20:00.
    expect(claimsAt('2026-12-06T20:00:00.000Z')).toEqual([]);
    expect(claimsAt('2026-12-06T19:00:00.000Z')).toEqual([1]);
    expect(claimsAt('2026-12-05T11:00:00.000Z')).toEqual([]);
  });
});

describe('a tenant spanning two stores', () => {
  it('stores each event in the era of its time received, the head and the era each holding their own', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.writeEvents(delivered(event(key, 'e1', '2026-12-05T11:00:00.000Z')), NOW);
    expect((await store.openEra(START)).starts).toEqual([START]);
    const written = await store.writeEvents(
      delivered(
        event(key, 'e2', '2026-12-05T11:30:00.000Z'),
        event(key, 'e3', '2026-12-05T12:30:00.000Z'),
        event(key, 'e4', '2026-12-06T01:00:00.000Z'),
      ),
      NOW,
    );
    expect(written.delivered.sort()).toEqual(['e2', 'e3', 'e4']);
    expect(await heldBy(key)).toEqual(['e1', 'e2']);
    expect(await heldBy(`${key}@${START}`)).toEqual(['e3', 'e4']);
    expect(await store.storeCounts()).toMatchObject({ events: 4 });
  });

  it('pages the inbox across both, newest or oldest first, with the cursor of one store', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    await store.writeEvents(
      delivered(
        ...['10:00', '11:00', '11:59', '12:00', '13:00'].map((t, i) =>
          event(key, `e${i + 1}`, `2026-12-05T${t}:00.000Z`),
        ),
      ),
      NOW,
    );
    const read = (order: 'asc' | 'desc', limit: number) => (after?: EventPage['next']) =>
      store.listEvents({ apiKeyId: key, order, limit, ...(after ? { after } : {}) });
    expect(await allPages(read('desc', 2))).toEqual([['e5', 'e4'], ['e3', 'e2'], ['e1']]);
    expect(await allPages(read('asc', 4))).toEqual([['e1', 'e2', 'e3', 'e4'], ['e5']]);
    const range = await store.listEvents({
      apiKeyId: key,
      order: 'asc',
      limit: 10,
      from: '2026-12-05T11:30:00.000Z',
      to: '2026-12-05T12:30:00.000Z',
    });
    expect(range.events.map((e) => e.event_id)).toEqual(['e3', 'e4']);
  });

  it('finds, acknowledges and replays an event by id in whichever store holds it', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    const old = event(key, 'old', '2026-12-05T09:00:00.000Z');
    const recent = event(key, 'recent', '2026-12-05T15:00:00.000Z');
    await store.writeEvents({ failed: [{ event: old, attempts: 4, reason: 'bad' }] }, NOW);
    await store.writeEvents(delivered(recent), NOW);
    expect(await store.getEvent({ apiKeyId: key, eventId: 'old' })).toMatchObject({ status: 'failed' });
    expect(await store.getEvent({ apiKeyId: key, eventId: 'recent' })).toMatchObject({ status: 'delivered' });
    expect(await store.getEvent({ apiKeyId: key, eventId: 'none' })).toBeNull();
    expect((await store.ackEvent({ apiKeyId: key, eventId: 'recent' }, NOW)).acked).toBe(true);
    expect((await store.replayEvent({ apiKeyId: key, eventId: 'old' }, NOW)).replayed).toBe(true);
    expect(await store.getEvent({ apiKeyId: key, eventId: 'old' })).toMatchObject({ status: 'pending' });
    expect((await store.ackEvent({ apiKeyId: key, eventId: 'none' }, NOW)).event).toBeNull();
  });

  it('adds up the stats of both stores', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    const now = new Date();
    const start = new Date(now.getTime() - 30 * 60_000).toISOString();
    const before = new Date(now.getTime() - 45 * 60_000).toISOString();
    const after = new Date(now.getTime() - 10 * 60_000).toISOString();
    await store.openEra(start);
    await store.writeEvents(
      delivered(event(key, 'a', before), event(key, 'b', after), event(key, 'c', after)),
      now,
    );
    const stats = await store.eventStats(key, now);
    expect(stats.last_hour).toMatchObject({ received: 3, delivered: 3 });
    expect(stats.last_hour.buckets.reduce((n, b) => n + b.received, 0)).toBe(3);
    expect(await heldBy(key)).toEqual(['a']);
  });

  it('replays failed events of both stores, oldest first, up to the limit', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    const dead = ['10:00', '11:00', '13:00', '14:00'].map((t, i) => ({
      event: event(key, `f${i + 1}`, `2026-12-05T${t}:00.000Z`),
      attempts: 4,
      reason: 'bad',
    }));
    await store.writeEvents({ failed: dead }, NOW);
    const moved = await store.replayFailed({ apiKeyId: key, limit: 3 }, NOW);
    expect(moved.map((e) => e.event_id)).toEqual(['f1', 'f2', 'f3']);
    const restored = await store.restoreFailed(moved, NOW);
    expect([...restored].sort()).toEqual(['f1', 'f2', 'f3']);
    expect(await store.getEvent({ apiKeyId: key, eventId: 'f3' })).toMatchObject({ status: 'failed' });
  });
});

describe('deduplication across an era start', () => {
  it.each([
    ['before the start', '2026-12-05T11:50:00.000Z', '2026-12-05T12:10:00.000Z'],
    ['after the start', '2026-12-05T12:20:00.000Z', '2026-12-05T11:40:00.000Z'],
  ])(
    'stores once an event whose copy %s was stored first, in the store that copy is in',
    async (_, first, second) => {
      const key = tenant();
      const store = tenantStore(env.TENANTS, key);
      await store.openEra(START);
      const stored = await store.writeEvents(delivered(event(key, 'dup', first)), NOW);
      const again = await store.writeEvents(delivered(event(key, 'dup', second)), NOW);
      expect(stored.delivered).toEqual(['dup']);
      expect(again.delivered).toEqual([]);
      const inHead = first < START;
      expect(await heldBy(key)).toEqual(inHead ? ['dup'] : []);
      expect(await heldBy(`${key}@${START}`)).toEqual(inHead ? [] : ['dup']);
    },
  );

  it('moves a pending copy before the start to delivered when its retry lands after it', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    const pending = event(key, 'p', '2026-12-05T11:55:00.000Z');
    await store.writeEvents({ retry: [{ event: pending, attempts: 1, error: 'timeout' }] }, NOW);
    const done = await store.writeEvents(
      delivered({ ...pending, timestamp: '2026-12-05T12:05:00.000Z' }),
      NOW,
    );
    expect(done.delivered).toEqual(['p']);
    expect(await store.getEvent({ apiKeyId: key, eventId: 'p' })).toMatchObject({ status: 'delivered' });
    expect(await heldBy(`${key}@${START}`)).toEqual([]);
  });
});

describe('copies of one event in one batch, either side of an era start', () => {
  it.each([
    ['the copy after the start first', ['2026-12-05T12:00:01.000Z', '2026-12-05T11:59:59.000Z']],
    ['the copy before the start first', ['2026-12-05T11:59:59.000Z', '2026-12-05T12:00:01.000Z']],
  ])('stores the event once, the earliest copy, in the store of its span (%s)', async (_, times) => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    const written = await store.writeEvents(delivered(...times.map((t) => event(key, 'dup', t))), NOW);
    expect(written.delivered).toEqual(['dup']);
    expect(await heldBy(key)).toEqual(['dup']);
    expect(await heldBy(`${key}@${START}`)).toEqual([]);
    const page = await store.listEvents({ apiKeyId: key, order: 'asc', limit: 10, to: START });
    expect(page.events.map((e) => [e.event_id, e.received_at])).toEqual([
      ['dup', '2026-12-05T11:59:59.000Z'],
    ]);
  });

  it('keeps a claim while the other copy may still be on the queue: a copy arriving two days later is a duplicate', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    const after = event(key, 'late', '2026-12-05T12:01:00.000Z');
    const written = new Date('2026-12-05T12:01:05.000Z');
    expect((await store.writeEvents(delivered(after), written)).delivered).toEqual(['late']);
    // The head's retention two days on: past the dedup window, not past what a queue keeps.
    const later = new Date(written.getTime() + 49 * 3_600_000);
    await runInDurableObject(env.TENANTS.get(env.TENANTS.idFromName(key)), (_: TenantStore, state) =>
      purgeClaims(sqliteAsD1(state.storage), later),
    );
    const again = await store.writeEvents(
      delivered({ ...after, timestamp: '2026-12-05T11:59:00.000Z' }),
      later,
    );
    expect(again.delivered).toEqual([]);
    expect((await store.storeCounts()).events).toBe(1);
  });
});

describe('the byte budget of a page across eras', () => {
  // 1.5 MB of payload each: one store's page stops once 4 MB are passed, at the third.
  const big = (i: number) => ({ blob: String(i).repeat(1_500_000) });

  it('holds an inbox page to MAX_INBOX_PAGE_BYTES across eras when the query names no budget', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    for (const [i, t] of ['09:00', '10:00', '11:00', '13:00', '14:00'].entries()) {
      await store.writeEvents(delivered(event(key, `e${i}`, `2026-12-05T${t}:00.000Z`, big(i))), NOW);
    }
    const page = await store.listEvents({ apiKeyId: key, order: 'desc', limit: 100 });
    expect(page.events.map((e) => e.event_id)).toEqual(['e4', 'e3', 'e2']);
    expect(page.next).not.toBeNull();
  });

  it('replays failed events of several eras within one byte budget', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    const dead = ['09:00', '10:00', '13:00', '14:00', '15:00'].map((t, i) => ({
      event: event(key, `f${i}`, `2026-12-05T${t}:00.000Z`, big(i)),
      attempts: 4,
      reason: 'bad',
    }));
    for (const d of dead) await store.writeEvents({ failed: [d] }, NOW);
    const moved = await store.replayFailed({ apiKeyId: key, limit: 100 }, NOW);
    expect(moved.map((e) => e.event_id)).toEqual(['f0', 'f1', 'f2']);
  });

  it('counts the budget in UTF-8 bytes, as one store does', async () => {
    const payload = { s: 'é'.repeat(196) };
    const times = ['09:00', '10:00', '13:00', '14:00'];
    const [split, single] = [tenant(), tenant()];
    await tenantStore(env.TENANTS, split).openEra(START);
    for (const key of [split, single]) {
      for (const [i, t] of times.entries()) {
        await tenantStore(env.TENANTS, key).writeEvents(
          delivered(event(key, `u${i}`, `2026-12-05T${t}:00.000Z`, payload)),
          NOW,
        );
      }
    }
    const page = (key: string) =>
      tenantStore(env.TENANTS, key).listEvents({ apiKeyId: key, order: 'desc', limit: 10, maxBytes: 1_000 });
    const one = (await page(single)).events.map((e) => e.event_id);
    expect(one).toEqual(['u3', 'u2', 'u1']);
    expect((await page(split)).events.map((e) => e.event_id)).toEqual(one);
  });
});

describe('opening an era', () => {
  it('opens the next era two hours ahead once a write leaves the newest store past the split size', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key, { splitBytes: 1 });
    const before = Date.now();
    await store.writeEvents(delivered(event(key, 'x', new Date().toISOString())), new Date());
    const list = await store.eraList();
    expect(list.starts).toHaveLength(1);
    const start = Date.parse(list.starts[0] as string);
    expect(start).toBeGreaterThanOrEqual(before + ERA_LEAD_MS);
    expect(start).toBeLessThanOrEqual(Date.now() + ERA_LEAD_MS);
    // One era opening at a time: a second full write changes nothing while it is ahead.
    await store.writeEvents(delivered(event(key, 'y', new Date().toISOString())), new Date());
    expect((await store.eraList()).starts).toEqual(list.starts);
    // Events keep going to the head until the era starts.
    expect(await heldBy(key)).toEqual(['x', 'y']);
  });

  it('refuses an era that would start before the newest one', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    await expect(store.openEra('2026-12-05T11:00:00.000Z')).rejects.toThrow(/an era starts after/);
  });
});

describe("an era's subscriptions and deliveries", () => {
  it("copies the head's subscriptions to an era when it opens and at every change", async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await subscribe(key, 'sub_1');
    await store.openEra(START);
    expect(await subscriptionsOf(`${key}@${START}`)).toEqual([{ id: 'sub_1', enabled: 1 }]);
    await subscribe(key, 'sub_2');
    await store.updateSubscription({ apiKeyId: key, id: 'sub_1' }, { enabled: false }, NOW);
    await store.deleteSubscription({ apiKeyId: key, id: 'sub_2' });
    expect(await subscriptionsOf(`${key}@${START}`)).toEqual([{ id: 'sub_1', enabled: 0 }]);
  });

  it('delivers an event of an era from that era, and counts its failure on the head', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await subscribe(key, 'sub_1');
    await store.openEra(START);
    const recent = event(key, 'recent', '2026-12-05T13:00:00.000Z');
    const written = await store.writeEvents(delivered(recent), NOW);
    expect(written.subscribed).toBe(true);
    const [message] = await store.fanOut(key, ['recent'], NOW);
    expect(message).toMatchObject({ api_key_id: key, era: START, round: 1, attempt: 1 });
    if (message === undefined) throw new Error('no delivery');
    const era = store.era(message.era);
    const work = await era.loadDeliveryWork(message, NOW);
    expect(work).toMatchObject({ event_id: 'recent', subscription: { id: 'sub_1' } });
    const moved = await era.recordAttempt(failedAttempt(key, message.delivery_id), NOW);
    expect(moved).toBe(true);
    expect(await store.getSubscription({ apiKeyId: key, id: 'sub_1' })).toMatchObject({ enabled: 0 });
    // The era's copy follows, so its dispatcher announces the disable the delivery caused.
    expect(await subscriptionsOf(`${key}@${START}`)).toEqual([{ id: 'sub_1', enabled: 0 }]);
    const ended = await era.deliveryEnded(firstAttempt(key, message.delivery_id));
    expect(ended?.disabled).toMatchObject({ subscription_id: 'sub_1' });
    expect(await store.listDeliveries({ apiKeyId: key, eventId: 'recent' })).toHaveLength(1);
  });

  it("copies to the eras a disable caused by a delivery of the head's own events", async () => {
    const { key, store, message } = await fannedOut('old', '2026-12-05T09:00:00.000Z');
    expect(message?.era).toBeUndefined();
    expect(await store.era(message.era).recordAttempt(failedAttempt(key, message.delivery_id), NOW)).toBe(
      true,
    );
    expect(await subscriptionsOf(key)).toEqual([{ id: 'sub_1', enabled: 0 }]);
    expect(await subscriptionsOf(`${key}@${START}`)).toEqual([{ id: 'sub_1', enabled: 0 }]);
  });

  it('recovers the failed deliveries of every era, and puts back those whose messages could not be sent', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await subscribe(key, 'sub_1');
    await store.openEra(START);
    await store.writeEvents(
      delivered(event(key, 'old', '2026-12-05T09:00:00.000Z'), event(key, 'new', '2026-12-05T15:00:00.000Z')),
      NOW,
    );
    const messages = await store.fanOut(key, ['old', 'new'], NOW);
    expect(messages.map((m) => m.era ?? null).sort()).toEqual([START, null].sort());
    for (const m of messages) {
      const ended = { ...failedAttempt(key, m.delivery_id), subscriptionId: null, disableAfter: 100 };
      expect(await store.era(m.era).recordAttempt(ended, NOW)).toBe(true);
    }
    const recovery = await store.restartFailedDeliveries(
      { apiKeyId: key, subscriptionId: 'sub_1', since: '2026-01-01T00:00:00.000Z', limit: 10 },
      NOW,
    );
    if (recovery.subscription !== 'enabled') throw new Error(`subscription ${recovery.subscription}`);
    expect(recovery.messages.map((m) => m.era ?? null).sort()).toEqual([START, null].sort());
    await store.unrestartDeliveries(recovery.messages, 'queue refused', NOW);
    for (const eventId of ['old', 'new']) {
      const [delivery] = await store.listDeliveries({ apiKeyId: key, eventId });
      expect(delivery).toMatchObject({ status: 'failed', last_error: 'queue refused' });
    }
  });
});

describe('erasing a tenant', () => {
  it('erases every era and the head, which still names its eras', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(START);
    await store.writeEvents(
      delivered(event(key, 'a', '2026-12-05T11:00:00.000Z'), event(key, 'b', '2026-12-05T13:00:00.000Z')),
      NOW,
    );
    expect(await store.erase()).toMatchObject({ events: 2 });
    expect(await heldBy(key)).toEqual([]);
    expect(await heldBy(`${key}@${START}`)).toEqual([]);
    // The head still names its eras: one written again through a list cached elsewhere is
    // reached by the next erase (era-lifecycle.test.ts).
    expect((await store.eraList()).starts).toEqual([START]);
  });

  it('erases an era another isolate opened within the two hours this one caches its list', async () => {
    const key = tenant();
    const store = tenantStore(env.TENANTS, key);
    // This isolate caches the list: the head alone.
    expect(await store.getEvent({ apiKeyId: key, eventId: 'none' })).toBeNull();
    // Another isolate opens an era and writes to it (here: the objects called directly).
    const stub = (name: string) => env.TENANTS.get(env.TENANTS.idFromName(name));
    await stub(key).openEra(key, START);
    const prepared = prepareWrites(delivered(event(key, 'elsewhere', '2026-12-05T13:00:00.000Z')));
    await stub(`${key}@${START}`).write(key, prepared, NOW);
    expect(await store.erase()).toMatchObject({ events: 1 });
    expect(await heldBy(`${key}@${START}`)).toEqual([]);
  });
});
