import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runInDurableObject,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import {
  EVENT_DLQ,
  MAX_QUEUE_ATTEMPTS,
  MAX_QUEUED_EVENT_BYTES,
  MAX_SUBSCRIPTIONS_PER_KEY,
  type QueuedEvent,
} from '@triggers/event-schema';
import { getDeadLetter, type TenantStore } from '@triggers/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DLQ_ROUTING_REASON, PROCESSING_ERROR_REASON } from '../src/event-batch.ts';
import worker from '../src/index.ts';
import {
  deliver,
  event,
  failStoreOf,
  message,
  PAYLOAD_SECRET,
  row,
  rowWhen,
  storeOf,
  stubOf,
} from './queue.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

const QUEUE = 'event-queue';

/** The one method a tenant store's stub is called through (event-store's client.ts). */
interface Runner {
  run(tenant: string, op: string, args: unknown[]): Promise<unknown>;
}

/**
 * Delivers a valid event and one marked `debug` in one batch and checks what a failure of one
 * message must leave: the valid one acked and stored, the marked one retried in 2 s and nothing
 * else. Answers the marked event and its message.
 */
async function deliverWithOneRetried(debug: 'processing_error' | 'dlq_routing') {
  const ok = event();
  const marked = event({ debug });
  const okMessage = message(ok);
  const markedMessage = message(marked);
  const result = await deliver(QUEUE, [okMessage, markedMessage]);
  expect(result.explicitAcks).toEqual([okMessage.id]);
  expect(result.retryMessages).toEqual([{ msgId: markedMessage.id, delaySeconds: 2 }]);
  expect(await row(ok)).toMatchObject({ status: 'delivered' });
  return { marked, markedMessage };
}

describe('event-queue: storing', () => {
  it('stores every valid event as delivered and acks each message on its own', async () => {
    const events = [event(), event({ debug: 'queue_delay' }), event()];
    const messages = events.map((e) => message(e));
    const result = await deliver(QUEUE, messages);
    expect(result).toMatchObject({ outcome: 'ok', ackAll: false, retryMessages: [] });
    expect(result.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    for (const e of events) {
      expect(await row(e)).toMatchObject({
        status: 'delivered',
        attempts: 1,
        payload: e.payload,
        last_error: null,
      });
    }
  });

  it('stores a message queued before type, source and subject existed, with the default identity', async () => {
    const { type: _t, source: _s, subject: _u, cloudevent: _c, ...old } = event();
    const result = await deliver(QUEUE, [message(old as QueuedEvent)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await row(old as QueuedEvent)).toMatchObject({
      status: 'delivered',
      type: 'triggers.event',
      source: `/api-keys/${old.api_key_id}`,
      subject: null,
      cloudevent: null,
    });
  });

  it('stores the identity and CloudEvent attributes a message carries, and a payload that is not an object', async () => {
    const cloudevent = {
      specversion: '1.0' as const,
      id: 'x-1',
      extensions: { tenant: 'a' },
      data_encoding: 'text' as const,
    };
    const e = event({
      type: 'order.created',
      source: '/shop',
      subject: 'order/1',
      cloudevent,
      payload: '<a/>',
    });
    await deliver(QUEUE, [message(e)]);
    expect(await row(e)).toMatchObject({
      status: 'delivered',
      type: 'order.created',
      source: '/shop',
      subject: 'order/1',
      cloudevent,
      payload: '<a/>',
    });
  });

  it('keeps one row for an event delivered twice, in one batch or in two, and acks every copy', async () => {
    const e = event();
    const first = await deliver(QUEUE, [message(e), message(e)]);
    const later = await deliver(QUEUE, [message(e, 2)]);
    expect(first.explicitAcks).toHaveLength(2);
    expect(later.explicitAcks).toHaveLength(1);
    // Read in the tenant's own object: every row of its store, not only what the API shows.
    const count = await runInDurableObject(
      stubOf(e.api_key_id),
      (_: TenantStore, state) =>
        state.storage.sql.exec('SELECT count(*) AS n FROM events WHERE event_id = ?', e.event_id).one().n,
    );
    expect(count).toBe(1);
    expect(await row(e)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('writes a batch of 100 events of two tenants with one store write per tenant, and none to D1', async () => {
    const d1 = vi.spyOn(env.DB, 'batch'); // a spy that calls through to the real D1
    const calls: string[] = [];
    const get = env.TENANTS.get.bind(env.TENANTS);
    // A spy that calls through to the real objects, counting the operations each one is asked for.
    vi.spyOn(env.TENANTS, 'get').mockImplementation((id, options) => {
      const stub = get(id, options);
      return new Proxy(stub, {
        get: (target, name) =>
          name === 'run'
            ? (tenant: string, op: string, args: unknown[]) => {
                calls.push(`${tenant} ${op}`);
                return (target as unknown as Runner).run(tenant, op, args);
              }
            : name === 'write' || name === 'eraList'
              ? (tenant: string, ...rest: unknown[]) => {
                  calls.push(`${tenant} ${name}`);
                  return (Reflect.get(target, name) as (...args: unknown[]) => unknown)(tenant, ...rest);
                }
              : Reflect.get(target, name),
      });
    });
    const [a, b] = [`key_${crypto.randomUUID()}`, `key_${crypto.randomUUID()}`];
    const events = Array.from({ length: 100 }, (_, i) => event({ api_key_id: i % 3 === 0 ? a : b }));
    const result = await deliver(
      QUEUE,
      events.map((e) => message(e)),
    );
    expect(result.explicitAcks).toHaveLength(100);
    // One write per tenant; before it, the tenant's list of stores, asked once per isolate (it
    // stays exact for two hours: event-store's eras.ts).
    const writes = calls.filter((c) => !c.endsWith(' eraList'));
    expect(writes.sort()).toEqual([`${a} write`, `${b} write`].sort());
    expect(calls.length - writes.length).toBeLessThanOrEqual(2);
    expect(d1).not.toHaveBeenCalled();
    for (const e of events.slice(0, 3)) expect((await row(e))?.status).toBe('delivered');
  });

  it('logs one batch line with its counts and one line per failure, never a payload', async () => {
    const lines: string[] = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((line: unknown) => {
        lines.push(String(line));
      });
    }
    const stored = event();
    const failing = event({ debug: 'processing_error' });
    await deliver(QUEUE, [
      message(stored),
      message(stored),
      message(failing),
      message({ payload: PAYLOAD_SECRET }),
    ]);

    expect(lines.join('\n')).not.toContain(PAYLOAD_SECRET);
    const logged = lines.map((line) => JSON.parse(line));
    expect(logged.filter((l) => l.message === 'batch' && l.queue === QUEUE)).toEqual([
      expect.objectContaining({
        queue: QUEUE,
        size: 4,
        stored: 1,
        duplicates: 1,
        retried: 1,
        dead_lettered: 1,
        duration_ms: expect.any(Number),
      }),
    ]);
    expect(logged.filter((l) => l.message === 'message failed' && l.queue === QUEUE)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          event_id: failing.event_id,
          correlation_id: failing.correlation_id,
          attempt: 1,
          reason: PROCESSING_ERROR_REASON,
          action: 'retry',
        }),
        expect.objectContaining({
          attempt: 1,
          reason: expect.stringMatching(/^malformed message: event_id: is required; /),
          action: 'dead_letter',
        }),
      ]),
    );
  });
});

