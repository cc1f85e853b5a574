import { env } from 'cloudflare:workers';
import { MAX_QUEUE_ATTEMPTS, MAX_SUBSCRIPTIONS_PER_KEY, type QueuedEvent } from '@triggers/event-schema';
import { encodeBody, getDeadLetter, RETRIES_EXHAUSTED } from '@triggers/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DeadLetter, deadLetterOf } from '../src/dead-letter.ts';
import { PROCESSING_ERROR_REASON } from '../src/event-batch.ts';
import { deliver, event, failStoreOf, message, row, storeOf } from './queue.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

const DLQ = 'event-dlq';

/** A message of event-queue, as the consumer would dead-letter it. */
function letterFor(body: unknown, reason: string, valid = true): DeadLetter {
  const original = { ...message(body, 2), timestamp: new Date('2026-11-29T09:00:00.000Z') };
  return deadLetterOf('event-queue', original, reason, valid ? (body as QueuedEvent) : undefined);
}

describe('event-dlq', () => {
  it('records an event the consumer dead-lettered as failed, with its attempts and reason, then acks', async () => {
    const e = event();
    const m = message(letterFor(e, 'dlq_routing: on purpose'));
    const result = await deliver(DLQ, [m]);
    expect(result).toMatchObject({ explicitAcks: [m.id], retryMessages: [] });
    expect(await row(e)).toMatchObject({
      status: 'failed',
      attempts: 2,
      last_error: 'dlq_routing: on purpose',
    });
  });

  it('records an event Cloudflare moved after its last retry as failed with all attempts and the last recorded error', async () => {
    const e = event({ debug: 'processing_error' });
    const last = message(e, MAX_QUEUE_ATTEMPTS);
    const final = await deliver('event-queue', [last]);
    expect(final.retryMessages.map((r) => r.msgId)).toEqual([last.id]);
    expect(await row(e)).toMatchObject({ status: 'pending', attempts: MAX_QUEUE_ATTEMPTS });

    // What Cloudflare then puts on event-dlq: the bare body, a fresh first attempt.
    const moved = await deliver(DLQ, [message(e)]);
    expect(moved.explicitAcks).toHaveLength(1);
    expect(await row(e)).toMatchObject({
      status: 'failed',
      attempts: MAX_QUEUE_ATTEMPTS,
      last_error: PROCESSING_ERROR_REASON,
    });
  });

  it('records a moved event the store never saw, saying its retries ran out', async () => {
    const e = event();
    await deliver(DLQ, [message(e)]);
    expect(await row(e)).toMatchObject({
      status: 'failed',
      attempts: MAX_QUEUE_ATTEMPTS,
      last_error: RETRIES_EXHAUSTED,
    });
  });

  it('keeps every malformed body it is given, ours or moved, and never drops one', async () => {
    const ours = letterFor({ not: 'an event' }, 'malformed message: event_id: is required', false);
    const oursMessage = message(ours);
    const moved = message('just a string');
    const binary = message(new Uint8Array([1, 2, 3]));
    const result = await deliver(DLQ, [oursMessage, moved, binary]);
    expect(result.explicitAcks).toHaveLength(3);

    expect(await getDeadLetter(env.DB, ours.message_id)).toMatchObject({
      queue: 'event-queue',
      attempts: 2,
      reason: 'malformed message: event_id: is required',
      ...encodeBody({ not: 'an event' }),
    });
    expect(await getDeadLetter(env.DB, moved.id)).toMatchObject({
      queue: 'event-queue',
      attempts: MAX_QUEUE_ATTEMPTS,
      body: '"just a string"',
      reason: expect.stringMatching(
        /^malformed message: body: Invalid type: Expected Object; moved to event-dlq/,
      ),
    });
    expect(await getDeadLetter(env.DB, binary.id)).toMatchObject({ body: 'AQID', body_encoding: 'base64' });
  });

  it('records a dead letter delivered twice once, and acks both copies', async () => {
    const e = event();
    const letter = letterFor(e, 'first');
    await deliver(DLQ, [message(letter)]);
    const again = await deliver(DLQ, [message({ ...letter, reason: 'second' })]);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await row(e)).toMatchObject({ status: 'failed', last_error: 'first' });
  });

  it('leaves a delivered event delivered when a stale copy of it is dead-lettered', async () => {
    const e = event();
    await deliver('event-queue', [message(e)]);
    const stale = await deliver(DLQ, [message(e)]);
    expect(stale.explicitAcks).toHaveLength(1);
    expect(await row(e)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('retries only the letters of a tenant whose store fails, with backoff, and acks the rest', async () => {
    const down = `key_${crypto.randomUUID()}`;
    failStoreOf(down); // mocked: see failStoreOf
    const lost = event({ api_key_id: down });
    const kept = event();
    const messages = [message(letterFor(lost, 'x')), message(letterFor(kept, 'y')), message('garbage', 3)];
    const result = await deliver(DLQ, messages);
    expect(result.explicitAcks.sort()).toEqual([messages[1]?.id, messages[2]?.id].sort());
    expect(result.retryMessages).toEqual([{ msgId: messages[0]?.id, delaySeconds: 2 }]);
    expect(await row(kept)).toMatchObject({ status: 'failed', last_error: 'y' });
    vi.restoreAllMocks();
    expect(await row(lost)).toBeNull();
  });

  it('retries only the unreadable letters, with backoff, when D1 cannot record them', async () => {
    // A mock: local D1 cannot be made to fail on demand, so its batch call is made to reject.
    vi.spyOn(env.DB, 'batch').mockRejectedValue(new Error('D1_ERROR: database unavailable'));
    const e = event();
    const messages = [message(letterFor(e, 'x')), message('garbage', 3)];
    const result = await deliver(DLQ, messages);
    expect(result.explicitAcks).toEqual([messages[0]?.id]);
    expect(result.retryMessages).toEqual([{ msgId: messages[1]?.id, delaySeconds: 8 }]);
    vi.restoreAllMocks();
    expect(await row(e)).toMatchObject({ status: 'failed' });
    expect(await getDeadLetter(env.DB, messages[1]?.id ?? '')).toBeNull();
  });
});

describe('event-dlq: the fan-out of an event stored before its message was moved', () => {
  /** A subscribed key whose event was stored as delivered while delivery-queue refused its fan-out on every attempt, so Cloudflare moved the message to event-dlq. */
  async function storedButNeverFannedOut() {
    const key = `key_${crypto.randomUUID()}`;
    await storeOf(key).createSubscription(
      {
        apiKeyId: key,
        id: `sub_${'0'.repeat(24)}`,
        url: 'https://hooks.example.com/',
        eventTypes: null,
        secret: 'whsec_eA==',
      },
      new Date(),
      MAX_SUBSCRIPTIONS_PER_KEY,
    );
    const e = event({ api_key_id: key });
    // Mocked: a local queue cannot be made to refuse a send on demand.
    const refuse = vi
      .spyOn(env.DELIVERY_QUEUE, 'sendBatch')
      .mockRejectedValue(new Error('Queue unavailable'));
    for (let attempts = 1; attempts <= MAX_QUEUE_ATTEMPTS; attempts++) {
      const m = message(e, attempts);
      expect((await deliver('event-queue', [m])).retryMessages.map((r) => r.msgId)).toEqual([m.id]);
    }
    refuse.mockRestore();
    expect(await row(e)).toMatchObject({ status: 'delivered' });
    return { key, e };
  }

  it('sends the fan-out of an event the store holds as delivered, then acks its moved message, so its webhooks are not lost', async () => {
    const { key, e } = await storedButNeverFannedOut();
    const sent: unknown[] = [];
    // Spied, so that the test runtime's own consumer does not fan out behind the test's back.
    vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch').mockImplementation(async (messages) => {
      sent.push(...[...messages].map((m) => m.body));
      return {} as QueueSendBatchResponse;
    });
    const moved = message(e, 1);
    expect(await deliver(DLQ, [moved])).toMatchObject({ explicitAcks: [moved.id], retryMessages: [] });
    expect(sent).toEqual([{ api_key_id: key, fan_out: [e.event_id] }]);
    expect(await row(e)).toMatchObject({ status: 'delivered' });

    // The dispatcher's half of that fan-out creates the event's delivery.
    const fanOut = message(sent[0]);
    expect((await deliver('delivery-queue', [fanOut])).explicitAcks).toEqual([fanOut.id]);
    const deliveries = await storeOf(key).listDeliveries({ apiKeyId: key, eventId: e.event_id });
    expect(deliveries).toHaveLength(1);
  });

  it('retries the moved message when delivery-queue refuses that fan-out too (mocked: a local queue cannot be made to fail on demand)', async () => {
    const { e } = await storedButNeverFannedOut();
    vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch').mockRejectedValue(new Error('Queue unavailable'));
    const moved = message(e, 1);
    const result = await deliver(DLQ, [moved]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([moved.id]);
  });

  it('sends no fan-out for a dead letter the store records as failed now, nor for a key without subscriptions', async () => {
    const send = vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch');
    const e = event();
    const m = message(letterFor(e, 'dlq_routing: on purpose'));
    expect(await deliver(DLQ, [m])).toMatchObject({ explicitAcks: [m.id] });
    const again = message(letterFor(e, 'dlq_routing: on purpose'));
    expect(await deliver(DLQ, [again])).toMatchObject({ explicitAcks: [again.id] });
    expect(send).not.toHaveBeenCalled();
  });
});
