/**
 * The shards of event-queue (`event-queue-1` …, the ingest Worker's EVENT_QUEUE_SHARDS) through the
 * real local queues: the test sends to two of them (producers of vitest.config.ts) and this Worker
 * consumes both, as deployed. Whichever queue carries an event, it is stored once in its tenant's
 * store.
 */
import { env } from 'cloudflare:workers';
import type { QueuedEvent } from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { event, rowWhen, storeOf } from './queue.ts';

describe('event-queue shards', () => {
  it('stores every event sent through event-queue and event-queue-1 exactly once, bare or packed, even one sent through both', async () => {
    const apiKeyId = `key_${crypto.randomUUID()}`;
    const events = Array.from({ length: 30 }, () => event({ api_key_id: apiKeyId }));
    const first = events[0] as QueuedEvent;
    await Promise.all([
      env.EVENT_QUEUE.sendBatch(events.slice(0, 10).map((body) => ({ body }))),
      env.EVENT_QUEUE_1.sendBatch(events.slice(10, 20).map((body) => ({ body }))),
      env.EVENT_QUEUE.send({ events: events.slice(20, 25) }),
      env.EVENT_QUEUE_1.send({ events: events.slice(25) }),
      // A copy of an event on the other shard, as a client's retry with the same Idempotency-Key
      // could make: the store keeps one.
      env.EVENT_QUEUE_1.send(first),
    ]);

    for (const e of events) {
      expect(await rowWhen(e, (r) => r.status === 'delivered')).toMatchObject({ attempts: 1 });
    }
    const { events: stored } = await storeOf(apiKeyId).listEvents({ apiKeyId, order: 'asc', limit: 100 });
    expect(stored.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
  });
});
