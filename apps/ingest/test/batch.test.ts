import { env } from 'cloudflare:workers';
import type { BatchAccepted, ErrorEnvelope } from '@triggers/event-schema';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_PACKED_MESSAGE_BYTES,
  PackedEvents,
  SEND_BATCH_LIMIT_BYTES,
} from '@triggers/event-schema';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { idempotentEventId } from '../src/lib/idempotency.ts';
import { items, newApiKey, post, queued, receivedFromQueue } from './support/ingest.ts';

/** A batch body of exactly `bytes` bytes: ten events padded with ASCII to share the size. */
function batchOfSize(bytes: number, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  const build = (pad: (i: number) => number) =>
    JSON.stringify({
      events: Array.from({ length: 10 }, (_, i) => ({ payload: { s: 'x'.repeat(pad(i)) }, ...extra(i) })),
    });
  const room = bytes - build(() => 0).length;
  const each = Math.floor(room / 10);
  return build((i) => (i === 9 ? room - each * 9 : each));
}

/** Serialized size of what one `sendBatch` call was given. */
const callBytes = (messages: readonly MessageSendRequest[]) =>
  messages.reduce((sum, m) => sum + new TextEncoder().encode(JSON.stringify(m.body)).byteLength, 0);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('POST /events/batch', () => {
  it('accepts the valid items of a mixed batch, rejects the others with code and path, in request order', async () => {
    const key = await newApiKey();
    const res = await post('/events/batch', key, {
      events: [
        { payload: { order: 1 } },
        { payload: 'not an object' },
        { payload: { order: 3 }, metadata: { source: 'test' } },
        { payload: { order: 4 }, extra: true },
      ],
    });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as BatchAccepted;
    expect(data.accepted).toBe(2);
    expect(data.rejected).toBe(2);
    expect(data.results.map((r) => [r.index, r.status])).toEqual([
      [0, 'accepted'],
      [1, 'rejected'],
      [2, 'accepted'],
      [3, 'rejected'],
    ]);
    const [first, second, third, fourth] = data.results;
    expect(second).toMatchObject({
      error: { code: 'VALIDATION_ERROR', issues: [{ path: 'events.1.payload' }] },
    });
    expect(fourth).toMatchObject({
      error: {
        code: 'VALIDATION_ERROR',
        issues: [{ path: 'events.3.extra', message: 'is not a recognised field' }],
      },
    });
    if (first?.status !== 'accepted' || third?.status !== 'accepted')
      throw new Error('expected accepted items');
    expect((await queued(first.event_id)).payload).toEqual({ order: 1 });
    expect(await queued(third.event_id)).toMatchObject({
      payload: { order: 3 },
      metadata: { source: 'test' },
    });
  });

  it('answers 400 with every item’s reason and queues nothing when no item is valid', async () => {
    const key = await newApiKey();
    const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch');
    const res = await post('/events/batch', key, { events: [{ payload: 1 }, {}] });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorEnvelope;
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.details?.results).toMatchObject([
      { index: 0, status: 'rejected', error: { issues: [{ path: 'events.0.payload' }] } },
      {
        index: 1,
        status: 'rejected',
        error: { issues: [{ path: 'events.1.payload', message: 'is required' }] },
      },
    ]);
    expect(sendBatch).not.toHaveBeenCalled();
  });

  it(`accepts exactly ${MAX_BATCH_EVENTS} events and queues every one`, async () => {
    const key = await newApiKey();
    const res = await post('/events/batch', key, { events: items(MAX_BATCH_EVENTS) });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as BatchAccepted;
    expect(data.accepted).toBe(MAX_BATCH_EVENTS);
    const ids = data.results.map((r) => (r.status === 'accepted' ? r.event_id : ''));
    expect(new Set(ids).size).toBe(MAX_BATCH_EVENTS);
    const last = await queued(ids[MAX_BATCH_EVENTS - 1] as string);
    expect(last.payload).toEqual({ n: MAX_BATCH_EVENTS - 1 });
  });

  it(`refuses ${MAX_BATCH_EVENTS + 1} events as a whole with 400 naming the limit, queueing nothing`, async () => {
    const key = await newApiKey();
    const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch');
    const res = await post('/events/batch', key, { events: items(MAX_BATCH_EVENTS + 1) });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorEnvelope;
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.message).toContain(`at most ${MAX_BATCH_EVENTS} events`);
    expect(error.details?.issues).toEqual([
      { path: 'events', message: `must contain at most ${MAX_BATCH_EVENTS} events` },
    ]);
    expect(sendBatch).not.toHaveBeenCalled();
  });
});

