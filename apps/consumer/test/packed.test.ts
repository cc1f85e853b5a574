import { env } from 'cloudflare:workers';
import {
  EVENT_QUEUE_CONSUMER,
  jsonBytes,
  MAX_BATCH_EVENTS,
  MAX_PACKED_MESSAGE_BYTES,
  MAX_QUEUE_ATTEMPTS,
  type PackedEvents,
  type QueuedEvent,
} from '@triggers/event-schema';
import { getDeadLetter } from '@triggers/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DLQ_ROUTING_REASON, PROCESSING_ERROR_REASON } from '../src/event-batch.ts';
import { partId } from '../src/packed.ts';
import { deliver, event, failStoreOf, message, row, rowWhen, storeOf } from './queue.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

const QUEUE = 'event-queue';
const DLQ = 'event-dlq';

/** `count` events of one tenant, as one batch request sends them; `fields` change some. */
function tenantEvents(
  count: number,
  fields: (i: number) => Partial<QueuedEvent> = () => ({}),
): QueuedEvent[] {
  const api_key_id = `key_${crypto.randomUUID()}`;
  return Array.from({ length: count }, (_, i) => event({ api_key_id, payload: { n: i }, ...fields(i) }));
}

const pack = (events: QueuedEvent[]): PackedEvents => ({ events });

