import {
  type AttemptMessage,
  type JsonObject,
  MAX_SUBSCRIPTIONS_PER_KEY,
  matchesEventTypes,
  type QueuedEvent,
} from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { compileFilter } from '@triggers/webhooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttemptResult,
  commit,
  createSubscription,
  dayOf,
  dayTable,
  fanOut,
  getSubscription,
  listDeliveries,
  listSubscriptions,
  loadDeliveryWork,
  recordAttempt,
  restartDelivery,
  restartFailedDeliveries,
  rotateSubscriptionSecret,
  storeDelivered,
  toSubscription,
  unrestartDeliveries,
  updateSubscription,
} from '../src/index.ts';
import { storeDb } from './backends.ts';

const db = storeDb();
const NOW = new Date('2026-12-01T10:00:00.000Z');
const tenant = () => `key_${crypto.randomUUID().slice(0, 8)}`;
let n = 0;

async function subscribe(apiKeyId: string, eventTypes: string[] | null, filter: JsonObject | null = null) {
  const row = await createSubscription(
    db,
    {
      apiKeyId,
      id: `sub_${String(++n).padStart(24, '0')}`,
      url: 'https://hooks.example.com/',
      eventTypes,
      secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
      filter,
    },
    NOW,
    MAX_SUBSCRIPTIONS_PER_KEY,
  );
  if (row === null) throw new Error('the key is at its subscription limit');
  return row;
}

/** Stores `events`, then fans them out as the dispatcher does (one key at a time); answers the attempts to queue. */
async function store(events: QueuedEvent[]): Promise<AttemptMessage[]> {
  await commit(db, [
    storeDelivered(
      db,
      events.map((event) => ({ event, attempts: 1 })),
      NOW,
    ),
  ]);
  const keys = [...new Set(events.map((e) => e.api_key_id))];
  const fanned = await Promise.all(
    keys.map((key) =>
      fanOut(
        db,
        key,
        events.filter((e) => e.api_key_id === key).map((e) => e.event_id),
        NOW,
      ),
    ),
  );
  return fanned.flat();
}

const attempt = (m: AttemptMessage, subscriptionId: string, over: Partial<AttemptResult>): AttemptResult => ({
  apiKeyId: m.api_key_id,
  deliveryId: m.delivery_id,
  subscriptionId,
  round: m.round,
  attempt: m.attempt,
  attemptedAt: NOW,
  httpStatus: 200,
  error: null,
  latencyMs: 12,
  responseExcerpt: null,
  status: 'succeeded',
  nextAttemptAt: null,
  disableAfter: 2,
  ...over,
});

describe('fan-out', () => {
  it('creates one delivery per enabled subscription of the same key whose types match', async () => {
    const a = tenant();
    const b = tenant();
    const orders = await subscribe(a, ['order.*']);
    const all = await subscribe(a, null);
    const off = await subscribe(a, null);
    await updateSubscription(db, { apiKeyId: a, id: off.id }, { enabled: false }, NOW);
    await subscribe(b, null); // another tenant's: never sees a's events

    const order = queuedEvent({ api_key_id: a, type: 'order.created' });
    const other = queuedEvent({ api_key_id: a, type: 'user.created' });
    const messages = await store([order, other]);
    expect(messages).toHaveLength(3);
    const ofOrder = await listDeliveries(db, { apiKeyId: a, eventId: order.event_id });
    expect(ofOrder.map((d) => d.subscription_id).sort()).toEqual([orders.id, all.id].sort());
    expect(ofOrder.every((d) => d.status === 'pending' && d.attempts === 0)).toBe(true);
    expect(await listDeliveries(db, { apiKeyId: b, eventId: order.event_id })).toEqual([]);
  });

  it('never creates a second delivery for an event stored again (a replay), and re-reports only unattempted ones', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const event = queuedEvent({ api_key_id: a });
    const [first] = (await store([event])) as [AttemptMessage];
    // Stored again before any attempt: the same delivery is reported, so a lost message is re-sent.
    expect(await store([event])).toEqual([first]);
    expect(await recordAttempt(db, attempt(first, sub.id, {}), NOW)).toBe(true);
    expect(await store([event])).toEqual([]);
    expect(await listDeliveries(db, { apiKeyId: a, eventId: event.event_id })).toHaveLength(1);
  });
});

