import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runInDurableObject,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import {
  type AttemptMessage,
  DELIVERY_QUEUE,
  DELIVERY_QUEUE_CONSUMER,
  type Delivery,
  MAX_RESPONSE_EXCERPT_CHARS,
  MAX_SUBSCRIPTIONS_PER_KEY,
} from '@triggers/event-schema';
import type { TenantStore } from '@triggers/event-store';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { nextStep } from '../src/delivery/dispatch.ts';
import { FAN_OUT_EVENTS_PER_MESSAGE } from '../src/delivery/fan-out.ts';
import worker from '../src/index.ts';
import { event, failStoreOf, storeOf, stubOf } from './queue.ts';

/**
 * The dispatcher (`delivery-queue`) through the Worker's own `queue` handler, without a server:
 * `createMessageBatch` hands it a batch, `getQueueResult` tells what it acked and retried. The
 * store is each tenant's real local store object; subscribers are a real HTTP receiver on 127.0.0.1
 * (test/node/receiver.ts). What the dispatcher queues next is caught with a spy on `send`, so
 * that the test runtime's own consumer does not run those attempts behind the test's back.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const RECEIVER = inject('receiverUrl');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/**
 * The Worker's env with these vars. The test runtime is local development (vitest.config.ts), so
 * that 127.0.0.1 receives.
 */
const envWith = (vars: Record<string, unknown> = {}) => ({ ...env, ...vars }) as typeof env;

interface Setup {
  apiKeyId: string;
  eventId: string;
  token: string;
  attempt: AttemptMessage;
}

/**
 * A key subscribed at `${RECEIVER}/<token>/<behaviour>` (with `transform`, if given), one stored
 * event, its delivery fanned out.
 */
async function deliveryTo(behaviour: string, url?: string, transform?: string): Promise<Setup> {
  const apiKeyId = `key_${crypto.randomUUID()}`;
  const token = crypto.randomUUID();
  const store = storeOf(apiKeyId);
  await store.createSubscription(
    {
      apiKeyId,
      id: `sub_${token.replaceAll('-', '').slice(0, 24)}`,
      url: url ?? `${RECEIVER}/${token}/${behaviour}`,
      eventTypes: null,
      secret: SECRET,
      transform: transform ?? null,
    },
    new Date(),
    MAX_SUBSCRIPTIONS_PER_KEY,
  );
  const e = event({
    api_key_id: apiKeyId,
    type: 'order.created',
    payload: { order: { id: 'o-7', total: 150 } },
  });
  await store.writeEvents({ delivered: [{ event: e, attempts: 1 }] }, new Date());
  const [attempt] = await store.fanOut(apiKeyId, [e.event_id], new Date());
  if (attempt === undefined) throw new Error('no delivery fanned out');
  return { apiKeyId, eventId: e.event_id, token, attempt };
}