describe('event-queue: a packed message (several events of one batch request)', () => {
  it('stores every event of a pack once and acks the message once', async () => {
    const events = tenantEvents(5);
    const packed = message(pack(events));
    const result = await deliver(QUEUE, [packed, message(event())]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.explicitAcks).toContain(packed.id);
    expect(result.retryMessages).toEqual([]);
    for (const e of events)
      expect(await row(e)).toMatchObject({ status: 'delivered', attempts: 1, payload: e.payload });
  });

  it('dead-letters ONE bad event alone: the good ones stored once, the bad one failed after the last retry', async () => {
    const events = tenantEvents(4, (i) => (i === 2 ? { debug: 'processing_error' } : {}));
    const bad = events[2] as QueuedEvent;
    const good = events.filter((e) => e !== bad);
    const packed = message(pack(events));

    // First attempt: the good events are stored, the bad one fails, the message is retried whole.
    const first = await deliver(QUEUE, [packed]);
    expect(first).toMatchObject({ explicitAcks: [], retryMessages: [{ msgId: packed.id, delaySeconds: 2 }] });
    const stored = await Promise.all(good.map((e) => row(e)));
    for (const r of stored) expect(r).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await row(bad)).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: PROCESSING_ERROR_REASON,
    });

    // Every queue retry: retried whole again, with backoff; the good events are duplicates, untouched.
    const delays = [];
    for (let attempts = 2; attempts <= MAX_QUEUE_ATTEMPTS; attempts++) {
      const again = await deliver(QUEUE, [{ ...packed, attempts }]);
      expect(again.explicitAcks).toEqual([]);
      delays.push(again.retryMessages.map((r) => [r.msgId, r.delaySeconds]));
    }
    expect(delays).toEqual([[[packed.id, 4]], [[packed.id, 8]], [[packed.id, 16]]]);
    expect(await Promise.all(good.map((e) => row(e)))).toEqual(stored);
    expect(await row(bad)).toMatchObject({ status: 'pending', attempts: MAX_QUEUE_ATTEMPTS });

    // After the last retry Cloudflare moves the pack, as it is, to event-dlq.
    const moved = message(pack(events));
    const dead = await deliver(DLQ, [moved]);
    expect(dead).toMatchObject({ explicitAcks: [moved.id], retryMessages: [] });
    expect(await row(bad)).toMatchObject({
      status: 'failed',
      attempts: MAX_QUEUE_ATTEMPTS,
      last_error: PROCESSING_ERROR_REASON,
    });
    // The good events stay delivered, their rows exactly as first stored.
    expect(await Promise.all(good.map((e) => row(e)))).toEqual(stored);
  });

  it('sends a dlq_routing event of a pack to event-dlq alone, and acks the pack', async () => {
    const send = vi.spyOn(env.EVENT_DLQ, 'sendBatch'); // calls through to the real local queue
    const events = tenantEvents(3, (i) => (i === 1 ? { debug: 'dlq_routing' } : {}));
    const routed = events[1] as QueuedEvent;
    const packed = message(pack(events));
    const result = await deliver(QUEUE, [packed]);
    expect(result).toMatchObject({ explicitAcks: [packed.id], retryMessages: [] });
    expect(send.mock.calls.flatMap(([messages]) => [...messages])).toEqual([
      {
        contentType: 'json',
        body: expect.objectContaining({ kind: 'event', message_id: partId(packed.id, 1), event: routed }),
      },
    ]);
    expect(await rowWhen(routed, (r) => r.status === 'failed')).toMatchObject({
      last_error: DLQ_ROUTING_REASON,
    });
    for (const e of [events[0], events[2]] as QueuedEvent[])
      expect(await row(e)).toMatchObject({ status: 'delivered' });
  });

  it('isolates an unreadable event of a pack: kept as a dead letter under its place in the pack, the others stored', async () => {
    const [first, last] = tenantEvents(2);
    const unreadable = { event_id: 'not-a-uuid', payload: {} };
    const packed = message({ events: [first, unreadable, last] });
    const result = await deliver(QUEUE, [packed]);
    expect(result).toMatchObject({ explicitAcks: [packed.id], retryMessages: [] });
    for (const e of [first, last] as QueuedEvent[])
      expect(await row(e)).toMatchObject({ status: 'delivered' });
    const letter = await vi.waitFor(
      async () => {
        const found = await getDeadLetter(env.DB, partId(packed.id, 1));
        if (found === null) throw new Error('not recorded yet');
        return found;
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(JSON.parse(letter.body)).toEqual(unreadable);
  });

  it('retries a pack whole when its tenant’s store fails, and stores each event once on the next attempt', async () => {
    const events = tenantEvents(3);
    const packed = message(pack(events));
    failStoreOf(events[0]?.api_key_id as string); // mocked: see failStoreOf
    const failed = await deliver(QUEUE, [packed]);
    expect(failed).toMatchObject({
      explicitAcks: [],
      retryMessages: [{ msgId: packed.id, delaySeconds: 2 }],
    });
    vi.restoreAllMocks();
    for (const e of events) expect(await row(e)).toBeNull();
    const again = await deliver(QUEUE, [{ ...packed, attempts: 2 }]);
    expect(again.explicitAcks).toEqual([packed.id]);
    for (const e of events) expect(await row(e)).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});

/**
 * The largest batch event-queue can deliver: 100 messages, each a pack of 100 events filling it
 * (12 MB of events in all), of one tenant. Its share is written in one call of its store, unbounded
 * (docs/scaling.md#events-per-consumer-batch says why no bound is needed): this proves it fits the
 * store's limits and one invocation. How long it takes is measured there, not asserted here.
 */
describe('event-queue: the largest batch', () => {
  it(`stores ${EVENT_QUEUE_CONSUMER.maxBatchSize} full packs of ${MAX_BATCH_EVENTS} events of one tenant in one invocation and acks every message`, async () => {
    const apiKeyId = `key_${crypto.randomUUID()}`;
    const bare = jsonBytes(event({ api_key_id: apiKeyId, payload: { text: '' } }));
    // Each event as large as lets 100 of them fill a pack; a little room for ids of other lengths.
    const text = 'x'.repeat(Math.floor(MAX_PACKED_MESSAGE_BYTES / MAX_BATCH_EVENTS) - bare - 20);
    const packs = Array.from({ length: EVENT_QUEUE_CONSUMER.maxBatchSize }, () =>
      pack(
        Array.from({ length: MAX_BATCH_EVENTS }, () => event({ api_key_id: apiKeyId, payload: { text } })),
      ),
    );
    for (const p of packs) expect(jsonBytes(p)).toBeGreaterThan(0.95 * MAX_PACKED_MESSAGE_BYTES);
    for (const p of packs) expect(jsonBytes(p)).toBeLessThanOrEqual(MAX_PACKED_MESSAGE_BYTES);

    const messages = packs.map((p) => message(p));
    const result = await deliver(QUEUE, messages);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    const counts = await storeOf(apiKeyId).storeCounts();
    expect(counts.events).toBe(EVENT_QUEUE_CONSUMER.maxBatchSize * MAX_BATCH_EVENTS);
  });
});