describe('event-queue: webhook fan-out', () => {
  const subscribe = (apiKeyId: string, n: number) =>
    storeOf(apiKeyId).createSubscription(
      {
        apiKeyId,
        id: `sub_${String(n).padStart(24, '0')}`,
        url: 'https://hooks.example.com/',
        eventTypes: null,
        secret: 'whsec_eA==',
      },
      new Date(),
      MAX_SUBSCRIPTIONS_PER_KEY,
    );

  it('hands the dispatcher one fan-out message per ten stored events of a subscribed key, whatever its subscriptions, and none for other keys', async () => {
    const heavy = `key_${crypto.randomUUID()}`;
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_KEY; i++) await subscribe(heavy, i);
    const quiet = `key_${crypto.randomUUID()}`;
    const events = [
      ...Array.from({ length: 25 }, () => event({ api_key_id: heavy })),
      ...Array.from({ length: 5 }, () => event({ api_key_id: quiet })),
    ];
    const sent: unknown[] = [];
    // Spied, so that the test runtime's own consumer does not fan out behind the test's back.
    vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch').mockImplementation(async (messages) => {
      sent.push(...[...messages].map((m) => m.body));
      return {} as QueueSendBatchResponse;
    });
    const messages = events.map((e) => message(e));
    const result = await deliver(QUEUE, messages);
    expect(result.explicitAcks).toHaveLength(30);
    expect(sent).toEqual([
      { api_key_id: heavy, fan_out: events.slice(0, 10).map((e) => e.event_id) },
      { api_key_id: heavy, fan_out: events.slice(10, 20).map((e) => e.event_id) },
      { api_key_id: heavy, fan_out: events.slice(20, 25).map((e) => e.event_id) },
    ]);
  });

  it('retries the stored events of the batch when delivery-queue refuses their fan-out (mocked: a local queue cannot be made to fail on demand)', async () => {
    const key = `key_${crypto.randomUUID()}`;
    await subscribe(key, 1);
    vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch').mockRejectedValue(new Error('Queue unavailable'));
    const m = message(event({ api_key_id: key }));
    const result = await deliver(QUEUE, [m]);
    expect(result.retryMessages).toEqual([{ msgId: m.id, delaySeconds: 2 }]);
  });
});

