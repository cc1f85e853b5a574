/**
 * Webhooks end to end (issue 11): both Workers under `wrangler dev` (the real local event-queue,
 * delivery-queue and D1; the system the suites of this package share, with keys of this suite's
 * own) delivering to real HTTP receivers started here, on a schedule shortened to seconds through
 * DELIVERY_SCHEDULE (the documented knob, set in ../src/shared-system.ts). Signatures are
 * verified with the `standardwebhooks` package, an implementation independent of ours.
 */

import {
  DELIVERY_EXHAUSTED_TYPE,
  type Delivery,
  DeliveryExhaustedPayload,
  type ErrorEnvelope,
  type InboxEvent,
  type Subscription,
  type SubscriptionWithSecret,
  TRIGGERS_SOURCE,
  WebhookEvent,
} from '@triggers/event-schema';
import type { System } from '@triggers/tooling/system';
import {
  type Received,
  type Receiver,
  type Reply,
  startReceiver,
  verifyWebhook,
} from '@triggers/tooling/webhook';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  WEBHOOK_DISABLE_AFTER as DISABLE_AFTER,
  WEBHOOK_SCHEDULE as SCHEDULE,
  suiteSystem,
  WEBHOOK_TIMEOUT_MS as TIMEOUT_MS,
} from '../src/shared-system.ts';

type Key = 'a' | 'b' | 'ops';
let system: System<Key>;
const receivers: Receiver[] = [];

beforeAll(async () => {
  system = await suiteSystem({
    a: { mode: 'test', name: 'tenant a' },
    b: { mode: 'test', name: 'tenant b' },
    // The operational events' own tenant: no other test's failures tell anything there.
    ops: { mode: 'test', name: 'tenant ops' },
  });
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
});

async function receiver(respond?: (request: Received, index: number) => Reply) {
  const started = await startReceiver(respond ? { respond } : {});
  receivers.push(started);
  return started;
}

/**
 * Any answer of the API, loosely: each test reads the fields of the route it called (a test
 * reading a field its route does not have fails on the value, which is what it should do).
 */
type Body = {
  data: Delivery &
    SubscriptionWithSecret & { deliveries: Delivery[]; subscriptions: Subscription[]; events: InboxEvent[] };
  error: ErrorEnvelope['error'] & { details: { issues: { path: string }[] } };
};

