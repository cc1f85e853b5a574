/**
 * Replays: one failed event (`POST /inbox/{event_id}/retry`) or many (`POST /dlq/replay`),
 * against the real Worker, the real local tenant stores and the real local queue (what crossed it
 * is read back from the queue-spy consumer, see vitest.config.ts).
 */
import { env } from 'cloudflare:workers';
import {
  type EventDetails,
  MAX_BATCH_EVENTS,
  MAX_PACKED_MESSAGE_BYTES,
  PackedEvents,
  QUEUE_PLATFORM_OVERHEAD_BYTES,
  QueuedEvent,
  type ReplayResult,
  SEND_BATCH_LIMIT_BYTES,
  SEND_BATCH_MAX_MESSAGES,
} from '@triggers/event-schema';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BASE_URL,
  captureLogs,
  expectError,
  newApiKey,
  post,
  queued,
  receivedFromQueue,
  send,
  type TestKey,
  workerFetch,
} from './support/ingest.ts';
import {
  type Events,
  receivedInOrder,
  rowOf,
  store,
  storeOne,
  tenantWithEachStatus,
} from './support/store.ts';

afterEach(() => vi.restoreAllMocks());

/** Watches `sendBatch` without changing it: the real queue still receives every message. */
const watchSendBatch = () => vi.spyOn(env.EVENT_QUEUE, 'sendBatch');

/**
 * The local queue cannot be made to refuse messages on demand: `sendBatch` is made to reject
 * from its `from`-th call (1-based) on, the calls before it reaching the real queue.
 */
function failSendBatchFrom(from: number) {
  const real = env.EVENT_QUEUE.sendBatch.bind(env.EVENT_QUEUE);
  let calls = 0;
  return vi.spyOn(env.EVENT_QUEUE, 'sendBatch').mockImplementation(async (messages, options) => {
    calls++;
    if (calls >= from) throw new Error('Queue send failed: Too Many Requests');
    return real(messages, options);
  });
}

const retry = (key: TestKey, eventId: string) => send('POST', `/inbox/${eventId}/retry`, key);

async function replay(key: TestKey, body: unknown = {}): Promise<ReplayResult['data']> {
  const response = await post('/dlq/replay', key, body);
  expect(response.status).toBe(200);
  return ((await response.json()) as ReplayResult).data;
}