describe('event-queue: LOG_LEVEL', () => {
  it('writes no batch line at LOG_LEVEL=warn, and still a line per failed message', async () => {
    const lines: string[] = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((line: unknown) => {
        lines.push(String(line));
      });
    }
    const failing = event({ debug: 'processing_error' });
    const batch = createMessageBatch<QueuedEvent>(
      QUEUE,
      [event(), failing].map((body) => ({
        id: crypto.randomUUID(),
        timestamp: new Date(),
        attempts: 1,
        body,
      })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, LOG_LEVEL: 'warn' });
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(1);

    const logged = lines.map((line) => JSON.parse(line));
    expect(logged.map((l) => l.message)).toEqual(['message failed']);
    expect(logged[0]).toMatchObject({ level: 'warn', event_id: failing.event_id, action: 'retry' });
  });
});

describe('event-queue: failures', () => {
  it('retries a processing_error event with exponential backoff, records it pending, and acks the rest', async () => {
    const { marked: failing, markedMessage: failingMessage } =
      await deliverWithOneRetried('processing_error');
    expect(await row(failing)).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: PROCESSING_ERROR_REASON,
    });

    const delays = [];
    for (let attempts = 2; attempts <= MAX_QUEUE_ATTEMPTS; attempts++) {
      const again = await deliver(QUEUE, [{ ...failingMessage, attempts }]);
      delays.push(again.retryMessages[0]?.delaySeconds);
    }
    expect(delays).toEqual([4, 8, 16]);
    expect(await row(failing)).toMatchObject({ status: 'pending', attempts: MAX_QUEUE_ATTEMPTS });
  });

  it('sends a dlq_routing event to event-dlq unprocessed and unretried, where it is recorded failed after one attempt', async () => {
    const send = vi.spyOn(env.EVENT_DLQ, 'sendBatch'); // calls through to the real local queue
    const routed = event({ debug: 'dlq_routing' });
    const routedMessage = message(routed);
    const result = await deliver(QUEUE, [routedMessage]);
    expect(result).toMatchObject({ explicitAcks: [routedMessage.id], retryMessages: [] });
    expect(send).toHaveBeenCalledTimes(1);
    expect(send.mock.calls[0]?.[0]).toEqual([
      {
        contentType: 'json',
        body: expect.objectContaining({
          kind: 'event',
          reason: DLQ_ROUTING_REASON,
          attempts: 1,
          event: routed,
        }),
      },
    ]);
    const stored = await rowWhen(routed, (r) => r.status === 'failed');
    expect(stored).toMatchObject({ attempts: 1, last_error: DLQ_ROUTING_REASON, debug: 'dlq_routing' });
  });

  it('isolates a malformed message: dead-lettered with its reason, its batch stored, its body kept', async () => {
    const good = event();
    const bad = message({ event_id: 'not-a-uuid', payload: [PAYLOAD_SECRET] });
    const result = await deliver(QUEUE, [message(good), bad]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
    expect(await row(good)).toMatchObject({ status: 'delivered' });

    const letter = await vi.waitFor(
      async () => {
        const found = await getDeadLetter(env.DB, bad.id);
        if (found === null) throw new Error('not recorded yet');
        return found;
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(letter).toMatchObject({ queue: QUEUE, attempts: 1, body_encoding: 'json' });
    expect(JSON.parse(letter.body)).toEqual(bad.body);
    expect(letter.reason).toMatch(/^malformed message: event_id: Invalid UUID; /);
    expect(letter.reason).not.toContain(PAYLOAD_SECRET);
  });

  it('records a dead letter too large to travel on the queue in the store directly', async () => {
    const send = vi.spyOn(env.EVENT_DLQ, 'sendBatch');
    const filler = 'x'.repeat(MAX_QUEUED_EVENT_BYTES - 400);
    const routed = event({ debug: 'dlq_routing', payload: { filler }, metadata: undefined });
    expect(JSON.stringify(routed).length).toBeLessThanOrEqual(MAX_QUEUED_EVENT_BYTES);
    const result = await deliver(QUEUE, [message(routed)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(send).not.toHaveBeenCalled();
    expect(await row(routed)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: DLQ_ROUTING_REASON,
    });
  });

  it('retries, with backoff, every message of a tenant whose store fails, and acks the other tenants’ messages', async () => {
    const [down, up] = [`key_${crypto.randomUUID()}`, `key_${crypto.randomUUID()}`];
    failStoreOf(down); // mocked: see failStoreOf
    const [first, second, failing] = [
      event({ api_key_id: down }),
      event({ api_key_id: down }),
      event({ api_key_id: down, debug: 'processing_error' }),
    ];
    const others = [event({ api_key_id: up }), event({ api_key_id: up })];
    const messages = [first, second, failing].map((e, i) => message(e, i + 1));
    const otherMessages = others.map((e) => message(e));
    const result = await deliver(QUEUE, [...messages, ...otherMessages]);
    expect(result.explicitAcks.sort()).toEqual(otherMessages.map((m) => m.id).sort());
    expect(result.retryMessages).toEqual(messages.map((m, i) => ({ msgId: m.id, delaySeconds: 2 * 2 ** i })));
    for (const e of others) expect(await row(e)).toMatchObject({ status: 'delivered' });

    vi.restoreAllMocks();
    for (const e of [first, second, failing]) expect(await row(e)).toBeNull();
    // Redelivered once the store is back, they are stored.
    const retried = await deliver(QUEUE, [message(first, 2), message(second, 2)]);
    expect(retried.explicitAcks).toHaveLength(2);
    expect(await row(first)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(await row(second)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('retries an unreadable dead letter too large to travel when D1 fails, and stores the batch’s events', async () => {
    // A mock: local D1 cannot be made to fail on demand, so its batch call is made to reject.
    vi.spyOn(env.DB, 'batch').mockRejectedValue(new Error('D1_ERROR: database unavailable'));
    const send = vi.spyOn(env.EVENT_DLQ, 'sendBatch');
    const good = event();
    const huge = message({ filler: 'x'.repeat(MAX_QUEUED_EVENT_BYTES) });
    const result = await deliver(QUEUE, [message(good), huge]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([{ msgId: huge.id, delaySeconds: 2 }]);
    expect(send).not.toHaveBeenCalled();
    expect(await row(good)).toMatchObject({ status: 'delivered' });
  });

  it('retries only the dead-lettered messages when event-dlq refuses them', async () => {
    // A mock: the local queue cannot be made to refuse a send on demand.
    vi.spyOn(env.EVENT_DLQ, 'sendBatch').mockRejectedValue(new Error('Queue unavailable'));
    const { marked: routed } = await deliverWithOneRetried('dlq_routing');
    expect(await row(routed)).toBeNull();
  });
});

describe('event-queue: replayed events (the inbox API’s retry and DLQ replay)', () => {
  /** Moves `e`'s failed row to pending as the inbox API does before it re-enqueues the event. */
  async function replayRow(e: QueuedEvent) {
    const outcome = await storeOf(e.api_key_id).replayEvent(
      { apiKeyId: e.api_key_id, eventId: e.event_id },
      new Date(),
    );
    expect(outcome).toMatchObject({ replayed: true, event: { status: 'pending', attempts: 0 } });
  }

  it('stores a replayed event, re-sent without its debug marker, as delivered', async () => {
    const routed = event({ debug: 'dlq_routing' });
    await deliver(QUEUE, [message(routed)]);
    await rowWhen(routed, (r) => r.status === 'failed');
    await replayRow(routed);

    // The message the inbox API sends: the same event, a new correlation id, no marker.
    const { debug: _marker, ...fresh } = { ...routed, correlation_id: `replay-${crypto.randomUUID()}` };
    const replayed = message(fresh);
    const result = await deliver(QUEUE, [replayed]);
    expect(result).toMatchObject({ explicitAcks: [replayed.id], retryMessages: [] });
    expect(await row(routed)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      last_error: DLQ_ROUTING_REASON,
      debug: 'dlq_routing',
      correlation_id: routed.correlation_id,
    });
  });

  it('records a replayed event that fails all its attempts again as failed, ready for another replay', async () => {
    const failing = event({ debug: 'processing_error' });
    await deliver(EVENT_DLQ, [message(failing, MAX_QUEUE_ATTEMPTS)]);
    await rowWhen(failing, (r) => r.status === 'failed');
    await replayRow(failing);

    // Replayed with its marker kept, it fails on every attempt and the queue moves it to the DLQ.
    for (let attempts = 1; attempts <= MAX_QUEUE_ATTEMPTS; attempts++) {
      expect((await deliver(QUEUE, [message(failing, attempts)])).retryMessages).toHaveLength(1);
    }
    expect(await row(failing)).toMatchObject({ status: 'pending', attempts: MAX_QUEUE_ATTEMPTS });
    await deliver(EVENT_DLQ, [message(failing, MAX_QUEUE_ATTEMPTS)]);
    expect(await row(failing)).toMatchObject({
      status: 'failed',
      attempts: MAX_QUEUE_ATTEMPTS,
      last_error: PROCESSING_ERROR_REASON,
    });
    await replayRow(failing);
  });
});