async function api(method: string, path: string, body?: unknown, key: Key = 'a') {
  const response = await fetch(`${system.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${system.keys[key]}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

interface Sub {
  id: string;
  secret: string;
}

async function subscribe(
  url: string,
  eventTypes?: string[],
  key: Key = 'a',
  extra: Record<string, unknown> = {},
): Promise<Sub> {
  const { status, body } = await api(
    'POST',
    '/subscriptions',
    { url, ...(eventTypes ? { event_types: eventTypes } : {}), ...extra },
    key,
  );
  expect(status, JSON.stringify(body)).toBe(201);
  return body.data;
}

async function sendEvent(type: string, payload: object = {}, key: Key = 'a'): Promise<string> {
  const { status, body } = await api('POST', '/events', { type, payload }, key);
  expect(status).toBe(200);
  return body.data.event_id;
}

/** The event's deliveries once `ok` holds of them. */
function deliveriesUntil(
  eventId: string,
  ok: (deliveries: Delivery[]) => boolean,
  timeoutMs = 30_000,
  key: Key = 'a',
): Promise<Delivery[]> {
  return vi.waitFor(
    async () => {
      const { status, body } = await api('GET', `/events/${eventId}/deliveries`, undefined, key);
      if (status !== 200 || !ok(body.data.deliveries)) throw new Error(`deliveries: ${JSON.stringify(body)}`);
      return body.data.deliveries;
    },
    { timeout: timeoutMs, interval: 250 },
  );
}

/** The delivery of `eventId` to `sub` once it is `status`. */
async function deliveryWhen(eventId: string, sub: Sub, status: string, key: Key = 'a'): Promise<Delivery> {
  const deliveries = await deliveriesUntil(
    eventId,
    (d) => d.some((x) => x.subscription_id === sub.id && x.status === status),
    30_000,
    key,
  );
  return deliveries.find((x) => x.subscription_id === sub.id) as Delivery;
}

const payloadOf = (request: Received) => JSON.parse(request.body);
const gaps = (requests: Received[]) =>
  requests.slice(1).map((r, i) => (r.at - (requests[i] as Received).at) / 1000);

describe('delivery', () => {
  it('delivers each event to the subscriptions whose types match, signed so standardwebhooks verifies it', async () => {
    const orders = await receiver();
    const users = await receiver();
    const everything = await receiver();
    const orderSub = await subscribe(`${orders.url}/hook`, ['order.*']);
    const userSub = await subscribe(`${users.url}/hook`, ['user.created']);
    const allSub = await subscribe(`${everything.url}/hook`);

    const orderEvent = await sendEvent('order.created', { n: 1 });
    const userEvent = await sendEvent('user.created', { n: 2 });
    const invoiceEvent = await sendEvent('invoice.paid', { n: 3 });
    const bareEvent = await sendEvent('order', { n: 4 }); // not order.*: the prefix needs the dot

    // Every delivery of the four events done: each arrived before it was marked succeeded, and a
    // wrong match would be one more delivery of its event. Nothing else can arrive after this.
    for (const [eventId, subscribers] of [
      [orderEvent, 2],
      [userEvent, 2],
      [invoiceEvent, 1],
      [bareEvent, 1],
    ] as const) {
      await deliveriesUntil(
        eventId,
        (d) => d.length === subscribers && d.every((x) => x.status === 'succeeded'),
      );
    }
    expect(orders.received.map((r) => payloadOf(r).type)).toEqual(['order.created']);
    expect(users.received.map((r) => payloadOf(r).type)).toEqual(['user.created']);
    expect(everything.received.map((r) => payloadOf(r).type).sort()).toEqual([
      'invoice.paid',
      'order',
      'order.created',
      'user.created',
    ]);

    const [orderHook] = orders.received as [Received];
    // The body is what the published schema says it is.
    expect(v.parse(WebhookEvent, verifyWebhook(orderSub.secret, orderHook))).toMatchObject({
      event_id: orderEvent,
      type: 'order.created',
      payload: { n: 1 },
    });
    expect(verifyWebhook(userSub.secret, users.received[0] as Received)).toMatchObject({
      event_id: userEvent,
    });
    for (const hook of everything.received) expect(() => verifyWebhook(allSub.secret, hook)).not.toThrow();
    // Another subscription's secret does not verify it.
    expect(() => verifyWebhook(userSub.secret, orderHook)).toThrow();
    expect(orderHook.headers['content-type']).toBe('application/json');

    const [delivery] = await deliveriesUntil(
      orderEvent,
      (d) => d.length === 2 && d.every((x) => x.status === 'succeeded'),
    );
    const mine = await deliveryWhen(orderEvent, orderSub, 'succeeded');
    expect(orderHook.headers['webhook-id']).toBe(mine.id);
    expect(mine.attempt_log).toEqual([
      expect.objectContaining({ round: 1, attempt: 1, http_status: 204, error: null }),
    ]);
    expect(delivery?.attempt_log[0]?.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('retries a receiver failing 2 times on the schedule, with one webhook-id, and stops at its first success', async () => {
    const flaky = await receiver((_request, index) =>
      index < 2 ? { status: 500, body: 'x'.repeat(5_000) } : { status: 200 },
    );
    const sub = await subscribe(flaky.url, ['flaky.*']);
    const eventId = await sendEvent('flaky.one');
    const delivery = await deliveryWhen(eventId, sub, 'succeeded');
    await new Promise((done) => setTimeout(done, 2_500));

    expect(flaky.received).toHaveLength(3);
    expect(new Set(flaky.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivery.id]));
    const [first, second] = gaps(flaky.received) as [number, number];
    // Schedule 1 s then 2 s, ±20 % jitter, plus the queue's batch timeout.
    expect(first).toBeGreaterThanOrEqual(0.75);
    expect(first).toBeLessThan(4);
    expect(second).toBeGreaterThanOrEqual(1.55);
    expect(second).toBeLessThan(5);
    expect(delivery.attempt_log.map((a) => a.http_status)).toEqual([500, 500, 200]);
    // Only a short excerpt of the 5,000-character body is kept.
    expect(delivery.attempt_log[0]?.response_excerpt?.length).toBeLessThanOrEqual(256);
  });

  it('honours Retry-After when it asks for longer than the schedule', async () => {
    const busy = await receiver((_request, index) =>
      index === 0 ? { status: 503, headers: { 'retry-after': '4' } } : { status: 204 },
    );
    const sub = await subscribe(busy.url, ['busy.*']);
    const eventId = await sendEvent('busy.one');
    await deliveryWhen(eventId, sub, 'succeeded');
    const [gap] = gaps(busy.received) as [number];
    expect(gap).toBeGreaterThanOrEqual(3.9); // the schedule alone would wait about 1 s
  });

  it('marks a delivery failed after the last attempt, and a manual retry starts a new round', async () => {
    let healthy = false;
    const down = await receiver(() => (healthy ? { status: 204 } : { status: 500 }));
    const sub = await subscribe(down.url, ['down.*']);
    const eventId = await sendEvent('down.one');
    const failed = await deliveryWhen(eventId, sub, 'failed');
    expect(failed.attempt_log).toHaveLength(SCHEDULE.length + 1);
    expect(failed.last_error).toBe('HTTP 500');
    expect((await api('GET', `/subscriptions/${sub.id}`)).body.data.consecutive_failures).toBe(1);

    healthy = true;
    const retried = await api('POST', `/events/${eventId}/deliveries/${failed.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.data).toMatchObject({ status: 'pending', round: 2, attempts: 0 });
    const done = await deliveryWhen(eventId, sub, 'succeeded');
    expect(done.attempt_log.at(-1)).toMatchObject({ round: 2, attempt: 1, http_status: 204 });
    expect((await api('POST', `/events/${eventId}/deliveries/${failed.id}/retry`)).status).toBe(409);
    expect((await api('GET', `/subscriptions/${sub.id}`)).body.data.consecutive_failures).toBe(0);
  });

  it(`disables a subscription after ${DISABLE_AFTER} failed deliveries in a row, and a disabled one gets nothing`, async () => {
    const dead = await receiver(() => ({ status: 410 }));
    const sub = await subscribe(dead.url, ['dead.*']);
    const events = [await sendEvent('dead.one'), await sendEvent('dead.two')];
    for (const eventId of events) await deliveryWhen(eventId, sub, 'failed');
    const { body } = await api('GET', `/subscriptions/${sub.id}`);
    expect(body.data).toMatchObject({ enabled: false, consecutive_failures: DISABLE_AFTER });
    expect(body.data.disabled_reason).toMatch(/failed deliveries in a row/);

    const before = dead.received.length;
    const later = await sendEvent('dead.three');
    await vi.waitFor(async () => expect((await api('GET', `/events/${later}`)).status).toBe(200), {
      timeout: 15_000,
    });
    await new Promise((done) => setTimeout(done, 2_000));
    expect(dead.received).toHaveLength(before);
    const laterDeliveries = (await api('GET', `/events/${later}/deliveries`)).body.data.deliveries;
    expect(laterDeliveries.filter((d) => d.subscription_id === sub.id)).toEqual([]);
  });

  it('signs with both secrets during a rotation, each verifying on its own', async () => {
    const rotating = await receiver();
    const sub = await subscribe(rotating.url, ['rotate.*']);
    const rotated = await api('POST', `/subscriptions/${sub.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const fresh: string = rotated.body.data.secret;
    expect(fresh).not.toBe(sub.secret);
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await sendEvent('rotate.one');
    const [hook] = (await rotating.waitFor(1, 30_000)) as [Received];
    expect(hook.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(() => verifyWebhook(sub.secret, hook)).not.toThrow();
    expect(() => verifyWebhook(fresh, hook)).not.toThrow();
  });
});

describe('filters', () => {
  it('delivers only the events whose nested payload field the filter matches', async () => {
    const filtered = await receiver();
    const unfiltered = await receiver();
    const filter = { payload: { order: { total: { $gte: 100 } } } };
    const big = await subscribe(filtered.url, ['filtered.*'], 'a', { filter });
    const all = await subscribe(unfiltered.url, ['filtered.*']);
    const events = [
      await sendEvent('filtered.order', { order: { total: 150 } }),
      await sendEvent('filtered.order', { order: { total: 99 } }),
      await sendEvent('filtered.order', { order: { total: '150' } }), // a string is not a number
      await sendEvent('filtered.order', { order: {} }),
      await sendEvent('filtered.order', { order: { total: 100, lines: [1, 2] } }),
    ];
    // The unfiltered subscription's delivery of each event done: the fan-out that would have
    // created the filtered one's ran (one statement creates both).
    for (const eventId of events) await deliveryWhen(eventId, all, 'succeeded');
    const [first, , , , last] = events as [string, string, string, string, string];
    await deliveryWhen(first, big, 'succeeded');
    await deliveryWhen(last, big, 'succeeded');
    for (const eventId of events) {
      const { body } = await api('GET', `/events/${eventId}/deliveries`);
      const mine = body.data.deliveries.filter((d) => d.subscription_id === big.id);
      expect(mine, eventId).toHaveLength(eventId === first || eventId === last ? 1 : 0);
    }
    expect(
      filtered.received.map((hook) => v.parse(WebhookEvent, verifyWebhook(big.secret, hook)).event_id).sort(),
    ).toEqual([first, last].sort());
    expect(unfiltered.received).toHaveLength(events.length);
  });

  it('refuses a filter with an operator that runs code: 400 naming it', async () => {
    const { status, body } = await api('POST', '/subscriptions', {
      url: 'http://127.0.0.1:9/',
      filter: { $where: 'this.payload.total > 1' },
    });
    expect(status).toBe(400);
    expect(body.error.details.issues[0]?.path).toBe('filter.$where');
  });
});

describe('transformations', () => {
  it('delivers what the expression makes of the event, signed over it so that standardwebhooks verifies it', async () => {
    const hooks = await receiver();
    const transform =
      '{"order": payload.order.id, "total": payload.order.total, "kind": type, "id": event_id}';
    const sub = await subscribe(hooks.url, ['shaped.*'], 'a', { transform });
    const eventId = await sendEvent('shaped.order', {
      order: { id: 'o-42', total: 99.5, secret: 'kept out' },
    });
    await deliveryWhen(eventId, sub, 'succeeded');
    const [hook] = hooks.received as [Received];
    const expected = { order: 'o-42', total: 99.5, kind: 'shaped.order', id: eventId };
    expect(verifyWebhook(sub.secret, hook)).toEqual(expected);
    expect(JSON.parse(hook.body)).toEqual(expected);
    expect(hook.headers['content-type']).toBe('application/json');
  });

  it('a failing expression fails only its attempts, each with its message in the attempts log; a corrected one delivers on a manual retry', async () => {
    const failingHooks = await receiver();
    const plainHooks = await receiver();
    const failing = await subscribe(failingHooks.url, ['broken.*'], 'a', {
      transform: '$number(payload.order.id)',
    });
    const plain = await subscribe(plainHooks.url, ['broken.*']);
    const eventId = await sendEvent('broken.order', { order: { id: 'o-1' } });
    await deliveryWhen(eventId, plain, 'succeeded');
    const failed = await deliveryWhen(eventId, failing, 'failed');
    expect(failed.attempt_log).toHaveLength(SCHEDULE.length + 1);
    for (const attempt of failed.attempt_log) {
      expect(attempt).toMatchObject({
        http_status: null,
        error: expect.stringMatching(/^transformation failed: D3030 at \d+: /),
      });
    }
    expect(failingHooks.received).toEqual([]);
    expect(plainHooks.received).toHaveLength(1);

    const fixed = await api('PATCH', `/subscriptions/${failing.id}`, {
      transform: '{"order": payload.order.id}',
    });
    expect(fixed.status).toBe(200);
    expect((await api('POST', `/events/${eventId}/deliveries/${failed.id}/retry`)).status).toBe(200);
    await deliveryWhen(eventId, failing, 'succeeded');
    expect(verifyWebhook(failing.secret, failingHooks.received[0] as Received)).toEqual({ order: 'o-1' });
  });
});

describe('exactly one delivery per event and subscription', () => {
  it('delivers once an event sent twice under one Idempotency-Key, and once a dead-lettered event retried and then swept by a DLQ replay', async () => {
    const hooks = await receiver();
    const sub = await subscribe(hooks.url, ['once.*']);
    const send = (path: string) =>
      fetch(`${system.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${system.keys.a}`,
          'content-type': 'application/json',
          'idempotency-key': `once-${sub.id}`,
        },
        body: JSON.stringify({ type: 'once.sent', payload: { n: 1 } }),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as Body }));
    // The same event twice: two queue messages, one event_id.
    const [first, second] = [await send('/events'), await send('/events')];
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body.data.event_id).toBe(first.body.data.event_id);
    const sentTwice = first.body.data.event_id;

    // An event dead-lettered on purpose (never stored as delivered, so never fanned out), then
    // retried by hand and swept by a DLQ replay: the retry stores it and delivers it; the replay
    // that follows finds nothing failed to send again.
    const routed = await fetch(`${system.url}/events?debug=dlq_routing`, {
      method: 'POST',
      headers: { authorization: `Bearer ${system.keys.a}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'once.replayed', payload: { n: 2 } }),
    }).then(async (response) => (await response.json()) as Body);
    const replayedId = routed.data.event_id;
    await vi.waitFor(
      async () => {
        const { body } = await api('GET', `/events/${replayedId}`);
        if ((body.data as unknown as { status: string }).status !== 'failed')
          throw new Error('not failed yet');
      },
      { timeout: 30_000, interval: 250 },
    );
    expect((await api('GET', `/events/${replayedId}/deliveries`)).body.data.deliveries).toEqual([]);
    expect((await api('POST', `/inbox/${replayedId}/retry`)).status).toBe(200);
    await deliveryWhen(replayedId, sub, 'succeeded');
    const replay = await api('POST', '/dlq/replay', {});
    expect(replay.status).toBe(200);
    expect((replay.body.data as unknown as { event_ids: string[] }).event_ids).not.toContain(replayedId);

    await deliveryWhen(sentTwice, sub, 'succeeded');
    await new Promise((done) => setTimeout(done, 3_000)); // time for a second delivery, if there were one
    const ids = hooks.received.map((r) => payloadOf(r).event_id).sort();
    expect(ids).toEqual([sentTwice, replayedId].sort());
    // Other tests' subscriptions to every event of this key get theirs too: count this one's.
    for (const eventId of [sentTwice, replayedId]) {
      const { body } = await api('GET', `/events/${eventId}/deliveries`);
      expect(body.data.deliveries.filter((d) => d.subscription_id === sub.id)).toHaveLength(1);
    }
  });
});

