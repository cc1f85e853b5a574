import type { QueuedEvent } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  commit,
  dayOf,
  encodeBody,
  getEvent,
  MAX_JSON_PARAM_BYTES,
  RETRIES_EXHAUSTED,
  recordFailed,
  recordRetry,
  replayEvent,
  type StoreWrite,
  storeDelivered,
} from '../src/index.ts';
import { storeDb } from './backends.ts';

const db = storeDb();
const T1 = new Date('2026-11-29T10:00:01.000Z');
const T2 = new Date('2026-11-29T10:00:02.000Z');
const T3 = new Date('2026-11-29T10:00:03.000Z');

const read = (event: QueuedEvent) => getEvent(db, { apiKeyId: event.api_key_id, eventId: event.event_id });
const one = async (write: StoreWrite) => (await commit(db, [write]))[0];

describe('storeDelivered', () => {
  it('stores an event as delivered with every field of the row', async () => {
    const event = queuedEvent({
      metadata: { source: 'test' },
      timestamp: '2026-11-29T11:00:00+01:00',
      debug: 'queue_delay',
    });
    const stored = await one(storeDelivered(db, [{ event, attempts: 1 }], T1));
    expect(stored).toEqual(new Set([event.event_id]));
    expect(await read(event)).toEqual({
      event_id: event.event_id,
      api_key_id: event.api_key_id,
      payload: event.payload,
      metadata: { source: 'test' },
      status: 'delivered',
      attempts: 1,
      last_error: null,
      received_at: '2026-11-29T10:00:00.000Z',
      created_at: T1.toISOString(),
      updated_at: T1.toISOString(),
      correlation_id: event.correlation_id,
      debug: 'queue_delay',
      acked_at: null,
      type: 'triggers.event',
      source: `/api-keys/${event.api_key_id}`,
      subject: null,
      cloudevent: null,
      idempotency_conflicts: 0,
    });
  });

  it('stores a message queued without type and source with the defaults: every row has both', async () => {
    const { type: _t, source: _s, subject: _u, ...old } = queuedEvent();
    await one(storeDelivered(db, [{ event: old, attempts: 1 }], T1));
    expect(await read(old)).toMatchObject({
      type: 'triggers.event',
      source: `/api-keys/${old.api_key_id}`,
      subject: null,
    });
  });

  it('stores type, source, subject and the CloudEvent attributes in their columns', async () => {
    const cloudevent = {
      specversion: '1.0' as const,
      id: 'A-1',
      time: '2026-11-29T10:00:00Z',
      datacontenttype: 'application/xml',
      extensions: { traceparent: '00-abc', priority: 3, urgent: true },
      data_encoding: 'text' as const,
    };
    const event = queuedEvent({
      type: 'order.created',
      source: 'https://shop.example/orders',
      subject: 'order/42',
      cloudevent,
      payload: '<order id="42"/>',
    });
    await one(storeDelivered(db, [{ event, attempts: 1 }], T1));
    expect(await read(event)).toMatchObject({
      type: 'order.created',
      source: 'https://shop.example/orders',
      subject: 'order/42',
      cloudevent,
      payload: '<order id="42"/>',
    });
  });

  it('stores any JSON value as payload, null and arrays included', async () => {
    for (const payload of [null, [1, 'two'], 3, true]) {
      const event = queuedEvent({ payload });
      await one(storeDelivered(db, [{ event, attempts: 1 }], T1));
      expect((await read(event))?.payload).toEqual(payload);
    }
  });

  it('keeps payload keys that plain object copies lose, and stores absent metadata as null', async () => {
    const payload = JSON.parse('{"__proto__": {"x": 1}, "constructor": "c", "n": 1.5e300, "s": "é\\u0000"}');
    const event = queuedEvent({ payload, metadata: undefined });
    await one(storeDelivered(db, [{ event, attempts: 1 }], T1));
    const row = await read(event);
    expect(JSON.stringify(row?.payload)).toBe(JSON.stringify(payload));
    expect(row?.metadata).toBeNull();
  });

  it('does not create a second row or touch the first when the same event is delivered again', async () => {
    const event = queuedEvent();
    await one(storeDelivered(db, [{ event, attempts: 1 }], T1));
    const again = await one(storeDelivered(db, [{ event, attempts: 2 }], T2));
    expect(again.size).toBe(0);
    const count = await db
      .prepare('SELECT count(*) AS n FROM events WHERE event_id = ?')
      .bind(event.event_id)
      .first('n');
    expect(count).toBe(1);
    expect(await read(event)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      updated_at: T1.toISOString(),
    });
  });

  it('writes a batch of 100 events of one day with eight statements of at most two bound parameters, not one per event', async () => {
    const apiKeyId = `key_${crypto.randomUUID()}`;
    const events = Array.from({ length: 100 }, () => queuedEvent({ api_key_id: apiKeyId }));
    const write = storeDelivered(
      db,
      events.map((event) => ({ event, attempts: 1 })),
      T1,
    );
    // The conflict count on the four tables a copy may be in (the day, its two neighbours,
    // kept_events), the change of a pending copy on the three others, the upsert into the day.
    expect(write.statements).toHaveLength(8);
    const day = dayOf(events[0]?.timestamp ?? '');
    expect(write.days).toEqual([addDays(day, -1), day, addDays(day, 1)]);
    expect((await one(write)).size).toBe(100);
    const count = await db
      .prepare('SELECT count(*) AS n FROM events WHERE api_key_id = ?')
      .bind(apiKeyId)
      .first('n');
    expect(count).toBe(100);
  });

  it('splits large events over several statements under the parameter size limit and stores them all', async () => {
    const big = 'x'.repeat(120_000);
    const events = Array.from({ length: 12 }, (_, i) => queuedEvent({ payload: { i, big } }));
    const write = storeDelivered(
      db,
      events.map((event) => ({ event, attempts: 1 })),
      T1,
    );
    expect(write.statements.length).toBeGreaterThan(1);
    expect((await one(write)).size).toBe(12);
    for (const event of events) expect((await read(event))?.payload).toEqual(event.payload);
    expect(MAX_JSON_PARAM_BYTES).toBeLessThan(2_000_000);
  });
});

