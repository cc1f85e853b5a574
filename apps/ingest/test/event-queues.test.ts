/**
 * The shards of `event-queue` (EVENT_QUEUE_SHARDS, src/lib/event-queues.ts), against the real local
 * queues: what crossed them is read back from the queue-spy consumer, which reads every shard (see
 * vitest.config.ts). The stores' side (every event stored once, whichever queue carried it) is the
 * consumer's test (apps/consumer/test/event-queue-shards.test.ts) and the system tier's.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { EVENT_QUEUES, EventAccepted, PackedEvents, QueuedEvent } from '@triggers/event-schema';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../src/index.ts';
import { EventQueuesError, eventQueueFor, eventQueues, shardOf } from '../src/lib/event-queues.ts';
import { expectError, newApiKey, post, postEvent, receivedFromQueue } from './support/ingest.ts';
import { receivedInOrder, store } from './support/store.ts';

const configured = env.EVENT_QUEUE_SHARDS;
/**
 * The runtime's `env` is the one the Worker's handlers get: setting the var here turns the shards
 * on for the requests of the test, as redeploying with it would (restored after each test).
 */
const useShards = (shards: unknown) => {
  // Reflect: the generated type of the var is wrangler.toml's literal 1.
  Reflect.set(env, 'EVENT_QUEUE_SHARDS', shards);
};
afterEach(() => {
  useShards(configured);
  vi.restoreAllMocks();
});

/** The events of one `sendBatch()` call's messages, in order (a message is one event or a pack). */
const eventsIn = (messages: Iterable<MessageSendRequest<unknown>>): QueuedEvent[] =>
  [...messages].flatMap(({ body }) =>
    v.is(PackedEvents, body) ? body.events : [v.parse(QueuedEvent, body)],
  );

/** The queue each of `eventIds` came through, each seen exactly once. */
async function queuesOf(eventIds: readonly string[]): Promise<string[]> {
  const seen = await Promise.all(eventIds.map((id) => receivedFromQueue(id)));
  expect(seen.map((s) => s.copies)).toEqual(eventIds.map(() => 1));
  return seen.map((s) => s.queue);
}

describe('EVENT_QUEUE_SHARDS', () => {
  it('is 1 as deployed: every event goes to event-queue', async () => {
    expect(configured).toBe(1);
    const key = await newApiKey();
    const ids = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const response = await postEvent(key.key, { payload: { i } });
        return v.parse(EventAccepted, await response.json()).data.event_id;
      }),
    );
    expect(new Set(await queuesOf(ids))).toEqual(new Set(['event-queue']));
  });

  it('at 2, spreads single events over event-queue and event-queue-1 by event_id, each sent once', async () => {
    useShards(2);
    const key = await newApiKey();
    const ids = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const response = await postEvent(key.key, { payload: { i } });
        expect(response.status).toBe(200);
        return v.parse(EventAccepted, await response.json()).data.event_id;
      }),
    );
    const queues = await queuesOf(ids);
    expect(queues).toEqual(ids.map((id) => EVENT_QUEUES[shardOf(id, 2)]));
    expect(new Set(queues)).toEqual(new Set(['event-queue', 'event-queue-1']));
  });

  it('at 2, sends each sendBatch call of a replay to the shard of its first event, every event once', async () => {
    useShards(2);
    const key = await newApiKey();
    // Events of 30 KB: a few to a message, a few messages to a call, so the replay takes several calls.
    const events = await store(
      'failed',
      receivedInOrder(key.id, 40, { payload: { text: 'x'.repeat(30_000) } }),
    );
    const calls = [vi.spyOn(env.EVENT_QUEUE, 'sendBatch'), vi.spyOn(env.EVENT_QUEUE_1, 'sendBatch')]; // watch only
    const response = await post('/dlq/replay', key, { limit: 1000 });
    expect(response.status).toBe(200);

    calls.forEach((sendBatch, shard) => {
      for (const [messages] of sendBatch.mock.calls) {
        const [first] = eventsIn(messages);
        expect(shardOf(String(first?.event_id), 2)).toBe(shard);
      }
    });
    expect(calls.map((sendBatch) => sendBatch.mock.calls.length).reduce((a, b) => a + b)).toBeGreaterThan(1);
    await queuesOf(events.map((e) => e.event_id));
  });

  it('spreads ids evenly: 10,000 random event ids over 4 shards, each within 10 % of a quarter', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) {
      const shard = shardOf(crypto.randomUUID(), 4);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    // 250 is nearly 6 standard deviations of a fair split (43): a miss means a skewed hash.
    for (const count of counts) expect(Math.abs(count - 2_500)).toBeLessThan(250);
  });

  it('picks the same shard for the same event_id every time', () => {
    useShards(4);
    const id = crypto.randomUUID();
    const first = eventQueueFor(env, id);
    for (let i = 0; i < 5; i++) expect(eventQueueFor(env, id)).toBe(first);
  });
});

describe('a configuration error, found as the Worker loads', () => {
  it.each([0, 5, 1.5, 'two', ''])('refuses EVENT_QUEUE_SHARDS = %j, naming the var', (shards) => {
    expect(() => eventQueues({ ...env, EVENT_QUEUE_SHARDS: shards })).toThrow(
      new EventQueuesError(
        `EVENT_QUEUE_SHARDS must be a whole number from 1 to ${EVENT_QUEUES.length} (got ${JSON.stringify(shards)})`,
      ),
    );
  });

  it('refuses a shard count whose queue binding is missing, naming the binding and its queue', () => {
    const broken = { ...env, EVENT_QUEUE_2: undefined, EVENT_QUEUE_SHARDS: '3' };
    expect(() => eventQueues(broken)).toThrow(
      'EVENT_QUEUE_SHARDS = 3 needs the queue producer binding EVENT_QUEUE_2 (queue event-queue-2)',
    );
    expect(eventQueues({ ...broken, EVENT_QUEUE_SHARDS: 2 })).toHaveLength(2);
  });

  it('answers GET /health 503 with the Worker up, should the bindings be wrong all the same', async () => {
    const response = await worker.fetch(
      new Request('https://ingest.test/health'),
      { ...env, EVENT_QUEUE_SHARDS: 9 },
      createExecutionContext(),
    );
    const { error } = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(error.message).toBe('The event queue bindings (EVENT_QUEUE_SHARDS) are not configured.');
  });
});
