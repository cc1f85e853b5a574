/**
 * Trying a subscription (`POST /subscriptions/test`, `/subscriptions/{id}/test`) and recovering its
 * failed deliveries (`POST /subscriptions/{id}/recover`) in workerd, through the typed client and
 * the Worker's own fetch, against the real local tenant stores and delivery queue. What a
 * recovered delivery then does (its attempts) is the dispatcher's: apps/consumer/test/delivery.test.ts.
 */
import { env } from 'cloudflare:workers';
import { createClient, TriggersError } from '@triggers/client';
import { type AttemptMessage, MAX_TEST_EVENTS, type QueuedEvent } from '@triggers/event-schema';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BASE_URL, expectError, newApiKey, post, type TestKey, workerFetch } from './support/ingest.ts';
import { receivedInOrder, store, storeOf } from './support/store.ts';

const LOCAL_URL = 'http://127.0.0.1:8788/hook';

afterEach(() => vi.restoreAllMocks());

const clientOf = (key: TestKey) => createClient({ baseUrl: BASE_URL, apiKey: key.key, fetch: workerFetch });

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => {
      if (!(err instanceof TriggersError)) throw err;
      return { status: err.status, code: err.code, issues: err.envelope?.error.details?.issues };
    },
  );

/** Three delivered events of a new key (oldest first: an order of 150, an order of 5, a user) and a failed one. */
async function keyWithEvents() {
  const key = await newApiKey();
  const [first, second, third] = receivedInOrder(key.id, 3) as [QueuedEvent, QueuedEvent, QueuedEvent];
  const big = { ...first, type: 'order.created', payload: { total: 150 } };
  const small = { ...second, type: 'order.created', payload: { total: 5 } };
  const user = { ...third, type: 'user.created', payload: { total: 999 } };
  await store('delivered', [big, small, user]);
  const [dead] = await store('failed', [
    { ...big, event_id: crypto.randomUUID(), timestamp: new Date().toISOString() },
  ]);
  return { key, big, small, user, dead: dead as QueuedEvent };
}

