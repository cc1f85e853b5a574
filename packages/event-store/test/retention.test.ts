import { env } from 'cloudflare:workers';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import {
  ackEvent,
  commit,
  DEFAULT_RETENTION,
  getEvent,
  purgeExpired,
  recordFailed,
  recordRetry,
  recordUnreadable,
  storeDelivered,
  storeSize,
} from '../src/index.ts';

const db = env.DB;
const NOW = new Date('2026-12-31T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000 - 1_000);

const event = (apiKeyId: string, receivedDaysAgo: number) =>
  queuedEvent({ api_key_id: apiKeyId, timestamp: daysAgo(receivedDaysAgo).toISOString() });

describe('purgeExpired', () => {
  it('purges delivered and acknowledged events past the short age, failed ones past the long one, never pending ones', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const oldDelivered = event(key, 8);
    const youngDelivered = event(key, 6);
    const oldFailed = event(key, 31);
    const midFailed = event(key, 8);
    const ackedFailed = event(key, 8);
    const oldPending = event(key, 90);
    await commit(db, [
      storeDelivered(
        db,
        [oldDelivered, youngDelivered].map((e) => ({ event: e, attempts: 1 })),
        daysAgo(8),
      ),
      recordFailed(
        db,
        [oldFailed, midFailed, ackedFailed].map((e) => ({ event: e, attempts: 4, reason: 'x' })),
        daysAgo(8),
      ),
      recordRetry(db, [{ event: oldPending, attempts: 1, error: 'D1 down' }], daysAgo(8)),
      recordUnreadable(
        db,
        [
          {
            messageId: `m-${crypto.randomUUID()}`,
            queue: 'event-queue',
            reason: 'r',
            attempts: 4,
            body: '1',
            body_encoding: 'json',
            enqueuedAt: daysAgo(31),
          },
        ],
        daysAgo(31),
      ),
    ]);
    await ackEvent(db, { apiKeyId: key, eventId: ackedFailed.event_id }, daysAgo(7));

    const result = await purgeExpired(db, NOW);
    expect(result).toMatchObject({ complete: true, rounds: 1 });
    expect(result.delivered).toBeGreaterThanOrEqual(2);
    expect(result.failed).toBeGreaterThanOrEqual(1);
    expect(result.dead_letters).toBeGreaterThanOrEqual(1);

    const exists = async (e: { event_id: string }) =>
      (await getEvent(db, { apiKeyId: key, eventId: e.event_id })) !== null;
    expect({
      oldDelivered: await exists(oldDelivered),
      youngDelivered: await exists(youngDelivered),
      oldFailed: await exists(oldFailed),
      midFailed: await exists(midFailed),
      ackedFailed: await exists(ackedFailed),
      oldPending: await exists(oldPending),
    }).toEqual({
      oldDelivered: false,
      youngDelivered: true,
      oldFailed: false,
      midFailed: true,
      ackedFailed: false,
      oldPending: true,
    });
  });

  it('works in bounded rounds and says when a run left more for the next one', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const events = Array.from({ length: 25 }, () => ({ event: event(key, 400), attempts: 1 }));
    await commit(db, [storeDelivered(db, events, daysAgo(400))]);
    const policy = { ...DEFAULT_RETENTION, rowsPerStatement: 10, maxRounds: 2 };
    const first = await purgeExpired(db, NOW, policy);
    expect(first).toMatchObject({ rounds: 2, complete: false });
    expect(first.delivered).toBe(20);
    const second = await purgeExpired(db, NOW, policy);
    expect(second).toMatchObject({ complete: true, delivered: 5 });
  });

  it('reports the store size D1 gives', async () => {
    const size = await storeSize(db);
    expect(size).toBeGreaterThan(0);
    expect((await purgeExpired(db, NOW)).size_bytes).toBeGreaterThan(0);
  });
});
