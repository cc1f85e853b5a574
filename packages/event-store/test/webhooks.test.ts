import { env } from 'cloudflare:workers';
import type { DeliveryMessage, QueuedEvent } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import {
  type AttemptResult,
  commit,
  createSubscription,
  fanOut,
  getSubscription,
  listDeliveries,
  listSubscriptions,
  loadDeliveryWork,
  recordAttempt,
  restartDelivery,
  rotateSubscriptionSecret,
  storeDelivered,
  updateSubscription,
} from '../src/index.ts';

const db = env.DB;
const NOW = new Date('2026-12-01T10:00:00.000Z');
const tenant = () => `key_${crypto.randomUUID().slice(0, 8)}`;
let n = 0;

async function subscribe(apiKeyId: string, eventTypes: string[] | null) {
  return createSubscription(
    db,
    {
      apiKeyId,
      id: `sub_${String(++n).padStart(24, '0')}`,
      url: 'https://hooks.example.com/',
      eventTypes,
      secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
    },
    NOW,
  );
}

/** Stores `events` with their fan-out, as the consumer does; answers the delivery messages. */
async function store(events: QueuedEvent[]): Promise<DeliveryMessage[]> {
  const [, keys] = await commit(db, [
    storeDelivered(
      db,
      events.map((event) => ({ event, attempts: 1 })),
      NOW,
    ),
    fanOut(
      db,
      events.map((e) => ({
        api_key_id: e.api_key_id,
        event_id: e.event_id,
        type: e.type ?? 'triggers.event',
      })),
      NOW,
    ),
  ]);
  return [...keys].map((key) => JSON.parse(key));
}

const attempt = (
  m: DeliveryMessage,
  subscriptionId: string,
  over: Partial<AttemptResult>,
): AttemptResult => ({
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
    const [first] = (await store([event])) as [DeliveryMessage];
    // Stored again before any attempt: the same delivery is reported, so a lost message is re-sent.
    expect(await store([event])).toEqual([first]);
    expect(await recordAttempt(db, attempt(first, sub.id, {}), NOW)).toBe(true);
    expect(await store([event])).toEqual([]);
    expect(await listDeliveries(db, { apiKeyId: a, eventId: event.event_id })).toHaveLength(1);
  });
});

describe('the delivery state machine', () => {
  it('records an attempt once: a duplicate message changes nothing', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    const [m] = (await store([queuedEvent({ api_key_id: a })])) as [DeliveryMessage];
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
    const [m1, m2, m3] = messages as [DeliveryMessage, DeliveryMessage, DeliveryMessage];
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
    const [m] = (await store([event])) as [DeliveryMessage];
    const key = { apiKeyId: a, eventId: event.event_id, deliveryId: m.delivery_id };
    expect(await restartDelivery(db, key, NOW)).toBeNull(); // pending
    await recordAttempt(db, attempt(m, sub.id, { httpStatus: 500, status: 'failed' }), NOW);
    expect(await restartDelivery(db, { ...key, apiKeyId: tenant() }, NOW)).toBeNull();
    expect(await restartDelivery(db, key, NOW)).toEqual({ ...m, round: 2, attempt: 1 });
    expect(await restartDelivery(db, key, NOW)).toBeNull(); // pending again
  });
});

describe('subscriptions', () => {
  it('keeps each key to its own subscriptions, and signs with both secrets only during the overlap', async () => {
    const a = tenant();
    const sub = await subscribe(a, null);
    expect(await listSubscriptions(db, tenant())).toEqual([]);
    expect(await getSubscription(db, { apiKeyId: tenant(), id: sub.id })).toBeNull();
    expect(
      await rotateSubscriptionSecret(db, { apiKeyId: tenant(), id: sub.id }, 'whsec_x', NOW, 60),
    ).toBeNull();

    const rotated = await rotateSubscriptionSecret(
      db,
      { apiKeyId: a, id: sub.id },
      'whsec_bmV3bmV3bmV3bmV3bmV3bmV3',
      NOW,
      60,
    );
    expect(rotated).toMatchObject({ secret: 'whsec_bmV3bmV3bmV3bmV3bmV3bmV3', previous_secret: sub.secret });
    const [m] = (await store([queuedEvent({ api_key_id: a })])) as [DeliveryMessage];
    expect((await loadDeliveryWork(db, m, NOW))?.subscription?.secrets).toEqual([
      rotated?.secret,
      sub.secret,
    ]);
    const later = new Date(NOW.getTime() + 61_000);
    expect((await loadDeliveryWork(db, m, later))?.subscription?.secrets).toEqual([rotated?.secret]);
  });
});
