import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import {
  type AttemptMessage,
  DELIVERY_EXHAUSTED_TYPE,
  DELIVERY_QUEUE,
  EVENT_QUEUE,
  MAX_SUBSCRIPTIONS_PER_KEY,
  type QueuedEvent,
  SUBSCRIPTION_DISABLED_TYPE,
  TRIGGERS_SOURCE,
} from '@triggers/event-schema';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { nextStep } from '../src/delivery/dispatch.ts';
import worker from '../src/index.ts';
import { deliver, event, message, storeOf } from './queue.ts';

/**
 * Operational events (src/delivery/operational.ts) through the Worker's own queue handlers, the
 * tenant's real local store and a real HTTP receiver (test/node/receiver.ts). The dispatcher's
 * next attempts are caught with a spy on `send`, so that the test runtime's consumer does not run
 * them behind the test's back; where a test must see exactly what reached `event-queue`, it catches
 * the `sendBatch` too and hands the bodies to the event-queue handler itself.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const RECEIVER = inject('receiverUrl');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** Two attempts (the second after 1 s, never waited for: the test sends it). */
const TWO_ATTEMPTS = { DELIVERY_SCHEDULE: '1' };

interface Tenant {
  apiKeyId: string;
  /** The subscription whose deliveries fail, and its receiver token. */
  failing: { id: string; token: string };
  /** Another subscription of the same tenant, watching the operational events. */
  watcher: { id: string; token: string };
  /** The first attempt of the failing subscription's delivery of one stored event. */
  attempt: AttemptMessage;
}

const subscriptionId = () => `sub_${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`;

/**
 * A tenant with a subscription to everything whose receiver answers 500, another whose receiver
 * answers 204 and that takes `watcherTypes`, and one stored event fanned out to the first.
 */
async function tenant(watcherTypes: string[] | null): Promise<Tenant> {
  const apiKeyId = `key_${crypto.randomUUID()}`;
  const store = storeOf(apiKeyId);
  const failing = { id: subscriptionId(), token: crypto.randomUUID() };
  const watcher = { id: subscriptionId(), token: crypto.randomUUID() };
  for (const [sub, behaviour, eventTypes] of [
    [failing, 'status/500', null],
    [watcher, 'status/204', watcherTypes],
  ] as const) {
    await store.createSubscription(
      { apiKeyId, id: sub.id, url: `${RECEIVER}/${sub.token}/${behaviour}`, eventTypes, secret: SECRET },
      new Date(),
      MAX_SUBSCRIPTIONS_PER_KEY,
    );
  }
  const e = event({ api_key_id: apiKeyId, type: 'order.created' });
  await store.writeEvents({ delivered: [{ event: e, attempts: 1 }] }, new Date());
  const attempts = await store.fanOut(apiKeyId, [e.event_id], new Date());
  // The watcher takes other types, or it would have a delivery of this event too.
  if (attempts.length !== 1 || attempts[0] === undefined) throw new Error('expected one delivery');
  return { apiKeyId, failing, watcher, attempt: attempts[0] };
}

/**
 * Runs a `delivery-queue` batch of `bodies` through the Worker with `vars`, its messages on their
 * `attempts`th delivery. `events`: catch what is sent to event-queue (else it really goes there).
 */
async function dispatch(
  bodies: unknown[],
  vars: Record<string, unknown>,
  { attempts = 1, events }: { attempts?: number; events?: QueuedEvent[] } = {},
) {
  const testEnv = { ...env, ...vars } as typeof env;
  vi.spyOn(testEnv.DELIVERY_QUEUE, 'send').mockResolvedValue({} as QueueSendResponse);
  if (events !== undefined) {
    vi.spyOn(testEnv.EVENT_QUEUE, 'sendBatch').mockImplementation(async (messages) => {
      events.push(...[...messages].map((m) => m.body as QueuedEvent));
      return {} as QueueSendBatchResponse;
    });
  }
  const batch = createMessageBatch(
    DELIVERY_QUEUE,
    bodies.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv);
  return { result: await getQueueResult(batch, ctx), ids: batch.messages.map((m) => m.id) };
}

/** Both attempts of the tenant's failing delivery; the second ends it failed. */
async function failBoth(t: Tenant, vars: Record<string, unknown>, events?: QueuedEvent[]) {
  await dispatch([t.attempt], vars);
  return dispatch([{ ...t.attempt, attempt: 2 }], vars, { events });
}

