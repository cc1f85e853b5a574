import { queuedEvent } from '@triggers/test-support/queued-event';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ackEvent,
  commit,
  createSubscription,
  DEFAULT_RETENTION,
  fanOut,
  getEvent,
  getSubscription,
  listDeliveries,
  purgeExpired,
  queriesPerRun,
  recordAttempt,
  recordFailed,
  recordRetry,
  replayEvent,
  rotateSubscriptionSecret,
  type StoredEvent,
  type StoreWrite,
  storeDelivered,
  storedDays,
  storeSize,
} from '../src/index.ts';
import { storeDb } from './backends.ts';

// A fresh tenant object per test: a run's rounds count the expired days the store holds.
let db = storeDb();
beforeEach(() => {
  db = storeDb();
});
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
    ]);
    await ackEvent(db, { apiKeyId: key, eventId: ackedFailed.event_id }, daysAgo(7));

    const result = await purgeExpired(db, NOW);
    expect(result).toMatchObject({ complete: true });
    expect(result.delivered).toBeGreaterThanOrEqual(2);
    expect(result.failed).toBeGreaterThanOrEqual(1);

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

  it('keeps an old event replayed and stored again lately, until it has been left alone as long', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const replayed = event(key, 40);
    await commit(db, [recordFailed(db, [{ event: replayed, attempts: 4, reason: 'x' }], daysAgo(39))]);
    // The replay a day ago: queued again (pending), then stored (its webhooks may still be going out).
    await replayEvent(db, { apiKeyId: key, eventId: replayed.event_id }, daysAgo(1));
    await commit(db, [storeDelivered(db, [{ event: replayed, attempts: 1 }], daysAgo(1))]);
    const stored = await getEvent(db, { apiKeyId: key, eventId: replayed.event_id });
    expect(stored?.status).toBe('delivered');

    await purgeExpired(db, NOW);
    expect(await getEvent(db, { apiKeyId: key, eventId: replayed.event_id })).not.toBeNull();
    await purgeExpired(db, new Date(NOW.getTime() + 7 * 86_400_000));
    expect(await getEvent(db, { apiKeyId: key, eventId: replayed.event_id })).toBeNull();
  });

  it('drops a whole expired day in one round whatever its rows, and says when a run left more days for the next one', async () => {
    const key = `key_${crypto.randomUUID()}`;
    for (const ago of [400, 300, 200]) {
      const events = Array.from({ length: 25 }, () => ({ event: event(key, ago), attempts: 1 }));
      await commit(db, [storeDelivered(db, events, daysAgo(ago))]);
    }
    // 25 rows a day, 10 rows a statement: a day goes whole all the same.
    const policy = { ...DEFAULT_RETENTION, rowsPerStatement: 10, maxRounds: 2 };
    const first = await purgeExpired(db, NOW, policy);
    expect(first).toMatchObject({ rounds: 2, complete: false, delivered: 50, kept: 0 });
    const second = await purgeExpired(db, NOW, policy);
    expect(second).toMatchObject({ complete: true, delivered: 25 });
    // Every day table went, the empty neighbours the writes made too.
    expect(await storedDays(db)).toEqual([]);
  });

  it('reports the store size D1 gives', async () => {
    const size = await storeSize(db);
    expect(size).toBeGreaterThan(0);
    expect((await purgeExpired(db, NOW)).size_bytes).toBeGreaterThan(0);
  });
});