describe('POST /events/batch byte limits', () => {
  it(`accepts a body of exactly ${MAX_BATCH_BYTES} bytes, queued in several sendBatch calls within the queue's limits`, async () => {
    const key = await newApiKey();
    const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch');
    const body = batchOfSize(MAX_BATCH_BYTES);
    expect(new TextEncoder().encode(body).byteLength).toBe(MAX_BATCH_BYTES);

    const res = await post('/events/batch', key, new TextEncoder().encode(body));
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as BatchAccepted;
    expect(data.accepted).toBe(10);
    expect(sendBatch.mock.calls.length).toBeGreaterThan(1);
    for (const [messages] of sendBatch.mock.calls) {
      expect(callBytes([...messages])).toBeLessThanOrEqual(SEND_BATCH_LIMIT_BYTES);
    }
    expect(sendBatch.mock.calls.flatMap(([messages]) => [...messages]).length).toBe(10);
    const last = data.results[9];
    if (last?.status !== 'accepted') throw new Error('expected the last item accepted');
    expect(((await queued(last.event_id)).payload as { s: string }).s.length).toBeGreaterThan(90_000);
  });

  it(`refuses a body of ${MAX_BATCH_BYTES + 1} bytes with 413 naming the limit, queueing nothing`, async () => {
    const key = await newApiKey();
    const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch');
    const res = await post('/events/batch', key, new TextEncoder().encode(batchOfSize(MAX_BATCH_BYTES + 1)));
    expect(res.status).toBe(413);
    const { error } = (await res.json()) as ErrorEnvelope;
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toContain(String(MAX_BATCH_BYTES));
    expect(error.details?.limit_bytes).toBe(MAX_BATCH_BYTES);
    expect(sendBatch).not.toHaveBeenCalled();
  });

  it('rejects only the item too large for a queue message, with its path', async () => {
    const key = await newApiKey();
    const res = await post('/events/batch', key, {
      events: [{ payload: { ok: 1 } }, { payload: { s: 'x'.repeat(130_000) } }],
    });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as BatchAccepted;
    expect(data.results[0]?.status).toBe('accepted');
    expect(data.results[1]).toMatchObject({
      index: 1,
      status: 'rejected',
      error: { code: 'PAYLOAD_TOO_LARGE', issues: [{ path: 'events.1' }] },
    });
  });
});

