import type { QueuedEvent } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import { commit, eventStats, recordFailed, recordRetry, storeDelivered } from '../src/index.ts';
import { storeDb } from './backends.ts';

const db = storeDb();
/** "Now" for these tests: 12:34:56 UTC, so the hour window is 11:35–12:35 and the day 13:00–13:00. */
const NOW = new Date('2026-11-29T12:34:56.789Z');
const STORED_AT = new Date('2026-11-29T12:35:00.000Z');

async function seed(apiKeyId: string, outcome: 'delivered' | 'pending' | 'failed', timestamps: string[]) {
  const events: QueuedEvent[] = timestamps.map((timestamp) =>
    queuedEvent({ api_key_id: apiKeyId, timestamp }),
  );
  const write =
    outcome === 'delivered'
      ? storeDelivered(
          db,
          events.map((event) => ({ event, attempts: 1 })),
          STORED_AT,
        )
      : outcome === 'pending'
        ? recordRetry(
            db,
            events.map((event) => ({ event, attempts: 1, error: 'timeout' })),
            STORED_AT,
          )
        : recordFailed(
            db,
            events.map((event) => ({ event, attempts: 4, reason: 'dead' })),
            STORED_AT,
          );
  await commit(db, [write]);
}

describe('eventStats', () => {
  it('counts a key’s events by status in minute buckets for the hour and hour buckets for the day', async () => {
    const key = `key_${crypto.randomUUID()}`;
    await seed(key, 'delivered', [
      '2026-11-29T12:34:10.000Z',
      '2026-11-29T12:34:20.000Z',
      '2026-11-29T11:35:00.000Z', // the first instant of the hour window
      '2026-11-29T11:34:59.999Z', // just before it: in the day only
      '2026-11-28T13:00:00.000Z', // the first instant of the day window
    ]);
    await seed(key, 'failed', ['2026-11-29T12:00:00.000Z', '2026-11-28T12:59:59.999Z' /* outside both */]);
    await seed(key, 'pending', ['2026-11-29T12:34:30.000Z']);

    const stats = await eventStats(db, key, NOW);

    const hour = stats.last_hour;
    expect(hour).toMatchObject({
      from: '2026-11-29T11:35:00.000Z',
      to: '2026-11-29T12:35:00.000Z',
      bucket_seconds: 60,
      received: 5,
      delivered: 3,
      failed: 1,
      pending: 1,
    });
    expect(hour.buckets).toHaveLength(60);
    expect(hour.buckets[0]).toEqual({
      start: '2026-11-29T11:35:00.000Z',
      received: 1,
      delivered: 1,
      failed: 0,
      pending: 0,
    });
    expect(hour.buckets.at(-1)).toEqual({
      start: '2026-11-29T12:34:00.000Z',
      received: 3,
      delivered: 2,
      failed: 0,
      pending: 1,
    });
    expect(hour.buckets.reduce((sum, b) => sum + b.received, 0)).toBe(hour.received);

    const day = stats.last_day;
    expect(day).toMatchObject({
      from: '2026-11-28T13:00:00.000Z',
      to: '2026-11-29T13:00:00.000Z',
      bucket_seconds: 3600,
      received: 7,
      delivered: 5,
      failed: 1,
      pending: 1,
    });
    expect(day.buckets).toHaveLength(24);
    expect(day.buckets[0]).toMatchObject({ start: '2026-11-28T13:00:00.000Z', received: 1 });
    expect(stats.last_delivered_at).toBe(STORED_AT.toISOString());
  });

  it('sees only the given key’s events, and answers zeros and no last delivery for a key without any', async () => {
    const [mine, other] = [`key_${crypto.randomUUID()}`, `key_${crypto.randomUUID()}`];
    await seed(other, 'delivered', ['2026-11-29T12:30:00.000Z']);

    const stats = await eventStats(db, mine, NOW);

    expect(stats.last_hour).toMatchObject({ received: 0, delivered: 0, failed: 0, pending: 0 });
    expect(stats.last_day.received).toBe(0);
    expect(stats.last_hour.buckets.every((b) => b.received === 0)).toBe(true);
    expect(stats.last_delivered_at).toBeNull();
  });
});