describe('purgeExpired and the webhook tables', () => {
  /** A subscription of `key` to every event. */
  const subscribe = async (key: string) => {
    const row = await createSubscription(
      db,
      {
        apiKeyId: key,
        id: `sub_${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`,
        url: 'https://hooks.example.com/',
        eventTypes: null,
        secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
      },
      daysAgo(400),
      100,
    );
    if (row === null) throw new Error('at the subscription limit');
    return row;
  };

  /**
   * Writes `write`, then the fan-out of `events` (their deliveries created `at`), then one attempt
   * of each delivery per entry of `attempts`, the last ending it (`succeeded`) unless `pending`
   * says it is to stay pending; answers the delivery ids.
   */
  async function storeWithDeliveries(
    write: StoreWrite,
    events: { api_key_id: string; event_id: string }[],
    at: Date,
    attempts: Date[],
    { pending = false } = {},
  ): Promise<string[]> {
    await commit(db, [write]);
    const messages = (
      await Promise.all(
        [...new Set(events.map((e) => e.api_key_id))].map((key) =>
          fanOut(
            db,
            key,
            events.filter((e) => e.api_key_id === key).map((e) => e.event_id),
            at,
          ),
        ),
      )
    ).flat();
    for (const m of messages) {
      for (const [i, when] of attempts.entries()) {
        const last = i === attempts.length - 1 && !pending;
        await recordAttempt(
          db,
          {
            apiKeyId: m.api_key_id,
            deliveryId: m.delivery_id,
            subscriptionId: null,
            round: 1,
            attempt: i + 1,
            attemptedAt: when,
            httpStatus: last ? 200 : 500,
            error: null,
            latencyMs: 5,
            responseExcerpt: null,
            status: last ? 'succeeded' : 'pending',
            nextAttemptAt: last ? null : when,
            disableAfter: 5,
          },
          when,
        );
      }
    }
    return messages.map((m) => m.delivery_id);
  }

  const attemptsOf = async (key: string) =>
    (await db
      .prepare('SELECT count(*) AS n FROM delivery_attempts WHERE api_key_id = ?1')
      .bind(key)
      .first<number>('n')) ?? 0;

  it('purges deliveries and their attempts once their event is gone, and keeps those of a kept event', async () => {
    const key = `key_${crypto.randomUUID()}`;
    await subscribe(key);
    const gone = event(key, 8);
    const kept = event(key, 8); // its delivery still pending: kept, and so is the delivery
    const replayed = event(key, 8); // stored a day ago (a replay): kept a week from then, with its delivery
    await storeWithDeliveries(
      storeDelivered(db, [{ event: gone, attempts: 1 }], daysAgo(8)),
      [gone],
      daysAgo(8),
      [daysAgo(8), daysAgo(7.9)],
    );
    await storeWithDeliveries(
      storeDelivered(db, [{ event: kept, attempts: 1 }], daysAgo(8)),
      [kept],
      daysAgo(8),
      [daysAgo(8)],
      { pending: true },
    );
    await storeWithDeliveries(
      storeDelivered(db, [{ event: replayed, attempts: 1 }], daysAgo(1)),
      [replayed],
      daysAgo(1),
      [daysAgo(1)],
    );
    expect(await attemptsOf(key)).toBe(4);

    const result = await purgeExpired(db, NOW);
    expect(result.complete).toBe(true);
    expect(result.deliveries).toBeGreaterThanOrEqual(1);
    expect(result.delivery_attempts).toBeGreaterThanOrEqual(2);
    const deliveriesOf = async (e: { event_id: string }) =>
      (await listDeliveries(db, { apiKeyId: key, eventId: e.event_id })).length;
    expect({
      gone: await deliveriesOf(gone),
      kept: await deliveriesOf(kept),
      replayed: await deliveriesOf(replayed),
    }).toEqual({ gone: 0, kept: 1, replayed: 1 });
    expect(await attemptsOf(key)).toBe(2);
    expect(await getEvent(db, { apiKeyId: key, eventId: replayed.event_id })).not.toBeNull();

    // A week later the replayed event is old by its last change too, and goes with its delivery.
    const weekLater = await purgeExpired(db, new Date(NOW.getTime() + 7 * 86_400_000));
    expect(weekLater.complete).toBe(true);
    expect(await deliveriesOf(replayed)).toBe(0);
    expect(await deliveriesOf(kept)).toBe(1);
    expect(await attemptsOf(key)).toBe(1);
  });

  it('purges deliveries and attempts in bounded rounds too, in the round their event goes or later', async () => {
    const key = `key_${crypto.randomUUID()}`;
    await subscribe(key);
    const events = Array.from({ length: 25 }, () => event(key, 500));
    await storeWithDeliveries(
      storeDelivered(
        db,
        events.map((e) => ({ event: e, attempts: 1 })),
        daysAgo(500),
      ),
      events,
      daysAgo(500),
      [daysAgo(500)],
    );
    const policy = { ...DEFAULT_RETENTION, rowsPerStatement: 10, maxRounds: 2 };
    const first = await purgeExpired(db, NOW, policy);
    // The day goes whole in the first round; its deliveries, 10 a round, in that round and after.
    expect(first).toMatchObject({
      rounds: 2,
      complete: false,
      delivered: 25,
      deliveries: 20,
      delivery_attempts: 20,
    });
    const second = await purgeExpired(db, NOW, policy);
    expect(second).toMatchObject({ complete: true, delivered: 0, deliveries: 5, delivery_attempts: 5 });
    expect(await attemptsOf(key)).toBe(0);
  });

  it('never purges an event while one of its deliveries is pending, archived or not, and purges it once the delivery ends', async () => {
    for (const archiving of [false, true]) {
      const key = `key_${crypto.randomUUID()}`;
      await subscribe(key);
      const retrying = event(key, 40);
      const done = event(key, 40);
      const [deliveryId] = await storeWithDeliveries(
        storeDelivered(db, [{ event: retrying, attempts: 1 }], daysAgo(40)),
        [retrying],
        daysAgo(40),
        [daysAgo(40)],
        { pending: true },
      );
      await storeWithDeliveries(
        storeDelivered(db, [{ event: done, attempts: 1 }], daysAgo(40)),
        [done],
        daysAgo(40),
        [daysAgo(40)],
      );
      const archived: string[] = [];
      const archive = archiving
        ? async (events: StoredEvent[]) => {
            archived.push(...events.map((e) => e.event_id));
            return events;
          }
        : undefined;
      await purgeExpired(db, NOW, DEFAULT_RETENTION, archive);
      expect(
        await getEvent(db, { apiKeyId: key, eventId: retrying.event_id }),
        `archiving: ${archiving}`,
      ).not.toBeNull();
      expect(await getEvent(db, { apiKeyId: key, eventId: done.event_id })).toBeNull();
      if (archiving) expect(archived).toEqual([done.event_id]);

      // Its last attempt ends it: the next run purges it.
      await recordAttempt(
        db,
        {
          apiKeyId: key,
          deliveryId: deliveryId ?? '',
          subscriptionId: null,
          round: 1,
          attempt: 2,
          attemptedAt: daysAgo(39),
          httpStatus: 500,
          error: null,
          latencyMs: 5,
          responseExcerpt: null,
          status: 'failed',
          nextAttemptAt: null,
          disableAfter: 5,
        },
        daysAgo(39),
      );
      await purgeExpired(db, NOW, DEFAULT_RETENTION, archive);
      expect(await getEvent(db, { apiKeyId: key, eventId: retrying.event_id })).toBeNull();
    }
  });

  it('keeps subscriptions, and wipes each rotated-out signing secret once its own overlap has ended', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const ended = await subscribe(key);
    const overlapping = await subscribe(key);
    const rotate = (id: string, secret: string, at: Date, overlapSeconds: number) =>
      rotateSubscriptionSecret(db, { apiKeyId: key, id }, { secret, overlapSeconds, maxSecrets: 10 }, at);
    await rotate(ended.id, 'whsec_bmV3bmV3bmV3', daysAgo(2), 60);
    // Rotated twice: the first replaced secret ends before the run, the second after it.
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
    await rotate(overlapping.id, 'whsec_c2Vjb25k', hoursAgo(2), 5_400);
    await rotate(overlapping.id, 'whsec_dGhpcmQ=', hoursAgo(1), 7_200);

    const result = await purgeExpired(db, NOW);
    expect(result.expired_secrets).toBeGreaterThanOrEqual(2);
    expect(await getSubscription(db, { apiKeyId: key, id: ended.id })).toMatchObject({
      secret: 'whsec_bmV3bmV3bmV3',
      previous_secrets: null,
    });
    const kept = await getSubscription(db, { apiKeyId: key, id: overlapping.id });
    expect(JSON.parse(kept?.previous_secrets ?? '[]')).toEqual([
      { secret: 'whsec_c2Vjb25k', expires_at: new Date(NOW.getTime() + 3_600_000).toISOString() },
    ]);
  });

  it('stays within the Free plan’s 50 queries per invocation with the default policy', () => {
    expect(queriesPerRun(DEFAULT_RETENTION)).toBeLessThanOrEqual(50);
  });
});

