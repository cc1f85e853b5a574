import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  jsonBytes,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_PACKED_MESSAGE_BYTES,
  MAX_QUEUED_EVENT_BYTES,
  PackedEnvelope,
  PackedEvents,
  packEvents,
  QUEUE_MESSAGE_LIMIT_BYTES,
  QUEUE_PLATFORM_OVERHEAD_BYTES,
  type QueuedEvent,
  QueuedEvent as QueuedEventSchema,
  SEND_BATCH_LIMIT_BYTES,
  SEND_BATCH_MAX_MESSAGES,
  type SizedEvent,
  sendBatchChunks,
} from '../src/index.ts';

const base: QueuedEvent = {
  event_id: '3b241101-e2bb-4255-8caf-4136c566a962',
  payload: {},
  timestamp: '2026-11-29T12:00:00.000Z',
  correlation_id: 'req-1',
  api_key_id: 'key_1',
};

/** An event numbered `n` that serializes to exactly `bytes` bytes. */
function eventOf(n: number, bytes: number): SizedEvent {
  const empty = { ...base, payload: { n, s: '' } };
  const event = { ...empty, payload: { n, s: 'x'.repeat(bytes - jsonBytes(empty)) } };
  expect(jsonBytes(event)).toBe(bytes);
  return { event, bytes };
}

const events = (count: number, bytes: number) => Array.from({ length: count }, (_, n) => eventOf(n, bytes));

/** What a message's body carries, as events. */
const carried = (body: unknown): QueuedEvent[] =>
  v.is(PackedEvents, body) ? body.events : [v.parse(QueuedEventSchema, body)];

/** The `{"events":[` and `]}` around a pack's events. */
const PACK_OVERHEAD = jsonBytes({ events: [] });

describe('packEvents', () => {
  it('packs 100 events of 1 KB into one message whose body is every event, in order', () => {
    const sized = events(100, 1_000);
    const messages = packEvents(sized);
    expect(messages).toHaveLength(1);
    expect(carried(messages[0]?.body)).toEqual(sized.map(({ event }) => event));
  });

  it('states each message’s size as the queue counts it: the UTF-8 bytes of its JSON body', () => {
    const sized = [...events(60, 3_000), eventOf(60, 120_000), ...events(3, 900)].map((item, n) => ({
      ...item,
      event: { ...item.event, metadata: { note: 'é€😀'.repeat(n) } },
      bytes: jsonBytes({ ...item.event, metadata: { note: 'é€😀'.repeat(n) } }),
    }));
    const messages = packEvents(sized);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(message.bytes).toBe(jsonBytes(message.body));
    expect(messages.flatMap((message) => carried(message.body))).toEqual(sized.map(({ event }) => event));
  });

  it(`fills a pack to exactly ${MAX_PACKED_MESSAGE_BYTES} bytes and starts another for one byte more`, () => {
    // Two events fill a pack: the brackets, one comma, and the rest split between them.
    const room = MAX_PACKED_MESSAGE_BYTES - PACK_OVERHEAD - 1;
    const full = packEvents([eventOf(0, 60_000), eventOf(1, room - 60_000)]);
    expect(full.map((message) => [message.events.length, message.bytes])).toEqual([
      [2, MAX_PACKED_MESSAGE_BYTES],
    ]);
    const over = packEvents([eventOf(0, 60_000), eventOf(1, room - 60_000 + 1)]);
    expect(over.map((message) => message.events.length)).toEqual([1, 1]);
  });

  it(`keeps every message under the queue's ${QUEUE_MESSAGE_LIMIT_BYTES} bytes with the platform's metadata, a lone event of the largest size included`, () => {
    const sized = [eventOf(0, 50_000), eventOf(1, MAX_QUEUED_EVENT_BYTES), ...events(30, 4_000)];
    const messages = packEvents(sized);
    for (const message of messages) {
      expect(message.bytes + QUEUE_PLATFORM_OVERHEAD_BYTES).toBeLessThanOrEqual(QUEUE_MESSAGE_LIMIT_BYTES);
      if (message.events.length > 1) expect(message.bytes).toBeLessThanOrEqual(MAX_PACKED_MESSAGE_BYTES);
    }
    // The largest event shares with no one, and travels bare, as POST /events sends it.
    const lone = messages.find((message) => message.events.includes(sized[1] as SizedEvent));
    expect(lone?.body).toBe(sized[1]?.event);
    expect(lone?.bytes).toBe(MAX_QUEUED_EVENT_BYTES);
  });

  it('sends a lone event bare, not as a pack of one', () => {
    const [only] = events(1, 500);
    const messages = packEvents([only as SizedEvent]);
    expect(messages).toEqual([{ body: only?.event, bytes: 500, events: [only] }]);
    expect(v.is(PackedEvents, messages[0]?.body)).toBe(false);
  });

  it(`packs at most ${MAX_BATCH_EVENTS} events per message, however small`, () => {
    const messages = packEvents(events(2 * MAX_BATCH_EVENTS + 1, 200));
    expect(messages.map((message) => message.events.length)).toEqual([MAX_BATCH_EVENTS, MAX_BATCH_EVENTS, 1]);
  });

  it('returns no message for no events', () => {
    expect(packEvents([])).toEqual([]);
  });
});