describe('isolation from slow subscribers', () => {
  it('a receiver that never answers slows neither the storing of events nor another subscriber', async () => {
    /** Milliseconds from accepted to readable through GET /events/{id}, for `n` events in a row. */
    const storeDelays = async (type: string, n: number) => {
      const delays: number[] = [];
      for (let i = 0; i < n; i++) {
        const started = Date.now();
        const eventId = await sendEvent(type);
        await vi.waitFor(async () => expect((await api('GET', `/events/${eventId}`)).status).toBe(200), {
          timeout: 20_000,
          interval: 50,
        });
        delays.push(Date.now() - started);
      }
      return delays;
    };
    const baseline = await storeDelays('quiet.one', 5);

    const hanging = await receiver(() => ({ hang: true }));
    const fast = await receiver();
    await subscribe(hanging.url, ['slow.*']);
    await subscribe(fast.url, ['slow.*']);
    const withHang = await storeDelays('slow.one', 5);
    const max = (xs: number[]) => Math.max(...xs);
    console.log(
      `store delay ms: baseline ${baseline.join(',')}; with a hanging subscriber ${withHang.join(',')}`,
    );
    // The batch timeout (1 s in the harness) dominates both; a hanging subscriber adds nothing like its timeout per event.
    expect(max(withHang)).toBeLessThan(max(baseline) + TIMEOUT_MS);

    await fast.waitFor(5, 30_000);
    for (const hook of fast.received.slice(0, 5)) {
      // From acceptance (the event's timestamp) to arrival: not held back by the hanging one.
      const delay = hook.at - Date.parse(payloadOf(hook).timestamp);
      expect(delay).toBeLessThan(1_000 + 3 * TIMEOUT_MS);
    }
    await hanging.waitFor(1, 10_000);
  });
});