describe('purgeExpired with an archive', () => {
  const mine = (key: string, events: StoredEvent[]) => events.filter((e) => e.api_key_id === key);

  it('hands the expired events to the archive while they are still stored, then deletes what it archived', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const oldDelivered = [event(key, 9), event(key, 8)];
    const oldFailed = event(key, 31);
    const youngFailed = event(key, 8);
    const young = event(key, 6);
    const oldPending = event(key, 90);
    await commit(db, [
      storeDelivered(
        db,
        [...oldDelivered, young].map((e) => ({ event: e, attempts: 1 })),
        daysAgo(9),
      ),
      recordFailed(
        db,
        [oldFailed, youngFailed].map((e) => ({ event: e, attempts: 4, reason: 'x' })),
        daysAgo(9),
      ),
      recordRetry(db, [{ event: oldPending, attempts: 1, error: 'D1 down' }], daysAgo(9)),
    ]);

    const handed: StoredEvent[] = [];
    let allStoredWhenHanded = true;
    const result = await purgeExpired(db, NOW, DEFAULT_RETENTION, async (events) => {
      for (const e of mine(key, events)) {
        handed.push(e);
        allStoredWhenHanded &&= (await getEvent(db, { apiKeyId: key, eventId: e.event_id })) !== null;
      }
      return events;
    });
    expect(result.complete).toBe(true);
    const expired = [oldFailed, ...oldDelivered];
    expect(handed.map((e) => e.event_id)).toEqual(expired.map((e) => e.event_id)); // oldest first
    expect(handed[0]).toMatchObject({ status: 'failed', payload: oldFailed.payload, api_key_id: key });
    expect(allStoredWhenHanded).toBe(true);
    expect(result.delivered).toBeGreaterThanOrEqual(2);
    expect(result.failed).toBeGreaterThanOrEqual(1);
    const exists = async (e: { event_id: string }) =>
      (await getEvent(db, { apiKeyId: key, eventId: e.event_id })) !== null;
    for (const e of expired) expect(await exists(e)).toBe(false);
    for (const e of [youngFailed, young, oldPending]) expect(await exists(e)).toBe(true);
  });

  it('deletes nothing when the archive fails, and only what it archived when it takes part', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const events = [event(key, 300), event(key, 299), event(key, 298)];
    await commit(db, [
      storeDelivered(
        db,
        events.map((e) => ({ event: e, attempts: 1 })),
        daysAgo(300),
      ),
    ]);
    const exists = async (e: { event_id: string }) =>
      (await getEvent(db, { apiKeyId: key, eventId: e.event_id })) !== null;

    await expect(
      purgeExpired(db, NOW, DEFAULT_RETENTION, () => Promise.reject(new Error('R2 down'))),
    ).rejects.toThrow('R2 down');
    for (const e of events) expect(await exists(e)).toBe(true);

    // An archive that takes one event per round: two rounds, two events, the third left.
    const policy = { ...DEFAULT_RETENTION, maxRounds: 2 };
    const partial = await purgeExpired(db, NOW, policy, async (read) => read.slice(0, 1));
    expect(partial).toMatchObject({ rounds: 2, complete: false, delivered: 2 });
    expect(await Promise.all(events.map(exists))).toEqual([false, false, true]);
    expect(await purgeExpired(db, NOW, policy, async (read) => read)).toMatchObject({ complete: true });
  });

  it('reads a round only up to archiveBytesPerRound of payload, the first event always', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const big = (n: number) =>
      queuedEvent({
        api_key_id: key,
        // One day, a second apart: the day is read in rounds before it goes.
        timestamp: new Date(daysAgo(200).getTime() - n * 1000).toISOString(),
        payload: { blob: 'x'.repeat(10_000), n },
        metadata: undefined,
      });
    const events = [0, 1, 2, 3, 4].map(big);
    await commit(db, [
      storeDelivered(
        db,
        events.map((e) => ({ event: e, attempts: 1 })),
        daysAgo(200),
      ),
    ]);
    const rounds: number[] = [];
    const policy = { ...DEFAULT_RETENTION, archiveBytesPerRound: 15_000 };
    const result = await purgeExpired(db, NOW, policy, async (read) => {
      rounds.push(mine(key, read).length);
      return read;
    });
    expect(rounds).toEqual([2, 2, 1]);
    expect(result).toMatchObject({ complete: true, rounds: 3, delivered: 5 });
  });

  it('keeps an event of kept_events acknowledged while the archive writes it', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const failed = event(key, 40);
    await commit(db, [recordFailed(db, [{ event: failed, attempts: 4, reason: 'x' }], daysAgo(40))]);
    // Twenty days ago its day went, the failed event kept (not 30 days old yet).
    await purgeExpired(db, daysAgo(20));
    const eventKey = { apiKeyId: key, eventId: failed.event_id };
    expect(await storedDays(db)).toEqual([]);

    const handed: StoredEvent[] = [];
    await purgeExpired(db, NOW, DEFAULT_RETENTION, async (read) => {
      const ours = mine(key, read);
      if (handed.length === 0 && ours.length > 0) await ackEvent(db, eventKey, NOW);
      handed.push(...ours);
      return read;
    });
    expect(handed.map((e) => e.event_id)).toEqual([failed.event_id]);
    expect((await getEvent(db, eventKey))?.acked_at).toBe(NOW.toISOString());
  });

  describe('late writes to a day it is archiving', () => {
    // One day 204 days old, its events a second apart; rounds of 2 rows, so a run of one round
    // leaves the day half archived, its progress mark on the second event.
    const DAY_START = Date.parse('2026-06-10T12:00:00.000Z');
    const DAY = '20260610';
    const at = (key: string, second: number) =>
      queuedEvent({ api_key_id: key, timestamp: new Date(DAY_START + second * 1000).toISOString() });
    const small = { ...DEFAULT_RETENTION, rowsPerStatement: 2 };
    const stored = async (e: { event_id: string }, key: string) =>
      getEvent(db, { apiKeyId: key, eventId: e.event_id });

    /** Events of `key` stored as delivered on the day, at these seconds. */
    async function storedAt(key: string, seconds: number[]) {
      const events = seconds.map((s) => at(key, s));
      await commit(db, [
        storeDelivered(
          db,
          events.map((e) => ({ event: e, attempts: 1 })),
          daysAgo(204),
        ),
      ]);
      return events;
    }

    async function halfArchived(key: string, handed: StoredEvent[]) {
      const events = await storedAt(key, [0, 2, 4, 6]);
      const first = await purgeExpired(db, NOW, { ...small, maxRounds: 1 }, async (read) => {
        handed.push(...mine(key, read));
        return read;
      });
      expect(first.complete).toBe(false);
      expect(handed).toHaveLength(2);
      return events;
    }
    const finish = (key: string, handed: StoredEvent[]) =>
      purgeExpired(db, NOW, small, async (read) => {
        handed.push(...mine(key, read));
        return read;
      });

    it('hands an expired event written behind the progress mark to the archive before the day is dropped', async () => {
      const key = `key_${crypto.randomUUID()}`;
      const handed: StoredEvent[] = [];
      const events = await halfArchived(key, handed);
      // A dead-lettered copy recorded late as failed, between the two events already archived.
      const late = at(key, 1);
      await commit(db, [recordFailed(db, [{ event: late, attempts: 4, reason: 'late' }], NOW)]);

      expect(await finish(key, handed)).toMatchObject({ complete: true });
      expect(await storedDays(db)).not.toContain(DAY);
      expect(await stored(late, key)).toBeNull();
      const ids = handed.map((e) => e.event_id);
      expect(ids.sort()).toEqual([...events, late].map((e) => e.event_id).sort()); // each once
      expect(handed.find((e) => e.event_id === late.event_id)).toMatchObject({ status: 'failed' });
      // The day's records of late rows went with it.
      expect(await db.prepare('SELECT count(*) AS n FROM retention_late').first('n')).toBe(0);
    });

    it('keeps an event written behind the progress mark that retention keeps, and drops the day', async () => {
      const key = `key_${crypto.randomUUID()}`;
      const handed: StoredEvent[] = [];
      await halfArchived(key, handed);
      const late = at(key, 1);
      await commit(db, [recordRetry(db, [{ event: late, attempts: 1, error: 'late' }], NOW)]);

      expect(await finish(key, handed)).toMatchObject({ complete: true, kept: 1 });
      expect(await storedDays(db)).not.toContain(DAY);
      expect((await stored(late, key))?.status).toBe('pending');
      expect(handed.map((e) => e.event_id)).not.toContain(late.event_id);
    });

    it('hands an archived event again when it changed after its archive, as it left the store', async () => {
      const key = `key_${crypto.randomUUID()}`;
      const handed: StoredEvent[] = [];
      const failed = at(key, -1);
      await commit(db, [recordFailed(db, [{ event: failed, attempts: 4, reason: 'first' }], daysAgo(204))]);
      await halfArchived(key, []);
      // The failed event was archived in the first round; replayed, it failed again.
      await replayEvent(db, { apiKeyId: key, eventId: failed.event_id }, NOW);
      await commit(db, [recordFailed(db, [{ event: failed, attempts: 5, reason: 'again' }], NOW)]);

      expect(await finish(key, handed)).toMatchObject({ complete: true });
      expect(await storedDays(db)).not.toContain(DAY);
      expect(await stored(failed, key)).toBeNull();
      expect(handed.filter((e) => e.event_id === failed.event_id)).toMatchObject([
        { status: 'failed', last_error: 'again' },
      ]);
    });

    it('hands an event written while the archive writes the last round before the day is dropped', async () => {
      const key = `key_${crypto.randomUUID()}`;
      const events = await storedAt(key, [0, 2]);
      // Written while the archive writes the round that reads the day to its end: one behind
      // the last event read, one after it.
      const late = [at(key, 1), at(key, 9)];
      const handed: StoredEvent[] = [];
      const result = await purgeExpired(db, NOW, DEFAULT_RETENTION, async (read) => {
        if (handed.length === 0) {
          const dead = late.map((e) => ({ event: e, attempts: 4, reason: 'late' }));
          await commit(db, [recordFailed(db, dead, NOW)]);
        }
        handed.push(...mine(key, read));
        return read;
      });

      expect(result.complete).toBe(true);
      expect(await storedDays(db)).not.toContain(DAY);
      expect(handed.map((e) => e.event_id).sort()).toEqual(
        [...events, ...late].map((e) => e.event_id).sort(),
      );
    });

    it('hands the archive an event written past the last row read while a round of late rows is archived', async () => {
      const key = `key_${crypto.randomUUID()}`;
      // Exactly a round's rows: the read that reaches the day's last row cannot tell it is the last.
      const events = await storedAt(key, [0, 2]);
      const behind = at(key, 1); // written behind what was read: recorded as late
      const past = at(key, 9); // written past the last row read, during the round of late rows
      const handed: StoredEvent[] = [];
      let calls = 0;
      const result = await purgeExpired(db, NOW, small, async (read) => {
        calls++;
        if (calls === 1)
          await commit(db, [recordFailed(db, [{ event: behind, attempts: 4, reason: 'late' }], NOW)]);
        if (calls === 2)
          await commit(db, [recordFailed(db, [{ event: past, attempts: 4, reason: 'late' }], NOW)]);
        handed.push(...mine(key, read));
        return read;
      });

      expect(result.complete).toBe(true);
      expect(await storedDays(db)).not.toContain(DAY);
      expect(await stored(past, key)).toBeNull();
      expect(handed.map((e) => e.event_id).sort()).toEqual(
        [...events, behind, past].map((e) => e.event_id).sort(),
      );
    });
  });
});