describe('POST /subscriptions/test', () => {
  it('tries the rules on the key’s latest stored delivered events, newest first: which match, and the body each would carry', async () => {
    const { key, big, small, user } = await keyWithEvents();
    const tried = await clientOf(key).subscriptions.test({
      event_types: ['order.*'],
      filter: { payload: { total: { $gte: 100 } } },
      transform: '{"total": payload.total, "id": event_id}',
    });
    expect(tried.events_from).toBe('stored');
    expect(tried.matched).toBe(1);
    expect(tried.results.map((r) => [r.event.event_id, r.matched, r.excluded_by, r.body, r.error])).toEqual([
      [user.event_id, false, 'event_types', null, null],
      [small.event_id, false, 'filter', null, null],
      [big.event_id, true, null, { total: 150, id: big.event_id }, null],
    ]);
    // The event as a subscriber receives it without a transformation.
    expect(tried.results[2]?.event).toEqual({
      event_id: big.event_id,
      type: 'order.created',
      source: `/api-keys/${key.id}`,
      subject: null,
      timestamp: big.timestamp,
      payload: { total: 150 },
      metadata: big.metadata,
    });
  });

  it('tries at most limit stored events, and without rules delivers each event as it is', async () => {
    const { key, user, small } = await keyWithEvents();
    const tried = await clientOf(key).subscriptions.test({ limit: 2 });
    expect(tried.results.map((r) => r.event.event_id)).toEqual([user.event_id, small.event_id]);
    expect(tried.results.map((r) => r.body)).toEqual(tried.results.map((r) => r.event));
    expect(tried.matched).toBe(2);
  });

  it('tries given events, defaulted as POST /events defaults them, and reports a transformation failing on one', async () => {
    const key = await newApiKey();
    const tried = await clientOf(key).subscriptions.test({
      transform: '$number(payload.n) * 2',
      events: [{ payload: { n: '21' } }, { payload: { n: 'x' }, type: 'order.created', subject: 's-1' }],
    });
    expect(tried.events_from).toBe('given');
    const [first, second] = tried.results;
    expect(first).toMatchObject({
      matched: true,
      body: 42,
      error: null,
      event: { type: 'triggers.event', source: `/api-keys/${key.id}`, subject: null, metadata: null },
    });
    expect(second).toMatchObject({
      matched: true,
      body: null,
      event: { type: 'order.created', subject: 's-1' },
    });
    expect(second?.error).toMatch(/^transformation failed: D3030/);
  });

  it('refuses a bad filter or transform with 400 at its path, and events with limit or past the maximum', async () => {
    const client = clientOf(await newApiKey());
    expect(await refusal(client.subscriptions.test({ filter: { payload: { total: { $gtx: 1 } } } }))).toEqual(
      {
        status: 400,
        code: 'VALIDATION_ERROR',
        issues: [{ path: 'filter.payload.total.$gtx', message: expect.stringMatching(/not an operator/) }],
      },
    );
    expect(await refusal(client.subscriptions.test({ filter: { $where: 'true' } }))).toMatchObject({
      status: 400,
      issues: [{ path: 'filter.$where' }],
    });
    expect(await refusal(client.subscriptions.test({ transform: '{"a": payload.(' }))).toMatchObject({
      status: 400,
      issues: [{ path: 'transform', message: expect.stringMatching(/^is not JSONata: S0/) }],
    });
    expect(await refusal(client.subscriptions.test({ events: [{ payload: {} }], limit: 2 }))).toMatchObject({
      status: 400,
      issues: [{ path: 'limit' }],
    });
    const many = Array.from({ length: MAX_TEST_EVENTS + 1 }, () => ({ payload: {} }));
    expect(await refusal(client.subscriptions.test({ events: many }))).toMatchObject({
      status: 400,
      issues: [{ path: 'events', message: `must hold at most ${MAX_TEST_EVENTS} events` }],
    });
    expect(await refusal(client.subscriptions.test({ limit: MAX_TEST_EVENTS + 1 }))).toMatchObject({
      status: 400,
      issues: [{ path: 'limit' }],
    });
  });

  it('answers 413 for a body of given events past its byte limit', async () => {
    const key = await newApiKey();
    const big = 'x'.repeat(30_000);
    const events = Array.from({ length: 40 }, () => ({ payload: { big } }));
    await expectError(await post('/subscriptions/test', key, { events }), 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('POST /subscriptions/{id}/test', () => {
  it('tries the subscription’s own rules, and answers another key 404', async () => {
    const { key, big, small, user } = await keyWithEvents();
    const client = clientOf(key);
    const sub = await client.subscriptions.create({
      url: LOCAL_URL,
      filter: { 'payload.total': { $lt: 100 } },
      transform: 'type',
    });
    const tried = await client.subscriptions.testStored(sub.id);
    expect(tried.results.map((r) => [r.event.event_id, r.matched, r.body])).toEqual([
      [user.event_id, false, null],
      [small.event_id, true, 'order.created'],
      [big.event_id, false, null],
    ]);
    const given = await client.subscriptions.testStored(sub.id, { events: [{ payload: { total: 1 } }] });
    expect(given.results.map((r) => r.body)).toEqual(['triggers.event']);
    expect(await refusal(clientOf(await newApiKey()).subscriptions.testStored(sub.id))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
  });
});

/** A key with one subscription and, for each of `minutes` ago, a delivery created then ending `outcome`. */
async function subscriptionWithDeliveries(plan: { minutesAgo: number; outcome: 'failed' | 'succeeded' }[]) {
  const key = await newApiKey();
  const sub = await clientOf(key).subscriptions.create({ url: LOCAL_URL });
  const store = storeOf(key.id);
  const deliveries: AttemptMessage[] = [];
  for (const { minutesAgo, outcome } of plan) {
    const [event] = receivedInOrder(key.id, 1);
    await storeOf(key.id).writeEvents(
      { delivered: [{ event: event as QueuedEvent, attempts: 1 }] },
      new Date(),
    );
    const created = new Date(Date.now() - minutesAgo * 60_000);
    const [m] = await store.fanOut(key.id, [(event as QueuedEvent).event_id], created);
    if (m === undefined) throw new Error('no delivery');
    await store.recordAttempt(
      {
        apiKeyId: key.id,
        deliveryId: m.delivery_id,
        subscriptionId: sub.id,
        round: 1,
        attempt: 1,
        attemptedAt: created,
        httpStatus: outcome === 'failed' ? 500 : 200,
        error: null,
        latencyMs: 3,
        responseExcerpt: null,
        status: outcome,
        nextAttemptAt: null,
        disableAfter: 1_000,
      },
      created,
    );
    deliveries.push(m);
  }
  const statusOf = async (m: AttemptMessage) => {
    const work = await store.loadDeliveryWork(m, new Date());
    return work && { status: work.status, round: work.round };
  };
  return { key, sub, deliveries, statusOf, client: clientOf(key) };
}

const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

describe('POST /subscriptions/{id}/recover', () => {
  it('queues exactly the failed deliveries created in the window, once each, and a second call queues none again', async () => {
    const { sub, deliveries, statusOf, client } = await subscriptionWithDeliveries([
      { minutesAgo: 60, outcome: 'failed' }, // before the window
      { minutesAgo: 40, outcome: 'failed' },
      { minutesAgo: 30, outcome: 'succeeded' },
      { minutesAgo: 20, outcome: 'failed' },
      { minutesAgo: 5, outcome: 'failed' }, // after the window
    ]);
    const [before, first, succeeded, second, after] = deliveries as [
      AttemptMessage,
      AttemptMessage,
      AttemptMessage,
      AttemptMessage,
      AttemptMessage,
    ];
    // A spy on the real queue: the messages still cross it.
    const sendBatch = vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch');
    const recovered = await client.subscriptions.recover(sub.id, { since: ago(50), until: ago(10) });
    expect(recovered).toEqual({
      recovered: 2,
      delivery_ids: [first.delivery_id, second.delivery_id],
      remaining: 0,
    });
    const queued = sendBatch.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body));
    expect(queued).toEqual([
      { api_key_id: first.api_key_id, delivery_id: first.delivery_id, round: 2, attempt: 1 },
      { api_key_id: second.api_key_id, delivery_id: second.delivery_id, round: 2, attempt: 1 },
    ]);
    expect(await statusOf(first)).toEqual({ status: 'pending', round: 2 });
    expect(await statusOf(second)).toEqual({ status: 'pending', round: 2 });
    expect(await statusOf(before)).toEqual({ status: 'failed', round: 1 });
    expect(await statusOf(after)).toEqual({ status: 'failed', round: 1 });
    expect(await statusOf(succeeded)).toEqual({ status: 'succeeded', round: 1 });

    // While they are pending, the same window takes nothing and queues nothing.
    sendBatch.mockClear();
    expect(await client.subscriptions.recover(sub.id, { since: ago(50), until: ago(10) })).toEqual({
      recovered: 0,
      delivery_ids: [],
      remaining: 0,
    });
    expect(sendBatch).not.toHaveBeenCalled();
  });

  it('takes at most limit, oldest first, and says how many remain; without until, up to now', async () => {
    const { sub, deliveries, client } = await subscriptionWithDeliveries([
      { minutesAgo: 30, outcome: 'failed' },
      { minutesAgo: 20, outcome: 'failed' },
      { minutesAgo: 10, outcome: 'failed' },
    ]);
    const ids = deliveries.map((d) => d.delivery_id);
    expect(await client.subscriptions.recover(sub.id, { since: ago(60), limit: 2 })).toEqual({
      recovered: 2,
      delivery_ids: ids.slice(0, 2),
      remaining: 1,
    });
    expect(await client.subscriptions.recover(sub.id, { since: ago(60), limit: 2 })).toEqual({
      recovered: 1,
      delivery_ids: ids.slice(2),
      remaining: 0,
    });
  });

  it('refuses a disabled subscription with 409, another key’s with 404, and a bad window with 400', async () => {
    const { key, sub, deliveries, statusOf, client } = await subscriptionWithDeliveries([
      { minutesAgo: 10, outcome: 'failed' },
    ]);
    await client.subscriptions.update(sub.id, { enabled: false });
    const disabled = await expectError(
      await post(`/subscriptions/${sub.id}/recover`, key, { since: ago(60) }),
      409,
      'INVALID_STATE',
    );
    expect(disabled.error.message).toMatch(/disabled/);
    expect(await statusOf(deliveries[0] as AttemptMessage)).toEqual({ status: 'failed', round: 1 });

    const other = await newApiKey();
    await expectError(
      await post(`/subscriptions/${sub.id}/recover`, other, { since: ago(60) }),
      404,
      'NOT_FOUND',
    );
    expect(await statusOf(deliveries[0] as AttemptMessage)).toEqual({ status: 'failed', round: 1 });

    const bad = async (body: unknown) =>
      (await expectError(await post(`/subscriptions/${sub.id}/recover`, key, body), 400, 'VALIDATION_ERROR'))
        .error.details?.issues;
    expect(await bad({ since: ago(10), until: ago(20) })).toEqual([
      { path: 'until', message: 'must be after since' },
    ]);
    expect(await bad({})).toMatchObject([{ path: 'since' }]);
    expect(await bad({ since: 'yesterday' })).toMatchObject([{ path: 'since' }]);
    expect(await bad({ since: ago(10), limit: 1001 })).toMatchObject([{ path: 'limit' }]);
  });

  it('puts the deliveries back to failed and answers 503 when the queue refuses; the next call recovers them', async () => {
    const { key, sub, deliveries, statusOf, client } = await subscriptionWithDeliveries([
      { minutesAgo: 10, outcome: 'failed' },
    ]);
    // Mocked: the local queue cannot be made to fail on demand.
    const refused = vi
      .spyOn(env.DELIVERY_QUEUE, 'sendBatch')
      .mockRejectedValueOnce(new Error('Queue overloaded'));
    const answer = await expectError(
      await post(`/subscriptions/${sub.id}/recover`, key, { since: ago(60) }),
      503,
      'SERVICE_UNAVAILABLE',
    );
    expect(answer.error.message).toMatch(/stay failed/);
    expect(await statusOf(deliveries[0] as AttemptMessage)).toEqual({ status: 'failed', round: 2 });
    refused.mockRestore();
    expect(await client.subscriptions.recover(sub.id, { since: ago(60) })).toMatchObject({ recovered: 1 });
    expect(await statusOf(deliveries[0] as AttemptMessage)).toEqual({ status: 'pending', round: 3 });
  });
});