describe('the status state machine', () => {
  it('records a failed attempt as pending, then a later success as delivered keeping the last error', async () => {
    const event = queuedEvent();
    await one(recordRetry(db, [{ event, attempts: 1, error: 'first' }], T1));
    expect(await read(event)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'first' });
    await one(recordRetry(db, [{ event, attempts: 2, error: 'second' }], T2));
    expect(await read(event)).toMatchObject({ status: 'pending', attempts: 2, last_error: 'second' });
    const stored = await one(storeDelivered(db, [{ event, attempts: 3 }], T3));
    expect(stored.has(event.event_id)).toBe(true);
    expect(await read(event)).toMatchObject({
      status: 'delivered',
      attempts: 3,
      last_error: 'second',
      created_at: T1.toISOString(),
      updated_at: T3.toISOString(),
    });
  });

  it('never lowers attempts when an older copy of a message reports a failure late', async () => {
    const event = queuedEvent();
    await one(recordRetry(db, [{ event, attempts: 3, error: 'third' }], T1));
    await one(recordRetry(db, [{ event, attempts: 1, error: 'stale' }], T2));
    expect(await read(event)).toMatchObject({ status: 'pending', attempts: 3 });
  });

  it('marks a pending event failed with the error its last attempt recorded when the DLQ gives no reason', async () => {
    const event = queuedEvent();
    await one(recordRetry(db, [{ event, attempts: 4, error: 'boom on attempt 4' }], T1));
    const failed = await one(recordFailed(db, [{ event, attempts: 4, reason: null }], T2));
    expect(failed.has(event.event_id)).toBe(true);
    expect(await read(event)).toMatchObject({
      status: 'failed',
      attempts: 4,
      last_error: 'boom on attempt 4',
    });
  });

  it('records a dead event never seen before as failed, with a stated reason or the generic one', async () => {
    const routed = queuedEvent();
    const exhausted = queuedEvent();
    await one(
      recordFailed(
        db,
        [
          { event: routed, attempts: 1, reason: 'dlq_routing requested' },
          { event: exhausted, attempts: 4, reason: null },
        ],
        T1,
      ),
    );
    expect(await read(routed)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'dlq_routing requested',
    });
    expect(await read(exhausted)).toMatchObject({
      status: 'failed',
      attempts: 4,
      last_error: RETRIES_EXHAUSTED,
    });
  });

  it('does not let a late delivery or retry overwrite a failed event', async () => {
    const event = queuedEvent();
    await one(recordFailed(db, [{ event, attempts: 4, reason: 'dead' }], T1));
    expect((await one(storeDelivered(db, [{ event, attempts: 1 }], T2))).size).toBe(0);
    expect((await one(recordRetry(db, [{ event, attempts: 2, error: 'late' }], T2))).size).toBe(0);
    expect(await read(event)).toMatchObject({
      status: 'failed',
      attempts: 4,
      last_error: 'dead',
      updated_at: T1.toISOString(),
    });
  });

  it('does not let a late dead letter or retry overwrite a delivered event', async () => {
    const event = queuedEvent();
    await one(storeDelivered(db, [{ event, attempts: 1 }], T1));
    expect((await one(recordFailed(db, [{ event, attempts: 4, reason: null }], T2))).size).toBe(0);
    expect((await one(recordRetry(db, [{ event, attempts: 2, error: 'late' }], T2))).size).toBe(0);
    expect(await read(event)).toMatchObject({ status: 'delivered', attempts: 1, last_error: null });
  });

  it('lets a replayed failed event (set back to pending) be delivered', async () => {
    const event = queuedEvent();
    await one(recordFailed(db, [{ event, attempts: 1, reason: 'dlq_routing requested' }], T1));
    const replay = await replayEvent(db, { apiKeyId: event.api_key_id, eventId: event.event_id }, T2);
    expect(replay).toMatchObject({ replayed: true, event: { status: 'pending', attempts: 0 } });
    expect((await one(storeDelivered(db, [{ event, attempts: 1 }], T2))).has(event.event_id)).toBe(true);
    expect(await read(event)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      last_error: 'dlq_routing requested',
    });
  });
});