/** The tenant's stored events of `type`. */
const storedOfType = async (apiKeyId: string, type: string) =>
  (await storeOf(apiKeyId).listEvents({ apiKeyId, type: { exact: type }, order: 'asc', limit: 10 })).events;

/** The `type` of each webhook the receiver got for `token`. */
const receivedTypes = async (token: string) =>
  ((await (await fetch(`${RECEIVER}/__received/${token}`)).json()) as { body: string }[]).map(
    (r) => (JSON.parse(r.body) as { type: string }).type,
  );

describe('operational events', () => {
  it('a subscription disabled after failures yields exactly one triggers.subscription.disabled event in its tenant’s store, delivered to another subscription and not to the disabled one', async () => {
    const t = await tenant(['triggers.subscription.*']);
    // Through the real local event-queue and delivery-queue: stored, fanned out, delivered.
    await failBoth(t, { ...TWO_ATTEMPTS, DELIVERY_DISABLE_AFTER: 1 });
    const [disabled, ...more] = await vi.waitFor(
      async () => {
        const found = await storedOfType(t.apiKeyId, SUBSCRIPTION_DISABLED_TYPE);
        if (found.length === 0) throw new Error('no operational event stored yet');
        return found;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(more).toEqual([]);
    expect(disabled).toMatchObject({
      type: SUBSCRIPTION_DISABLED_TYPE,
      source: TRIGGERS_SOURCE,
      subject: t.failing.id,
      status: 'delivered',
      payload: {
        subscription_id: t.failing.id,
        url: `${RECEIVER}/${t.failing.token}/status/500`,
        reason: 'disabled after 1 failed deliveries in a row',
        consecutive_failures: 1,
        last_delivery: { delivery_id: t.attempt.delivery_id, round: 1, attempts: 2, last_error: 'HTTP 500' },
      },
    });
    const subscription = await storeOf(t.apiKeyId).getSubscription({
      apiKeyId: t.apiKeyId,
      id: t.failing.id,
    });
    expect(subscription?.enabled).toBe(0);
    expect(disabled?.payload).toMatchObject({ disabled_at: subscription?.updated_at });
    await vi.waitFor(
      async () => expect(await receivedTypes(t.watcher.token)).toEqual([SUBSCRIPTION_DISABLED_TYPE]),
      { timeout: 10_000, interval: 100 },
    );
    // The failing subscription got its two attempts of the order, nothing else.
    expect(await receivedTypes(t.failing.token)).toEqual(['order.created', 'order.created']);

    // The queue hands the last attempt's message over again: the same events, stored once.
    const again: QueuedEvent[] = [];
    const redelivered = await dispatch([{ ...t.attempt, attempt: 2 }], TWO_ATTEMPTS, {
      attempts: 2,
      events: again,
    });
    expect(redelivered.result.explicitAcks).toEqual(redelivered.ids);
    expect(again.map((e) => e.type)).toEqual([DELIVERY_EXHAUSTED_TYPE, SUBSCRIPTION_DISABLED_TYPE]);
    expect(again[1]?.event_id).toBe(disabled?.event_id);
    await deliver(
      EVENT_QUEUE,
      again.map((e) => message(e)),
    );
    expect(await storedOfType(t.apiKeyId, SUBSCRIPTION_DISABLED_TYPE)).toHaveLength(1);
    expect(await storedOfType(t.apiKeyId, DELIVERY_EXHAUSTED_TYPE)).toHaveLength(1);
    const [stored] = await storedOfType(t.apiKeyId, SUBSCRIPTION_DISABLED_TYPE);
    expect(stored?.idempotency_conflicts ?? 0).toBe(0);
  });

  it('a delivery that exhausts its attempts yields triggers.delivery.exhausted, delivered to the tenant’s other subscription and never to the one it is about', async () => {
    const t = await tenant([DELIVERY_EXHAUSTED_TYPE]);
    const sent: QueuedEvent[] = [];
    const { result, ids } = await failBoth(t, TWO_ATTEMPTS, sent);
    expect(result.explicitAcks).toEqual(ids);
    // Five failures disable (the default): one failed delivery tells only of itself.
    expect(sent).toHaveLength(1);
    const [exhausted] = sent;
    expect(exhausted).toMatchObject({
      type: DELIVERY_EXHAUSTED_TYPE,
      source: TRIGGERS_SOURCE,
      subject: t.failing.id,
      api_key_id: t.apiKeyId,
      payload: {
        delivery_id: t.attempt.delivery_id,
        subscription_id: t.failing.id,
        round: 1,
        attempts: 2,
        last_error: 'HTTP 500',
      },
    });
    await deliver(
      EVENT_QUEUE,
      sent.map((e) => message(e)),
    );
    const store = storeOf(t.apiKeyId);
    const deliveries = await vi.waitFor(
      async () => {
        const found = await store.listDeliveries({
          apiKeyId: t.apiKeyId,
          eventId: exhausted?.event_id ?? '',
        });
        if (found.length === 0) throw new Error('not fanned out yet');
        return found;
      },
      { timeout: 10_000, interval: 100 },
    );
    // The failing subscription takes every type and is still enabled: only the subject keeps it out.
    expect((await store.getSubscription({ apiKeyId: t.apiKeyId, id: t.failing.id }))?.enabled).toBe(1);
    expect(deliveries.map((d) => d.subscription_id)).toEqual([t.watcher.id]);
    expect(await storedOfType(t.apiKeyId, SUBSCRIPTION_DISABLED_TYPE)).toEqual([]);
  });

  it('a failed send of the operational events keeps the delivery failed and retries the message, whose redelivery sends them', async () => {
    const t = await tenant([DELIVERY_EXHAUSTED_TYPE]);
    await dispatch([t.attempt], TWO_ATTEMPTS);
    const last = { ...t.attempt, attempt: 2 };
    const testEnv = { ...env, ...TWO_ATTEMPTS } as typeof env;
    // A mock: a local queue cannot be made to refuse a send on demand.
    vi.spyOn(testEnv.EVENT_QUEUE, 'sendBatch').mockRejectedValue(new Error('queue unavailable (test)'));
    const batch = createMessageBatch(DELIVERY_QUEUE, [
      { id: 'm1', timestamp: new Date(), attempts: 1, body: last },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv);
    const failed = await getQueueResult(batch, ctx);
    expect(failed.retryMessages).toEqual([{ msgId: 'm1' }]);
    const [delivery] = await storeOf(t.apiKeyId).listDeliveries({
      apiKeyId: t.apiKeyId,
      eventId: (await storeOf(t.apiKeyId).loadDeliveryWork(last, new Date()))?.event_id ?? '',
    });
    expect(delivery).toMatchObject({ status: 'failed', attempts: 2 });
    vi.restoreAllMocks();

    // A duplicate of the message (not a redelivery) sends nothing; the redelivery sends them.
    const duplicate: QueuedEvent[] = [];
    await dispatch([last], TWO_ATTEMPTS, { events: duplicate });
    expect(duplicate).toEqual([]);
    const resent: QueuedEvent[] = [];
    const { result, ids } = await dispatch([last], TWO_ATTEMPTS, { attempts: 2, events: resent });
    expect(result.explicitAcks).toEqual(ids);
    expect(resent.map((e) => [e.type, e.subject])).toEqual([[DELIVERY_EXHAUSTED_TYPE, t.failing.id]]);
  });

  it('decides to announce only for a redelivered message whose own attempt ended the delivery failed', async () => {
    const t = await tenant([DELIVERY_EXHAUSTED_TYPE]);
    await failBoth(t, TWO_ATTEMPTS, []);
    const last = { ...t.attempt, attempt: 2 };
    const work = await storeOf(t.apiKeyId).loadDeliveryWork(last, new Date());
    if (work === null) throw new Error('no work');
    const at = { now: Date.now(), local: true };
    expect(nextStep(last, work, { ...at, redelivered: true })).toEqual({ kind: 'announce' });
    expect(nextStep(last, work, { ...at, redelivered: false })).toMatchObject({ kind: 'skip' });
    expect(nextStep(t.attempt, work, { ...at, redelivered: true })).toMatchObject({ kind: 'skip' });
    expect(nextStep({ ...last, round: 2 }, work, { ...at, redelivered: true })).toMatchObject({
      kind: 'skip',
    });
  });
});