describe('POST /events/batch packs its events into few queue messages', () => {
  /** The accepted event ids of a batch answer. */
  const acceptedIds = (data: BatchAccepted['data']) =>
    data.results.flatMap((r) => (r.status === 'accepted' ? [r.event_id] : []));

  it(`carries ${MAX_BATCH_EVENTS} events of 1 KB in 1 to 2 messages through the real queue, each event whole and once`, async () => {
    const key = await newApiKey();
    const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch'); // watches only
    const res = await post('/events/batch', key, {
      events: items(MAX_BATCH_EVENTS, () => ({ metadata: { pad: 'x'.repeat(1_000) } })),
    });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as BatchAccepted;
    const ids = acceptedIds(data);
    expect(ids).toHaveLength(MAX_BATCH_EVENTS);

    const received = await Promise.all(ids.map((id) => receivedFromQueue(id)));
    const messages = new Map(received.map((seen) => [seen.message_id, seen.packed]));
    expect(messages.size).toBeGreaterThanOrEqual(1);
    expect(messages.size).toBeLessThanOrEqual(2);
    // Every event is in exactly one message: the packs' counts add up to the batch.
    expect([...messages.values()].reduce((sum, packed) => sum + packed, 0)).toBe(MAX_BATCH_EVENTS);
    expect(received.map((seen) => seen.body.payload)).toEqual(
      items(MAX_BATCH_EVENTS).map((item) => item.payload),
    );
    expect(received.every((seen, i) => seen.body.event_id === ids[i])).toBe(true);

    const sent = sendBatch.mock.calls.flatMap(([call]) => [...call]);
    expect(sent).toHaveLength(messages.size);
    for (const { body } of sent) {
      expect(new TextEncoder().encode(JSON.stringify(body)).byteLength).toBeLessThanOrEqual(
        MAX_PACKED_MESSAGE_BYTES,
      );
    }
  });

  it(`fills a message while events fit ${MAX_PACKED_MESSAGE_BYTES} bytes and sends the next, which fits no pack, bare`, async () => {
    const key = await newApiKey();
    const big = (n: number) => ({ payload: { n, s: 'x'.repeat(100_000) } });
    const res = await post('/events/batch', key, { events: [big(0), ...items(5), big(1)] });
    expect(res.status).toBe(200);
    const ids = acceptedIds(((await res.json()) as BatchAccepted).data);
    const received = await Promise.all(ids.map((id) => receivedFromQueue(id)));
    // The first large event and the five small ones share a message; two large ones would not fit.
    expect(received.map((seen) => seen.packed)).toEqual([6, 6, 6, 6, 6, 6, 1]);
    expect(new Set(received.map((seen) => seen.message_id)).size).toBe(2);
    expect(received[6]?.body.payload).toMatchObject({ n: 1 });
  });
});

describe('POST /events/batch queue failures', () => {
  it('answers 503 acknowledging nothing when a later sendBatch fails, and a retry with the same keys is whole', async () => {
    const key = await newApiKey();
    // Ten ~40 KB events need two sendBatch calls. The queue cannot be made to fail on demand,
    // so the second call is mocked to fail; the first goes to the real queue.
    const body = batchOfSize(400_000, (i) => ({ idempotency_key: `retry-${i}` }));
    const ids = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => idempotentEventId(key.id, `retry-${i}`)),
    );
    const original = env.EVENT_QUEUE.sendBatch.bind(env.EVENT_QUEUE);
    const sendBatch = vi
      .spyOn(env.EVENT_QUEUE, 'sendBatch')
      .mockImplementationOnce(original)
      .mockRejectedValueOnce(new Error('Queue sendBatch failed: Too Many Requests'));

    const failed = await post('/events/batch', key, new TextEncoder().encode(body));
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('2');
    const { error } = (await failed.json()) as ErrorEnvelope;
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.details).toBeUndefined();
    // The first call's messages pack several events each: the answer counts events.
    const firstCall = [...(sendBatch.mock.calls[0]?.[0] ?? [])].flatMap(({ body }) =>
      v.is(PackedEvents, body) ? body.events : [body],
    );
    expect(firstCall.length).toBeGreaterThan(2);
    expect(error.message).toContain(`${firstCall.length} of them may already be queued`);
    // Honest: the first call's events did reach the queue.
    expect((await queued(ids[0] as string)).event_id).toBe(ids[0]);

    const retried = await post('/events/batch', key, new TextEncoder().encode(body));
    expect(retried.status).toBe(200);
    const { data } = (await retried.json()) as BatchAccepted;
    expect(data.results.map((r) => (r.status === 'accepted' ? r.event_id : r.status))).toEqual(ids);
    expect((await queued(ids[9] as string)).event_id).toBe(ids[9]);
  });
});

describe('POST /events/batch idempotency header', () => {
  it('refuses an Idempotency-Key header, which applies to single events only', async () => {
    const key = await newApiKey();
    const res = await post('/events/batch', key, { events: items(1) }, { 'idempotency-key': 'k1' });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorEnvelope;
    expect(error.details?.issues?.[0]?.path).toBe('headers.idempotency-key');
  });
});