describe('commit', () => {
  it('reports each write’s own keys when several run in one batch', async () => {
    const delivered = queuedEvent();
    const retried = queuedEvent();
    const [stored, pending] = await commit(db, [
      storeDelivered(db, [{ event: delivered, attempts: 1 }], T1),
      recordRetry(db, [{ event: retried, attempts: 1, error: 'x' }], T1),
    ]);
    expect(stored).toEqual(new Set([delivered.event_id]));
    expect(pending).toEqual(new Set([retried.event_id]));
  });

  it('writes nothing when any statement of the batch fails (one transaction)', async () => {
    const good = queuedEvent();
    const bad = queuedEvent();
    await expect(
      commit(db, [
        storeDelivered(db, [{ event: good, attempts: 1 }], T1),
        // attempts must be >= 0: the CHECK constraint makes this statement fail.
        recordRetry(db, [{ event: bad, attempts: -1, error: 'x' }], T1),
      ]),
    ).rejects.toThrow(/CHECK constraint/);
    expect(await read(good)).toBeNull();
  });

  it('does not call D1 when there is nothing to write', async () => {
    expect(await commit(db, [storeDelivered(db, [], T1), recordRetry(db, [], T1)])).toEqual([
      new Set(),
      new Set(),
    ]);
  });
});

describe('getEvent', () => {
  it('answers null for an event of another API key, as for one that does not exist', async () => {
    const event = queuedEvent();
    await one(storeDelivered(db, [{ event, attempts: 1 }], T1));
    expect(await getEvent(db, { apiKeyId: 'key_other', eventId: event.event_id })).toBeNull();
    expect(await getEvent(db, { apiKeyId: event.api_key_id, eventId: crypto.randomUUID() })).toBeNull();
  });
});

describe('encodeBody', () => {
  it('keeps text, JSON values and values JSON cannot express without throwing', () => {
    expect(encodeBody('plain text')).toEqual({ body: '"plain text"', body_encoding: 'json' });
    expect(encodeBody(undefined)).toEqual({ body: 'null', body_encoding: 'json' });
    expect(encodeBody(10n)).toEqual({ body: '"10"', body_encoding: 'json' });
    expect(encodeBody(new Uint8Array([1, 2, 3]).buffer)).toEqual({ body: 'AQID', body_encoding: 'base64' });
  });
});

describe('writes are scoped by tenant (defence in depth)', () => {
  it("never changes another tenant's row, whatever a message claims as its event_id", async () => {
    const victim = queuedEvent({ api_key_id: 'key_victim', payload: { mine: true } });
    await one(recordRetry(db, [{ event: victim, attempts: 1, error: 'D1 hiccup' }], T1));
    const forged = { ...victim, api_key_id: 'key_attacker', payload: { forged: true } };

    expect(await one(storeDelivered(db, [{ event: forged, attempts: 2 }], T2))).toEqual(new Set());
    expect(await one(recordRetry(db, [{ event: forged, attempts: 2, error: 'forged' }], T2))).toEqual(
      new Set(),
    );
    expect(await one(recordFailed(db, [{ event: forged, attempts: 4, reason: null }], T3))).toEqual(
      new Set(),
    );

    const row = await read(victim);
    expect(row).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: 'D1 hiccup',
      payload: { mine: true },
    });
    expect(row?.updated_at).toBe(T1.toISOString());
    expect(await getEvent(db, { apiKeyId: 'key_attacker', eventId: victim.event_id })).toBeNull();
  });
});

describe('idempotency key reuse with another body', () => {
  it('keeps the first event and counts each different body on its row; a true redelivery is not counted', async () => {
    const first = queuedEvent({ payload: { amount: 10 } });
    await one(storeDelivered(db, [{ event: first, attempts: 1 }], T1));
    await one(storeDelivered(db, [{ event: first, attempts: 1 }], T2));
    expect((await read(first))?.idempotency_conflicts).toBe(0);

    const reused = { ...first, payload: { amount: 99 } };
    expect(await one(storeDelivered(db, [{ event: reused, attempts: 1 }], T2))).toEqual(new Set());
    await one(storeDelivered(db, [{ event: { ...first, metadata: { other: true } }, attempts: 1 }], T3));
    expect(await read(first)).toMatchObject({
      payload: { amount: 10 },
      idempotency_conflicts: 2,
      updated_at: T1.toISOString(),
    });
  });

  it("does not count another tenant's body as a conflict", async () => {
    const mine = queuedEvent({ api_key_id: 'key_mine' });
    await one(storeDelivered(db, [{ event: mine, attempts: 1 }], T1));
    await one(
      storeDelivered(
        db,
        [{ event: { ...mine, api_key_id: 'key_other', payload: { x: 1 } }, attempts: 1 }],
        T2,
      ),
    );
    expect((await read(mine))?.idempotency_conflicts).toBe(0);
  });
});