/** Runs one `delivery-queue` batch through the Worker; answers the queue's result and the sends made. */
async function dispatch(bodies: unknown[], vars: Record<string, unknown> = {}, attempts = 1) {
  const sent: { body: unknown; delaySeconds: number | undefined }[] = [];
  const testEnv = envWith(vars);
  vi.spyOn(testEnv.DELIVERY_QUEUE, 'send').mockImplementation(async (body, options) => {
    sent.push({ body, delaySeconds: options?.delaySeconds });
    return {} as QueueSendResponse;
  });
  const batch = createMessageBatch(
    DELIVERY_QUEUE,
    bodies.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  const started = Date.now();
  await worker.queue(batch, testEnv);
  const result = await getQueueResult(batch, ctx);
  return { result, sent, ms: Date.now() - started, ids: batch.messages.map((m) => m.id) };
}

const received = async (token: string) =>
  (await (await fetch(`${RECEIVER}/__received/${token}`)).json()) as {
    path: string;
    headers: Record<string, string>;
    body: string;
  }[];

const deliveryOf = async (s: Setup): Promise<Delivery> => {
  const [delivery] = await storeOf(s.apiKeyId).listDeliveries({ apiKeyId: s.apiKeyId, eventId: s.eventId });
  if (delivery === undefined) throw new Error('no delivery');
  return delivery;
};

describe('an attempt', () => {
  it('POSTs the event signed so that standardwebhooks verifies it, records the success and acks', async () => {
    const s = await deliveryTo('status/204');
    const { result, sent, ids } = await dispatch([s.attempt]);
    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    expect(sent).toEqual([]);
    const [hook] = await received(s.token);
    expect(hook?.headers['webhook-id']).toBe(s.attempt.delivery_id);
    expect(new Webhook(SECRET).verify(hook?.body ?? '', hook?.headers ?? {})).toMatchObject({
      event_id: s.eventId,
      type: 'order.created',
    });
    expect(await deliveryOf(s)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      attempt_log: [expect.objectContaining({ attempt: 1, http_status: 204, error: null })],
    });
  });

  it('records a failure and queues the next attempt after the scheduled delay, jittered by at most 20 %', async () => {
    const s = await deliveryTo('status/500');
    const { result, sent } = await dispatch([s.attempt], { DELIVERY_SCHEDULE: '100,1000' });
    expect(result.explicitAcks).toHaveLength(1);
    expect(sent).toEqual([{ body: { ...s.attempt, attempt: 2 }, delaySeconds: expect.any(Number) }]);
    expect(sent[0]?.delaySeconds).toBeGreaterThanOrEqual(80);
    expect(sent[0]?.delaySeconds).toBeLessThanOrEqual(120);
    const delivery = await deliveryOf(s);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500' });
    expect(delivery.attempt_log[0]?.response_excerpt).toHaveLength(MAX_RESPONSE_EXCERPT_CHARS);
    // One clock: the next attempt is due when the queued message's delay says, from the attempt's end.
    const due = Date.parse(delivery.next_attempt_at ?? '');
    const attempted = Date.parse(delivery.attempt_log[0]?.attempted_at ?? '');
    const latency = delivery.attempt_log[0]?.latency_ms ?? 0;
    expect(due - attempted - latency).toBe((sent[0]?.delaySeconds ?? 0) * 1000);
  });

  it('waits as long as Retry-After asks when that is longer than the schedule, in seconds or as an HTTP date', async () => {
    const seconds = await deliveryTo('status/503?retry-after=600');
    expect((await dispatch([seconds.attempt], { DELIVERY_SCHEDULE: '5' })).sent[0]?.delaySeconds).toBe(600);

    const inAnHour = new Date(Date.now() + 3_600_000).toUTCString();
    const date = await deliveryTo(`status/429?retry-after=${encodeURIComponent(inAnHour)}`);
    const delay = (await dispatch([date.attempt], { DELIVERY_SCHEDULE: '5' })).sent[0]?.delaySeconds ?? 0;
    expect(delay).toBeGreaterThanOrEqual(3_590);
    expect(delay).toBeLessThanOrEqual(3_600);

    // Never shorter than the schedule, never past 12 hours.
    const short = await deliveryTo('status/503?retry-after=1');
    expect(
      (await dispatch([short.attempt], { DELIVERY_SCHEDULE: '100' })).sent[0]?.delaySeconds,
    ).toBeGreaterThanOrEqual(80);
    const long = await deliveryTo('status/503?retry-after=999999');
    expect((await dispatch([long.attempt], { DELIVERY_SCHEDULE: '5' })).sent[0]?.delaySeconds).toBe(43_200);
  });

  it('ends the delivery failed after the schedule’s last attempt, queuing nothing more', async () => {
    const s = await deliveryTo('status/410');
    const { sent } = await dispatch([s.attempt], { DELIVERY_SCHEDULE: '1' });
    expect(sent).toHaveLength(1);
    const last = { ...s.attempt, attempt: 2 };
    const { sent: after } = await dispatch([last], { DELIVERY_SCHEDULE: '1' });
    expect(after).toEqual([]);
    expect(await deliveryOf(s)).toMatchObject({ status: 'failed', attempts: 2, next_attempt_at: null });
  });

  it('cuts an endless response body off at the excerpt, long before the timeout, and records the attempt', async () => {
    const s = await deliveryTo('endless');
    const { result, ms } = await dispatch([s.attempt], { DELIVERY_TIMEOUT_MS: 20_000 });
    expect(result.explicitAcks).toHaveLength(1);
    expect(ms).toBeLessThan(10_000);
    const delivery = await deliveryOf(s);
    expect(delivery.status).toBe('succeeded');
    expect(delivery.attempt_log[0]).toMatchObject({ http_status: 200 });
    expect(delivery.attempt_log[0]?.response_excerpt).toHaveLength(MAX_RESPONSE_EXCERPT_CHARS);
    expect(delivery.attempt_log[0]?.latency_ms).toBeLessThan(10_000);
  });

  it('ends a body that stalls at the timeout, keeping the status and what arrived', async () => {
    const s = await deliveryTo('stall');
    await dispatch([s.attempt], { DELIVERY_TIMEOUT_MS: 500 });
    const [attempt] = (await deliveryOf(s)).attempt_log;
    expect(attempt).toMatchObject({ http_status: 200, response_excerpt: 'z'.repeat(10) });
    expect(attempt?.latency_ms).toBeGreaterThanOrEqual(450);
  });

  it('records no answer within the timeout as a timeout, and retries it', async () => {
    const s = await deliveryTo('hang');
    const { sent } = await dispatch([s.attempt], { DELIVERY_TIMEOUT_MS: 300, DELIVERY_SCHEDULE: '60' });
    expect(sent).toHaveLength(1);
    expect(await deliveryOf(s)).toMatchObject({
      status: 'pending',
      last_error: 'timeout: no answer within 300 ms',
      attempt_log: [expect.objectContaining({ http_status: null })],
    });
  });
});