describe('packed messages through sendBatch()', () => {
  it(`carry the largest batch (${MAX_BATCH_EVENTS} events of 10.3 KB queued, from a ${MAX_BATCH_BYTES}-byte body) as 9 messages in 5 calls, each within ${SEND_BATCH_MAX_MESSAGES} messages and ${SEND_BATCH_LIMIT_BYTES} bytes`, () => {
    // 12 events of 10,300 bytes fill 123,624 bytes of a pack; a 13th would pass it.
    const messages = packEvents(events(MAX_BATCH_EVENTS, 10_300));
    const calls = sendBatchChunks(messages, (message) => message.bytes);
    expect(messages.map((message) => message.events.length)).toEqual([12, 12, 12, 12, 12, 12, 12, 12, 4]);
    expect(calls.map((call) => call.length)).toEqual([2, 2, 2, 2, 1]);
    for (const call of calls) {
      expect(call.length).toBeLessThanOrEqual(SEND_BATCH_MAX_MESSAGES);
      const bytes = call.reduce((sum, message) => sum + message.bytes + QUEUE_PLATFORM_OVERHEAD_BYTES, 0);
      expect(bytes).toBeLessThanOrEqual(SEND_BATCH_LIMIT_BYTES);
    }
  });

  it('fit two full packs into one call', () => {
    expect(2 * (MAX_PACKED_MESSAGE_BYTES + QUEUE_PLATFORM_OVERHEAD_BYTES)).toBeLessThanOrEqual(
      SEND_BATCH_LIMIT_BYTES,
    );
    const room = MAX_PACKED_MESSAGE_BYTES - PACK_OVERHEAD - 1;
    const full = [eventOf(0, 60_000), eventOf(1, room - 60_000)];
    const messages = packEvents([...full, ...full]);
    expect(messages.map((message) => message.bytes)).toEqual([
      MAX_PACKED_MESSAGE_BYTES,
      MAX_PACKED_MESSAGE_BYTES,
    ]);
    expect(sendBatchChunks(messages, (message) => message.bytes)).toHaveLength(1);
  });
});

describe('PackedEvents', () => {
  it('accepts events, each a QueuedEvent, dropping unknown fields as QueuedEvent does', () => {
    const body = { events: [{ ...base, added_later: 1 }, base], added_later: true };
    expect(v.parse(PackedEvents, body)).toEqual({ events: [base, base] });
  });

  it.each([
    ['no events', { events: [] }],
    [
      `more than ${MAX_BATCH_EVENTS} events`,
      { events: Array.from({ length: MAX_BATCH_EVENTS + 1 }, () => base) },
    ],
    ['an invalid event', { events: [base, { ...base, event_id: 'abc' }] }],
    ['a bare event', base],
  ])('rejects %s', (_case, body) => {
    expect(v.is(PackedEvents, body)).toBe(false);
  });

  it('is never mistaken for a QueuedEvent, nor a QueuedEvent for a pack', () => {
    expect(v.is(QueuedEventSchema, { events: [base] })).toBe(false);
    expect(v.is(PackedEnvelope, base)).toBe(false);
  });

  it('has an envelope that leaves the events to be checked one by one', () => {
    expect(v.parse(PackedEnvelope, { events: [base, 'not an event'] })).toEqual({
      events: [base, 'not an event'],
    });
  });
});