describe('POST /inbox/{event_id}/retry', () => {
  it('re-enqueues a failed event as a fresh message without its debug marker and answers it pending', async () => {
    const key = await newApiKey();
    const original = await storeOne('failed', key.id, {
      debug: 'processing_error',
      timestamp: '2026-11-29T11:00:00+01:00',
    });
    await send('POST', `/inbox/${original.event_id}/ack`, key);

    const response = await retry(key, original.event_id);
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as EventDetails;
    expect(data).toMatchObject({
      event_id: original.event_id,
      status: 'pending',
      attempts: 0,
      acked_at: null,
      last_error: 'dead on purpose',
      debug: 'processing_error',
    });

    const message = await queued(original.event_id);
    expect(v.parse(QueuedEvent, message)).toEqual({
      event_id: original.event_id,
      payload: original.payload,
      metadata: original.metadata,
      type: 'triggers.event',
      source: `/api-keys/${key.id}`,
      timestamp: '2026-11-29T10:00:00.000Z',
      correlation_id: response.headers.get('x-correlation-id'),
      api_key_id: key.id,
    });
    expect('debug' in message).toBe(false);
    expect(await rowOf(original)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('answers 409 INVALID_STATE for a delivered or pending event, and for a second retry, queuing nothing', async () => {
    const { key, delivered, pending, failed } = await tenantWithEachStatus();
    expect((await retry(key, failed.event_id)).status).toBe(200);

    const sendBatch = watchSendBatch();
    for (const [event, status] of [
      [delivered, 'delivered'],
      [pending, 'pending'],
      [failed, 'pending'],
    ] as const) {
      const { error } = await expectError(await retry(key, event.event_id), 409, 'INVALID_STATE');
      expect(error.details?.status).toBe(status);
      expect(error.message).toContain('only a failed event can be retried');
    }
    expect(sendBatch).not.toHaveBeenCalled();
  });

  it('re-enqueues once when two retries of the same event arrive together: one 200, one 409', async () => {
    const key = await newApiKey();
    const event = await storeOne('failed', key.id);
    const sendBatch = watchSendBatch();
    const statuses = await Promise.all([retry(key, event.event_id), retry(key, event.event_id)]);
    expect(statuses.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(sendBatch).toHaveBeenCalledTimes(1);
  });

  it('answers 503 when the queue refuses the message and leaves the event failed as it was, ready for a later retry', async () => {
    const key = await newApiKey();
    const original = await storeOne('failed', key.id);
    await send('POST', `/inbox/${original.event_id}/ack`, key);
    const before = await rowOf(original);

    failSendBatchFrom(1);
    const response = await retry(key, original.event_id);
    const { error } = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toBe('2');
    expect(error.message).toBe('The event could not be re-enqueued and stays failed. Retry later.');
    expect(await rowOf(original)).toMatchObject({
      status: 'failed',
      attempts: before?.attempts,
      acked_at: before?.acked_at,
    });

    vi.restoreAllMocks();
    expect((await retry(key, original.event_id)).status).toBe(200);
    expect((await queued(original.event_id)).event_id).toBe(original.event_id);
  });

  it('answers 404 for an unknown event and 400 for an id that is not a UUID', async () => {
    const key = await newApiKey();
    await expectError(await retry(key, crypto.randomUUID()), 404, 'NOT_FOUND');
    await expectError(await retry(key, 'abc'), 400, 'VALIDATION_ERROR');
  });
});

describe('POST /dlq/replay', () => {
  it('re-enqueues the key’s failed, unacknowledged events in [from, to), oldest first, up to limit', async () => {
    const key = await newApiKey();
    const events = receivedInOrder(key.id, 6, { debug: 'dlq_routing' });
    const [f0, f1, d2, f3, f4, f5] = events as Events<6>;
    await store('failed', [f0, f1, f3, f4, f5]);
    await store('delivered', [d2]);
    await send('POST', `/inbox/${f1.event_id}/ack`, key); // dismissed: only a retry by id brings it back

    const first = await replay(key, { from: f0.timestamp, to: f5.timestamp, limit: 2 });
    expect(first).toEqual({ replayed: 2, event_ids: [f0.event_id, f3.event_id] });
    for (const event of [f0, f3]) {
      const message = await queued(event.event_id);
      expect(message).toMatchObject({ event_id: event.event_id, payload: event.payload, api_key_id: key.id });
      expect('debug' in message).toBe(false);
      expect(await rowOf(event)).toMatchObject({ status: 'pending', attempts: 0 });
    }
    expect(await replay(key)).toEqual({ replayed: 2, event_ids: [f4.event_id, f5.event_id] });
    expect(await rowOf(f1)).toMatchObject({ status: 'failed', acked_at: expect.any(String) });
    expect(await rowOf(d2)).toMatchObject({ status: 'delivered' });
  });

  it('is safe to call twice: the second call finds nothing failed left to replay', async () => {
    const key = await newApiKey();
    await store('failed', receivedInOrder(key.id, 3));
    expect((await replay(key)).replayed).toBe(3);
    const sendBatch = watchSendBatch();
    expect(await replay(key)).toEqual({ replayed: 0, event_ids: [] });
    expect(sendBatch).not.toHaveBeenCalled();
  });

  it('accepts no body at all: the defaults (100 oldest failed events)', async () => {
    const key = await newApiKey();
    await store('failed', receivedInOrder(key.id, 2));
    const response = await workerFetch(
      new Request(`${BASE_URL}/dlq/replay`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}` },
      }),
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as ReplayResult).data.replayed).toBe(2);
  });

  it('reads an empty body sent without its length (chunked, or gzip of nothing) as no body', async () => {
    const key = await newApiKey();
    await store('failed', receivedInOrder(key.id, 2));
    const empty = () => new Blob([]).stream();
    const gzipOfNothing = () => new Blob([]).stream().pipeThrough(new CompressionStream('gzip'));
    const replayed: number[] = [];
    for (const [body, headers] of [
      [empty(), {}],
      [gzipOfNothing(), { 'content-encoding': 'gzip' }],
    ] as const) {
      const response = await workerFetch(
        new Request(`${BASE_URL}/dlq/replay`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key.key}`, ...headers },
          body,
        }),
      );
      expect(response.status).toBe(200);
      replayed.push(((await response.json()) as ReplayResult).data.replayed);
    }
    expect(replayed).toEqual([2, 0]);
  });

  it(`re-enqueues every event exactly once, packed into as few messages as fit, in sendBatch calls of at most ${SEND_BATCH_MAX_MESSAGES} messages and ${SEND_BATCH_LIMIT_BYTES} bytes`, async () => {
    const key = await newApiKey();
    // 150 small events, then (received last, so replayed last) 5 too large to share a message.
    const text = 'x'.repeat(MAX_PACKED_MESSAGE_BYTES);
    const received = receivedInOrder(key.id, 155);
    const small = received.slice(0, 150);
    const large = received.slice(150).map((e) => ({ ...e, payload: { text } }));
    await store('failed', [...small, ...large]);
    const sendBatch = watchSendBatch();

    const result = await replay(key, { limit: 1000 });
    expect(result.replayed).toBe(155);
    expect(new Set(result.event_ids)).toEqual(new Set([...small, ...large].map((e) => e.event_id)));

    const seen = await Promise.all([...small, ...large].map((e) => receivedFromQueue(e.event_id)));
    expect(seen.every((s) => s.copies === 1)).toBe(true);
    // The small events share messages, as many to one as a message takes; a large one travels alone.
    const smallMessages = new Set(seen.slice(0, small.length).map((s) => s.message_id));
    expect(smallMessages.size).toBe(Math.ceil(small.length / MAX_BATCH_EVENTS));
    expect(seen.slice(small.length).map((s) => s.packed)).toEqual(large.map(() => 1));
    expect(seen.at(-1)?.body.payload).toEqual({ text });

    const calls = sendBatch.mock.calls.map(([messages]) => [...messages]);
    expect(calls.flat()).toHaveLength(smallMessages.size + large.length);
    for (const messages of calls) {
      expect(messages.length).toBeLessThanOrEqual(SEND_BATCH_MAX_MESSAGES);
      const bytes = messages.reduce(
        (sum, m) =>
          sum + new TextEncoder().encode(JSON.stringify(m.body)).byteLength + QUEUE_PLATFORM_OVERHEAD_BYTES,
        0,
      );
      expect(bytes).toBeLessThanOrEqual(SEND_BATCH_LIMIT_BYTES);
    }
  });

  it('answers 503 when the queue fails part-way: what was sent stays pending, the rest is failed again and replays next time', async () => {
    const key = await newApiKey();
    // Events of 30 KB: a few to a message and a few messages to a sendBatch call, so that 20 of
    // them take several calls, and the second fails.
    const events = await store(
      'failed',
      receivedInOrder(key.id, 20, { payload: { text: 'x'.repeat(30_000) } }),
    );
    const sendBatch = failSendBatchFrom(2);
    const response = await post('/dlq/replay', key, { limit: 1000 });
    const { error } = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    const [firstCall] = sendBatch.mock.calls.map(([messages]) => [...messages]);
    const queued = (firstCall ?? []).reduce(
      (sum, m) => sum + (v.is(PackedEvents, m.body) ? m.body.events.length : 1),
      0,
    );
    expect(queued).toBeGreaterThan(1);
    expect(queued).toBeLessThan(events.length);
    expect(error.message).toContain(`${queued} of the ${events.length} events were re-enqueued`);

    const statuses = await Promise.all(events.map(async (e) => (await rowOf(e))?.status));
    expect(statuses.slice(0, queued).every((s) => s === 'pending')).toBe(true);
    expect(statuses.slice(queued).every((s) => s === 'failed')).toBe(true);
    for (const event of events.slice(0, queued))
      expect((await receivedFromQueue(event.event_id)).copies).toBe(1);

    vi.restoreAllMocks();
    expect(await replay(key, { limit: 1000 })).toEqual({
      replayed: events.length - queued,
      event_ids: events.slice(queued).map((e) => e.event_id),
    });
  });

  it.each([
    [{ limit: 0 }, 'limit', 'must be at least 1'],
    [{ limit: 1001 }, 'limit', 'must be at most 1000'],
    [{ status: 'failed' }, 'status', 'is not a recognised field'],
    [{ from: 'last week' }, 'from', expect.stringContaining('ISO-8601')],
    [{ from: '2026-11-29T10:00:00Z', to: '2026-11-29T09:00:00Z' }, 'from', 'must be before to'],
  ])('answers 400 for %j', async (body, path, message) => {
    const key = await newApiKey();
    const { error } = await expectError(await post('/dlq/replay', key, body), 400, 'VALIDATION_ERROR');
    expect(error.details?.issues).toEqual([{ path, message }]);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const key = await newApiKey();
    await expectError(
      await post('/dlq/replay', key, 'limit=5', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});

describe('replay logs', () => {
  it('carry the correlation id and event ids of what was replayed, never a payload', async () => {
    const key = await newApiKey();
    const secret = `payload-secret-${crypto.randomUUID()}`;
    const [one] = await store(
      'failed',
      receivedInOrder(key.id, 2, { payload: { secret }, metadata: { secret } }),
    );
    const { lines, raw } = await captureLogs(async () => {
      await retry(key, String(one?.event_id));
      await replay(key);
      await send('GET', '/inbox?acked=all', key);
    });
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'event replayed',
        event_id: one?.event_id,
        correlation_id: expect.any(String),
        api_key_id: key.id,
      }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ message: 'events replayed', replayed: 1 }));
    expect(lines.filter((l) => l.message === 'request')).toHaveLength(3);
    expect(raw.join('\n')).not.toContain(secret);
  });
});