describe('a transformation', () => {
  it('delivers what the expression makes of the event, signed over that body, with the usual headers', async () => {
    const s = await deliveryTo(
      'status/204',
      undefined,
      '{"order": payload.order.id, "kind": type, "id": event_id}',
    );
    const { result, ids } = await dispatch([s.attempt]);
    expect(result.explicitAcks).toEqual(ids);
    const [hook] = await received(s.token);
    expect(JSON.parse(hook?.body ?? '')).toEqual({ order: 'o-7', kind: 'order.created', id: s.eventId });
    expect(new Webhook(SECRET).verify(hook?.body ?? '', hook?.headers ?? {})).toEqual({
      order: 'o-7',
      kind: 'order.created',
      id: s.eventId,
    });
    expect(hook?.headers['webhook-id']).toBe(s.attempt.delivery_id);
    expect(hook?.headers['content-type']).toBe('application/json');
    expect(await deliveryOf(s)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('fails only its own attempt when the expression fails: its message in the attempts log, the next attempt queued, the batch acked', async () => {
    const failing = await deliveryTo('status/204', undefined, '$number(payload.order.id)');
    const endless = await deliveryTo('status/204', undefined, '($f := function($x) { $f($x + 1) }; $f(0))');
    const plain = await deliveryTo('status/204');
    const { result, sent, ids } = await dispatch([failing.attempt, endless.attempt, plain.attempt], {
      DELIVERY_SCHEDULE: '100,1000',
    });
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(result.retryMessages).toEqual([]);
    // No request for either failing one; the plain one delivered.
    expect(await received(failing.token)).toEqual([]);
    expect(await received(endless.token)).toEqual([]);
    expect(await received(plain.token)).toHaveLength(1);
    expect(await deliveryOf(plain)).toMatchObject({ status: 'succeeded' });
    const failed = await deliveryOf(failing);
    expect(failed).toMatchObject({ status: 'pending', attempts: 1 });
    expect(failed.attempt_log).toEqual([
      expect.objectContaining({
        attempt: 1,
        http_status: null,
        error: expect.stringMatching(/^transformation failed: D3030 at \d+: /),
      }),
    ]);
    expect(failed.last_error).toBe(failed.attempt_log[0]?.error);
    expect((await deliveryOf(endless)).attempt_log[0]?.error).toMatch(
      /^transformation failed: (T_STEPS|D1011)/,
    );
    // Each failing delivery's next attempt is queued on the schedule, like any failed attempt.
    expect(
      sent.map((m) => m.body).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual(
      [
        { ...failing.attempt, attempt: 2 },
        { ...endless.attempt, attempt: 2 },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });

  it('uses the expression as it is at each attempt: a corrected one serves the next', async () => {
    const s = await deliveryTo('status/204', undefined, '$number(payload.order.id)');
    await dispatch([s.attempt], { DELIVERY_SCHEDULE: '100' });
    await storeOf(s.apiKeyId).updateSubscription(
      { apiKeyId: s.apiKeyId, id: (await deliveryOf(s)).subscription_id },
      { transform: '{"total": payload.order.total}' },
      new Date(),
    );
    await dispatch([{ ...s.attempt, attempt: 2 }], { DELIVERY_SCHEDULE: '100' });
    const [hook] = await received(s.token);
    expect(JSON.parse(hook?.body ?? '')).toEqual({ total: 150 });
    expect((await deliveryOf(s)).status).toBe('succeeded');
  });
});

describe('before each attempt', () => {
  it('refuses a URL the rules refuse now (stored before them), ending the delivery without a request', async () => {
    const s = await deliveryTo('', 'https://[::a9fe:a9fe]/latest/meta-data');
    const { result, sent } = await dispatch([s.attempt]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(sent).toEqual([]);
    const delivery = await deliveryOf(s);
    expect(delivery.status).toBe('failed');
    expect(delivery.last_error).toMatch(/^not attempted: url refused: must target a public address/);
    expect(delivery.attempt_log).toEqual([]);
  });

  it('refuses http://127.0.0.1 outside local development', async () => {
    const s = await deliveryTo('status/204');
    await dispatch([s.attempt], { ENVIRONMENT: 'production' });
    expect(await received(s.token)).toEqual([]);
    expect((await deliveryOf(s)).last_error).toMatch(/url refused: must use https/);
  });

  it('logs at error, and ends, a delivery whose event is no longer stored: never a silent ack', async () => {
    const s = await deliveryTo('status/204');
    await runInDurableObject(stubOf(s.apiKeyId), (_: TenantStore, state) => {
      // By hand, from whichever table holds it (retention never lets it go while it is pending).
      const tables = state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND (name GLOB 'events_[0-9]*' OR name = 'kept_events')",
        )
        .toArray();
      for (const { name } of tables)
        state.storage.sql.exec(`DELETE FROM ${name} WHERE event_id = ?`, s.eventId);
    });
    const errors: Record<string, unknown>[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => errors.push(JSON.parse(String(line))));
    const { result } = await dispatch([s.attempt]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(errors).toContainEqual(
      expect.objectContaining({
        message: 'delivery abandoned',
        reason: 'event no longer stored',
        delivery_id: s.attempt.delivery_id,
      }),
    );
    expect(await received(s.token)).toEqual([]);
    expect(await deliveryOf(s)).toMatchObject({
      status: 'failed',
      last_error: 'not attempted: event no longer stored',
    });
  });
});

describe('the state machine', () => {
  it('makes a duplicate attempt message no request, and queues a lost successor only for a redelivered message', async () => {
    const s = await deliveryTo('status/500');
    await dispatch([s.attempt], { DELIVERY_SCHEDULE: '30' });
    const duplicate = await dispatch([s.attempt], { DELIVERY_SCHEDULE: '30' });
    expect(duplicate.sent).toEqual([]);
    expect(await received(s.token)).toHaveLength(1);
    // The same message handed over again by the queue (its send of attempt 2 had failed): queue it now.
    const redelivered = await dispatch([s.attempt], { DELIVERY_SCHEDULE: '30' }, 2);
    expect(redelivered.sent).toEqual([
      { body: { ...s.attempt, attempt: 2 }, delaySeconds: expect.any(Number) },
    ]);
    expect(redelivered.sent[0]?.delaySeconds).toBeLessThanOrEqual(36);
    expect(await received(s.token)).toHaveLength(1);
  });

  it('decides from the stored delivery alone: settled, another round, out of turn, or due', async () => {
    const s = await deliveryTo('status/204');
    const work = await storeOf(s.apiKeyId).loadDeliveryWork(s.attempt, new Date());
    if (work === null) throw new Error('no work');
    const ctx = { redelivered: false, now: Date.now(), local: true };
    expect(nextStep(s.attempt, work, ctx).kind).toBe('attempt');
    expect(nextStep(s.attempt, { ...work, status: 'succeeded' }, ctx)).toMatchObject({ kind: 'skip' });
    expect(nextStep({ ...s.attempt, round: 2 }, work, ctx)).toMatchObject({ kind: 'skip' });
    expect(nextStep({ ...s.attempt, attempt: 3 }, work, ctx)).toMatchObject({ kind: 'skip' });
    expect(nextStep(s.attempt, null, ctx)).toMatchObject({ kind: 'skip', level: 'warn' });
    expect(nextStep(s.attempt, { ...work, subscription: null }, ctx)).toMatchObject({
      kind: 'abandon',
      reason: 'subscription deleted',
    });
  });

  it('retries the message of a tenant whose store fails, and attempts the other tenants’ deliveries', async () => {
    const down = await deliveryTo('status/204');
    const up = await deliveryTo('status/204');
    failStoreOf(down.apiKeyId); // mocked: see failStoreOf
    const batch = createMessageBatch(DELIVERY_QUEUE, [
      { id: 'm1', timestamp: new Date(), attempts: 1, body: down.attempt },
      { id: 'm2', timestamp: new Date(), attempts: 1, body: up.attempt },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, envWith());
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([{ msgId: 'm1' }]);
    expect(result.explicitAcks).toEqual(['m2']);
    expect(await received(down.token)).toEqual([]);
    expect(await received(up.token)).toHaveLength(1);
  });

  it('says which delivery stays pending when its message fails on the last retry the queue gives it', async () => {
    const down = await deliveryTo('status/204');
    failStoreOf(down.apiKeyId); // mocked: see failStoreOf
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    const runOn = async (attempts: number) => {
      const batch = createMessageBatch(DELIVERY_QUEUE, [
        { id: `m${attempts}`, timestamp: new Date(), attempts, body: down.attempt },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, envWith());
      return getQueueResult(batch, ctx);
    };
    expect((await runOn(DELIVERY_QUEUE_CONSUMER.maxRetries)).retryMessages).toEqual([
      { msgId: `m${DELIVERY_QUEUE_CONSUMER.maxRetries}` },
    ]);
    expect((await runOn(DELIVERY_QUEUE_CONSUMER.maxRetries + 1)).retryMessages).toHaveLength(1);
    const lines = errors.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.message)).toEqual([
      'delivery dispatch failed',
      'delivery message dropped: its retries ran out',
    ]);
    expect(lines[1]).toMatchObject({
      api_key_id: down.apiKeyId,
      delivery_id: down.attempt.delivery_id,
      attempt: DELIVERY_QUEUE_CONSUMER.maxRetries + 1,
    });
  });
});

describe('fan-out', () => {
  it('creates a fan-out message’s deliveries and queues each one’s first attempt, one key at a time', async () => {
    const heavy = `key_${crypto.randomUUID()}`;
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_KEY; i++) {
      await storeOf(heavy).createSubscription(
        {
          apiKeyId: heavy,
          id: `sub_${String(i).padStart(24, '0')}`,
          url: 'https://hooks.example.com/',
          eventTypes: null,
          secret: SECRET,
        },
        new Date(),
        MAX_SUBSCRIPTIONS_PER_KEY,
      );
    }
    const events = Array.from({ length: FAN_OUT_EVENTS_PER_MESSAGE }, () => event({ api_key_id: heavy }));
    await storeOf(heavy).writeEvents(
      { delivered: events.map((e) => ({ event: e, attempts: 1 })) },
      new Date(),
    );
    const testEnv = envWith();
    const batches: unknown[][] = [];
    // Spied, so that the test runtime's own consumer does not attempt a thousand deliveries.
    vi.spyOn(testEnv.DELIVERY_QUEUE, 'sendBatch').mockImplementation(async (messages) => {
      batches.push([...messages]);
      return {} as QueueSendBatchResponse;
    });
    const batch = createMessageBatch(DELIVERY_QUEUE, [
      {
        id: 'f1',
        timestamp: new Date(),
        attempts: 1,
        body: { api_key_id: heavy, fan_out: events.map((e) => e.event_id) },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['f1']);
    // 10 events × 100 subscriptions, in 10 sendBatch calls of at most 100.
    expect(batches.flat()).toHaveLength(FAN_OUT_EVENTS_PER_MESSAGE * MAX_SUBSCRIPTIONS_PER_KEY);
    expect(batches.every((b) => b.length <= 100)).toBe(true);
  });
});

describe('duplicate messages of one attempt', () => {
  it('sends an attempt once when two messages of it come in one batch (its event fanned out twice before it ran)', async () => {
    const s = await deliveryTo('status/204');
    const again = await storeOf(s.apiKeyId).fanOut(s.apiKeyId, [s.eventId], new Date());
    expect(again).toEqual([s.attempt]);
    const { result } = await dispatch([s.attempt, ...again]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(await received(s.token)).toHaveLength(1);
    expect((await deliveryOf(s)).attempt_log).toHaveLength(1);
  });

  it('counts a failed delivery once toward disabling its subscription when two copies of its last attempt record it at the same instant', async () => {
    const s = await deliveryTo('status/204');
    const store = storeOf(s.apiKeyId);
    const subscriptionId = `sub_${s.token.replaceAll('-', '').slice(0, 24)}`;
    const now = new Date();
    const ended = {
      apiKeyId: s.apiKeyId,
      deliveryId: s.attempt.delivery_id,
      subscriptionId,
      round: s.attempt.round,
      attempt: s.attempt.attempt,
      attemptedAt: now,
      httpStatus: 500,
      error: null,
      latencyMs: 0,
      responseExcerpt: null,
      status: 'failed' as const,
      nextAttemptAt: null,
      disableAfter: 2,
    };
    // A Worker's clock stands still while it computes: both copies carry the same instant.
    expect(await store.recordAttempt(ended, now)).toBe(true);
    expect(await store.recordAttempt(ended, now)).toBe(false);
    expect(await store.getSubscription({ apiKeyId: s.apiKeyId, id: subscriptionId })).toMatchObject({
      consecutive_failures: 1,
      enabled: 1,
    });
  });
});