describe('operational events', () => {
  it('tells of a delivery that used up its attempts as triggers.delivery.exhausted: in the inbox, signed to a triggers.* subscription, never to the subscription it is about; a client cannot send one', async () => {
    const failing = await receiver(() => ({ status: 500 }));
    const watching = await receiver();
    // Subscribed to every event, operational ones included: only the rule that an operational
    // event never goes to the subscription it is about keeps this one from it.
    const failingSub = await subscribe(failing.url, undefined, 'ops');
    const watcher = await subscribe(watching.url, ['triggers.*'], 'ops');

    // A forged one is refused before anything is queued (apps/ingest/test/reserved-source.test.ts
    // covers every way in); had it been taken, the inbox below would hold two.
    const forged = await api(
      'POST',
      '/events',
      { type: DELIVERY_EXHAUSTED_TYPE, source: TRIGGERS_SOURCE, subject: failingSub.id, payload: {} },
      'ops',
    );
    expect(forged.status).toBe(400);
    expect(forged.body.error.details.issues.map((issue) => issue.path)).toEqual(['source']);

    const eventId = await sendEvent('order.lost', { n: 1 }, 'ops');
    const failed = await deliveryWhen(eventId, failingSub, 'failed', 'ops');
    expect(failed.attempt_log).toHaveLength(SCHEDULE.length + 1);

    const told = await vi.waitFor(
      async () => {
        const { body } = await api('GET', `/inbox?type=${DELIVERY_EXHAUSTED_TYPE}`, undefined, 'ops');
        if (body.data.events.length === 0) throw new Error(`not in the inbox yet: ${JSON.stringify(body)}`);
        return body.data.events;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(told).toHaveLength(1);
    const [exhausted] = told as [InboxEvent];
    expect(exhausted).toMatchObject({
      type: DELIVERY_EXHAUSTED_TYPE,
      source: TRIGGERS_SOURCE,
      subject: failingSub.id,
    });
    expect(v.parse(DeliveryExhaustedPayload, exhausted.payload)).toMatchObject({
      subscription_id: failingSub.id,
      url: failing.url,
      delivery_id: failed.id,
      event_id: eventId,
      round: 1,
      attempts: SCHEDULE.length + 1,
      last_error: 'HTTP 500',
    });

    // The fan-out creates every delivery of an event in one statement: once the watcher's is
    // done, none to the failing subscription can appear later.
    const deliveries = await deliveriesUntil(
      exhausted.event_id,
      (d) => d.some((x) => x.subscription_id === watcher.id && x.status === 'succeeded'),
      30_000,
      'ops',
    );
    expect(deliveries.map((d) => d.subscription_id)).toEqual([watcher.id]);
    const [hook] = watching.received as [Received];
    expect(watching.received).toHaveLength(1);
    expect(v.parse(WebhookEvent, verifyWebhook(watcher.secret, hook))).toMatchObject({
      event_id: exhausted.event_id,
      type: DELIVERY_EXHAUSTED_TYPE,
      source: TRIGGERS_SOURCE,
      subject: failingSub.id,
      payload: { delivery_id: failed.id, event_id: eventId },
    });
    expect(failing.received.map((r) => payloadOf(r).event_id)).toEqual(
      Array(SCHEDULE.length + 1).fill(eventId),
    );
  });
});

describe('subscriptions API over HTTP', () => {
  it('refuses SSRF targets with a 400 naming url', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.8/hook',
      'https://192.168.1.10/hook',
      'https://[fd00::1]/hook',
      'http://example.com/hook',
      'ftp://example.com/hook',
      'https://user:pass@example.com/hook',
    ]) {
      const { status, body } = await api('POST', '/subscriptions', { url });
      expect(status, url).toBe(400);
      expect(body.error.code).toBe('VALIDATION_ERROR');
      expect(body.error.details.issues[0]?.path).toBe('url');
    }
  });

  it('shows a tenant none of another tenant’s subscriptions or deliveries', async () => {
    const hooks = await receiver();
    const sub = await subscribe(hooks.url, ['tenant.*'], 'b');
    const eventId = await sendEvent('tenant.one', {}, 'b');
    await hooks.waitFor(1, 30_000);
    expect((await api('GET', '/subscriptions')).body.data.subscriptions.map((s) => s.id)).not.toContain(
      sub.id,
    );
    expect((await api('GET', `/subscriptions/${sub.id}`)).status).toBe(404);
    expect((await api('PATCH', `/subscriptions/${sub.id}`, { enabled: false })).status).toBe(404);
    expect((await api('POST', `/subscriptions/${sub.id}/rotate-secret`)).status).toBe(404);
    expect((await api('DELETE', `/subscriptions/${sub.id}`)).status).toBe(404);
    expect((await api('GET', `/events/${eventId}/deliveries`)).status).toBe(404);
    const own = await api('GET', `/events/${eventId}/deliveries`, undefined, 'b');
    const deliveryId = own.body.data.deliveries[0]?.id;
    expect((await api('POST', `/events/${eventId}/deliveries/${deliveryId}/retry`)).status).toBe(404);
    expect((await api('GET', `/subscriptions/${sub.id}`, undefined, 'b')).body.data.enabled).toBe(true);
  });
});