describe('fan-out with filters', () => {
  it('creates a delivery only for the events whose nested payload field the filter matches', async () => {
    const a = tenant();
    const big = await subscribe(a, ['order.*'], { payload: { order: { total: { $gte: 100 } } } });
    const all = await subscribe(a, ['order.*']);
    const events = [150, 99, 100].map((total) =>
      queuedEvent({ api_key_id: a, type: 'order.created', payload: { order: { total } } }),
    );
    const missing = queuedEvent({ api_key_id: a, type: 'order.created', payload: { order: {} } });
    const messages = await store([...events, missing]);
    expect(messages).toHaveLength(4 + 2);
    const subscribers = async (e: QueuedEvent) =>
      (await listDeliveries(db, { apiKeyId: a, eventId: e.event_id })).map((d) => d.subscription_id).sort();
    const [e150, e99, e100] = events as [QueuedEvent, QueuedEvent, QueuedEvent];
    expect(await subscribers(e150)).toEqual([big.id, all.id].sort());
    expect(await subscribers(e100)).toEqual([big.id, all.id].sort());
    expect(await subscribers(e99)).toEqual([all.id]);
    expect(await subscribers(missing)).toEqual([all.id]);
  });

  it('a filter stored with a $regex that could backtrack catastrophically (before the API refused one) matches no event; the key’s other subscriptions get theirs', async () => {
    const a = tenant();
    // The store takes a filter as the API hands it; this one the API refuses today.
    const unsafe = await subscribe(a, null, { 'payload.name': { $regex: '(a+)+$' } });
    const safe = await subscribe(a, null, { 'payload.name': { $regex: '^a+$' } });
    // The unsafe pattern would match this name in JavaScript: only the backstop keeps it out.
    const event = queuedEvent({ api_key_id: a, payload: { name: 'aaaa' } });
    expect(await store([event])).toHaveLength(1);
    const deliveries = await listDeliveries(db, { apiKeyId: a, eventId: event.event_id });
    expect(deliveries.map((d) => d.subscription_id)).toEqual([safe.id]);
    expect(deliveries.some((d) => d.subscription_id === unsafe.id)).toBe(false);
  });

  it('shows the filter as stored, and a changed or removed filter decides the next fan-out', async () => {
    const a = tenant();
    const filter = { 'payload.region': { $in: ['eu', 'uk'] } };
    const sub = await subscribe(a, null, filter);
    expect(toSubscription(sub, NOW).filter).toEqual(filter);
    const us = queuedEvent({ api_key_id: a, payload: { region: 'us' } });
    expect(await store([us])).toEqual([]);

    const changed = await updateSubscription(
      db,
      { apiKeyId: a, id: sub.id },
      { filter: { 'payload.region': 'us' } },
      NOW,
    );
    expect(changed && toSubscription(changed, NOW).filter).toEqual({ 'payload.region': 'us' });
    expect(await store([queuedEvent({ api_key_id: a, payload: { region: 'us' } })])).toHaveLength(1);

    const removed = await updateSubscription(db, { apiKeyId: a, id: sub.id }, { filter: null }, NOW);
    expect(removed && toSubscription(removed, NOW).filter).toBeNull();
    expect(await store([queuedEvent({ api_key_id: a, payload: { region: 'mars' } })])).toHaveLength(1);
    // Another change leaves the filter alone.
    const kept = await updateSubscription(
      db,
      { apiKeyId: a, id: sub.id },
      { url: 'https://h.example.com/' },
      NOW,
    );
    expect(kept?.filter).toBeNull();
  });

  it('creates a delivery for exactly the pairs whose types and filter match, as the filter module says (generated)', async () => {
    const scalar = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', 'y'));
    const payload = fc.record({ n: scalar, tags: fc.array(scalar, { maxLength: 3 }) }, { requiredKeys: [] });
    const filter: fc.Arbitrary<JsonObject | null> = fc.oneof(
      fc.constant(null),
      scalar.map((v) => ({ 'payload.n': v })),
      scalar.map((v) => ({ payload: { n: { $gt: v } } })),
      fc.array(scalar, { maxLength: 2 }).map((vs) => ({ 'payload.tags': { $in: vs } })),
      scalar.map(
        (v): JsonObject => ({ $or: [{ 'payload.n': { $neq: v } }, { 'payload.tags': { $exist: false } }] }),
      ),
    );
    const types = fc.constantFrom<string[] | null>(null, ['a.*'], ['b']);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a.x', 'b'), payload), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(types, filter), { minLength: 1, maxLength: 4 }),
        async (eventSpecs, subSpecs) => {
          const key = tenant();
          const subs = [];
          for (const [eventTypes, f] of subSpecs) subs.push(await subscribe(key, eventTypes, f));
          const events = eventSpecs.map(([type, p]) => queuedEvent({ api_key_id: key, type, payload: p }));
          await store(events);
          for (const [e, event] of events.entries()) {
            const [type, p] = eventSpecs[e] as [string, JsonObject];
            const input = { type, source: '', subject: null, payload: p, metadata: event.metadata };
            const expected = subs
              .filter((_, i) => {
                const [eventTypes, f] = subSpecs[i] as [string[] | null, JsonObject | null];
                return matchesEventTypes(eventTypes, type) && (f === null || compileFilter(f)(input));
              })
              .map((s) => s.id)
              .sort();
            const created = await listDeliveries(db, { apiKeyId: key, eventId: event.event_id });
            expect(created.map((d) => d.subscription_id).sort()).toEqual(expected);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('the delivery state machine', () => {
  it('records an attempt once: a duplicate message changes nothing', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const [m] = (await store([queuedEvent({ api_key_id: a })])) as [AttemptMessage];
    const failedOnce = attempt(m, sub.id, { httpStatus: 500, status: 'pending', nextAttemptAt: NOW });
    expect(await recordAttempt(db, failedOnce, NOW)).toBe(true);
    expect(await recordAttempt(db, failedOnce, NOW)).toBe(false);
    const work = await loadDeliveryWork(db, m, NOW);
    expect(work).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('counts failed deliveries, disables the subscription at the threshold, and a success resets the count', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const messages = await store([
      queuedEvent({ api_key_id: a }),
      queuedEvent({ api_key_id: a }),
      queuedEvent({ api_key_id: a }),
    ]);
    const [m1, m2, m3] = messages as [AttemptMessage, AttemptMessage, AttemptMessage];
    await recordAttempt(db, attempt(m1, sub.id, { httpStatus: 500, status: 'failed' }), NOW);
    expect(await getSubscription(db, { apiKeyId: a, id: sub.id })).toMatchObject({
      enabled: 1,
      consecutive_failures: 1,
    });
    await recordAttempt(
      db,
      attempt(m2, sub.id, { httpStatus: 500, status: 'failed' }),
      new Date(NOW.getTime() + 1),
    );
    const disabled = await getSubscription(db, { apiKeyId: a, id: sub.id });
    expect(disabled).toMatchObject({ enabled: 0, consecutive_failures: 2 });
    expect(disabled?.disabled_reason).toMatch(/2 failed deliveries in a row/);

    await updateSubscription(db, { apiKeyId: a, id: sub.id }, { enabled: true }, NOW);
    await recordAttempt(db, attempt(m3, sub.id, { status: 'succeeded' }), new Date(NOW.getTime() + 2));
    expect(await getSubscription(db, { apiKeyId: a, id: sub.id })).toMatchObject({
      enabled: 1,
      consecutive_failures: 0,
      disabled_reason: null,
    });
  });

  it('restarts only a failed delivery, as a new round, and only for its own key', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const event = queuedEvent({ api_key_id: a });
    const [m] = (await store([event])) as [AttemptMessage];
    const key = { apiKeyId: a, eventId: event.event_id, deliveryId: m.delivery_id };
    expect(await restartDelivery(db, key, NOW)).toBeNull(); // pending
    await recordAttempt(db, attempt(m, sub.id, { httpStatus: 500, status: 'failed' }), NOW);
    expect(await restartDelivery(db, { ...key, apiKeyId: tenant() }, NOW)).toBeNull();
    expect(await restartDelivery(db, key, NOW)).toEqual({ ...m, round: 2, attempt: 1 });
    expect(await restartDelivery(db, key, NOW)).toBeNull(); // pending again
  });

  it('recovers exactly the failed deliveries of one subscription created in [since, until), oldest first, once', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const other = await subscribe(a, null);
    const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
    // Deliveries created at minutes 0..4 (fanned out then), one event each.
    const made: AttemptMessage[][] = [];
    for (let minute = 0; minute < 5; minute++) {
      const event = queuedEvent({ api_key_id: a });
      await commit(db, [storeDelivered(db, [{ event, attempts: 1 }], NOW)]);
      made.push(await fanOut(db, a, [event.event_id], at(minute)));
    }
    const ofSub = async (minute: number) => {
      for (const m of made[minute] ?? []) {
        const work = await loadDeliveryWork(db, m, NOW);
        if (work?.subscription?.id === sub.id) return m;
      }
      throw new Error('no delivery');
    };
    // Failed: minutes 0, 1, 2, 4 of sub, and minute 1 of the other subscription; minute 3 succeeded.
    for (const minute of [0, 1, 2, 3, 4]) {
      const m = await ofSub(minute);
      await recordAttempt(
        db,
        attempt(m, sub.id, { status: minute === 3 ? 'succeeded' : 'failed', disableAfter: 100 }),
        at(minute),
      );
    }
    for (const m of made[1] ?? []) {
      if (m.delivery_id !== (await ofSub(1)).delivery_id)
        await recordAttempt(db, attempt(m, other.id, { status: 'failed', disableAfter: 100 }), at(1));
    }
    const query = {
      apiKeyId: a,
      subscriptionId: sub.id,
      since: at(1).toISOString(),
      until: at(4).toISOString(),
    };

    const first = await restartFailedDeliveries(db, { ...query, limit: 1 }, at(10));
    expect(first).toEqual({
      subscription: 'enabled',
      messages: [{ api_key_id: a, delivery_id: (await ofSub(1)).delivery_id, round: 2, attempt: 1 }],
      remaining: 1,
    });
    const second = await restartFailedDeliveries(db, { ...query, limit: 10 }, at(10));
    expect(second).toEqual({
      subscription: 'enabled',
      messages: [{ api_key_id: a, delivery_id: (await ofSub(2)).delivery_id, round: 2, attempt: 1 }],
      remaining: 0,
    });
    // Again while they are pending: nothing; minutes 0 and 4 (outside) and the other subscription's stay failed.
    expect(await restartFailedDeliveries(db, { ...query, limit: 10 }, at(10))).toEqual({
      subscription: 'enabled',
      messages: [],
      remaining: 0,
    });
    for (const m of [await ofSub(0), await ofSub(4)]) {
      expect((await loadDeliveryWork(db, m, NOW))?.status).toBe('failed');
    }
    // Unqueued: back to failed, and recovered again by the next call.
    await unrestartDeliveries(
      db,
      second.subscription === 'enabled' ? second.messages : [],
      'not queued',
      at(11),
    );
    expect((await loadDeliveryWork(db, await ofSub(2), NOW))?.status).toBe('failed');
    expect(await restartFailedDeliveries(db, { ...query, limit: 10 }, at(12))).toMatchObject({
      messages: [{ delivery_id: (await ofSub(2)).delivery_id, round: 3 }],
    });
  });

  it('recovers nothing for another key’s subscription or a disabled one', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const [m] = (await store([queuedEvent({ api_key_id: a })])) as [AttemptMessage];
    await recordAttempt(db, attempt(m, sub.id, { status: 'failed' }), NOW);
    const query = { apiKeyId: a, subscriptionId: sub.id, since: NOW.toISOString(), limit: 10 };
    expect(await restartFailedDeliveries(db, { ...query, apiKeyId: tenant() }, NOW)).toEqual({
      subscription: 'not_found',
    });
    await updateSubscription(db, { apiKeyId: a, id: sub.id }, { enabled: false }, NOW);
    expect(await restartFailedDeliveries(db, query, NOW)).toEqual({ subscription: 'disabled' });
    expect((await loadDeliveryWork(db, m, NOW))?.status).toBe('failed');
  });
});

describe('subscriptions', () => {
  const rotate = (apiKeyId: string, id: string, secret: string, at: Date, maxSecrets = 10) =>
    rotateSubscriptionSecret(db, { apiKeyId, id }, { secret, overlapSeconds: 60, maxSecrets }, at);

  it('keeps each key to its own subscriptions, and signs with both secrets only during the overlap', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    expect((await listSubscriptions(db, { apiKeyId: tenant(), limit: 10 })).subscriptions).toEqual([]);
    expect(await getSubscription(db, { apiKeyId: tenant(), id: sub.id })).toBeNull();
    expect(await rotate(tenant(), sub.id, 'whsec_x', NOW)).toEqual({ refused: 'not_found' });

    const rotated = await rotate(a, sub.id, 'whsec_bmV3bmV3bmV3bmV3bmV3bmV3', NOW);
    expect(rotated).toMatchObject({ row: { secret: 'whsec_bmV3bmV3bmV3bmV3bmV3bmV3' } });
    const [m] = (await store([queuedEvent({ api_key_id: a })])) as [AttemptMessage];
    expect((await loadDeliveryWork(db, m, NOW))?.subscription?.secrets).toEqual([
      'whsec_bmV3bmV3bmV3bmV3bmV3bmV3',
      sub.secret,
    ]);
    const later = new Date(NOW.getTime() + 61_000);
    expect((await loadDeliveryWork(db, m, later))?.subscription?.secrets).toEqual([
      'whsec_bmV3bmV3bmV3bmV3bmV3bmV3',
    ]);
  });

  it('keeps every secret replaced within its overlap signing after a second rotation, each until its own end', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const halfway = new Date(NOW.getTime() + 30_000);
    await rotate(a, sub.id, 'whsec_c2Vjb25k', NOW);
    const second = await rotate(a, sub.id, 'whsec_dGhpcmQ=', halfway);
    expect('row' in second && toSubscription(second.row, halfway).previous_secret_expires_at).toBe(
      new Date(halfway.getTime() + 60_000).toISOString(),
    );
    // Once no replaced secret signs any more, none is said to.
    const after = new Date(halfway.getTime() + 61_000);
    expect('row' in second && toSubscription(second.row, after).previous_secret_expires_at).toBeNull();
    const [m] = (await store([queuedEvent({ api_key_id: a })])) as [AttemptMessage];
    const secretsAt = async (ms: number) =>
      (await loadDeliveryWork(db, m, new Date(NOW.getTime() + ms)))?.subscription?.secrets;
    // The original secret still signs after the second rotation: its 60 s run from the first.
    expect(await secretsAt(30_000)).toEqual(['whsec_dGhpcmQ=', 'whsec_c2Vjb25k', sub.secret]);
    expect(await secretsAt(61_000)).toEqual(['whsec_dGhpcmQ=', 'whsec_c2Vjb25k']);
    expect(await secretsAt(91_000)).toEqual(['whsec_dGhpcmQ=']);
  });

  it('refuses a rotation that would leave more than maxSecrets signing, and changes nothing', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    expect(await rotate(a, sub.id, 'whsec_b25l', NOW, 3)).toHaveProperty('row');
    expect(await rotate(a, sub.id, 'whsec_dHdv', NOW, 3)).toHaveProperty('row');
    expect(await rotate(a, sub.id, 'whsec_dGhyZWU=', NOW, 3)).toEqual({ refused: 'limit_reached' });
    expect((await getSubscription(db, { apiKeyId: a, id: sub.id }))?.secret).toBe('whsec_dHdv');
    // Once the replaced ones have ended, rotating works again.
    expect(await rotate(a, sub.id, 'whsec_dGhyZWU=', new Date(NOW.getTime() + 61_000), 3)).toHaveProperty(
      'row',
    );
  });

  it('creates no subscription past the key’s limit, and pages a key’s subscriptions oldest first', async () => {
    const a = tenant();
    const create = (i: number) =>
      createSubscription(
        db,
        {
          apiKeyId: a,
          id: `sub_${String(i).padStart(24, '0')}`,
          url: 'https://h.example.com/',
          eventTypes: null,
          secret: 'whsec_eA==',
        },
        new Date(NOW.getTime() + i),
        3,
      );
    for (const i of [1, 2, 3]) expect(await create(i)).not.toBeNull();
    expect(await create(4)).toBeNull();
    expect(await subscribe(tenant(), null)).toBeDefined(); // another key is not affected

    const first = await listSubscriptions(db, { apiKeyId: a, limit: 2 });
    expect(first.subscriptions.map((s) => s.id.slice(-1))).toEqual(['1', '2']);
    expect(first.next).not.toBeNull();
    const second = await listSubscriptions(db, { apiKeyId: a, limit: 2, after: first.next ?? undefined });
    expect(second.subscriptions.map((s) => s.id.slice(-1))).toEqual(['3']);
    expect(second.next).toBeNull();
  });
});

describe('a delivery whose event is gone', () => {
  it('loads with event null, so that the dispatcher can say so instead of skipping it', async () => {
    const a = tenant();
    await subscribe(a, null);
    const event = queuedEvent({ api_key_id: a });
    const [m] = (await store([event])) as [AttemptMessage];
    // By hand: retention never lets an event with a pending delivery go.
    await db
      .prepare(`DELETE FROM ${dayTable(dayOf(event.timestamp))} WHERE event_id = ?1`)
      .bind(event.event_id)
      .run();
    expect(await loadDeliveryWork(db, m, NOW)).toMatchObject({ status: 'pending', event: null });
  });
});
