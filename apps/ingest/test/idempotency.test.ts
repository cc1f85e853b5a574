import type { BatchAccepted, ErrorEnvelope, EventAccepted } from '@triggers/event-schema';
import { MAX_IDEMPOTENCY_KEY_LENGTH, QueuedEvent } from '@triggers/event-schema';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { newApiKey, post, queued, type TestKey } from './support/ingest.ts';

async function sendOne(key: TestKey, payload: Record<string, unknown>, idempotencyKey?: string) {
  const res = await post(
    '/events',
    key,
    { payload },
    idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as EventAccepted).data.event_id;
}

async function sendInBatch(key: TestKey, items: Record<string, unknown>[]) {
  const res = await post('/events/batch', key, { events: items });
  expect(res.status).toBe(200);
  return ((await res.json()) as BatchAccepted).data.results;
}

describe('Idempotency-Key on POST /events', () => {
  it('gives the same key twice the same event_id, a UUID v8 the queue carries', async () => {
    const key = await newApiKey();
    const first = await sendOne(key, { order: 'o_1' }, 'order-o_1');
    const second = await sendOne(key, { order: 'o_1' }, 'order-o_1');
    expect(second).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const message = await queued(first);
    expect(v.is(QueuedEvent, message)).toBe(true);
    expect(message).toMatchObject({ event_id: first, payload: { order: 'o_1' }, api_key_id: key.id });
  });

  it('gives the same key from another API key another event_id', async () => {
    const [a, b] = await Promise.all([newApiKey(), newApiKey()]);
    const fromA = await sendOne(a, { n: 1 }, 'shared-key');
    const fromB = await sendOne(b, { n: 1 }, 'shared-key');
    expect(fromB).not.toBe(fromA);
    expect((await queued(fromB)).api_key_id).toBe(b.id);
  });

  it('gives events without a key a new random event_id each time', async () => {
    const key = await newApiKey();
    const [first, second] = [await sendOne(key, { n: 1 }), await sendOne(key, { n: 1 })];
    expect(first).not.toBe(second);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });

  it('answers the same event_id when a key is reused with another payload (the consumer keeps the first stored)', async () => {
    const key = await newApiKey();
    const first = await sendOne(key, { version: 1 }, 'reused');
    const second = await sendOne(key, { version: 2 }, 'reused');
    expect(second).toBe(first);
  });

  it.each([
    [
      'too long',
      'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1),
      `at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    ],
    ['with a space inside', 'two words', 'visible ASCII'],
    ['not ASCII', 'clé', 'visible ASCII'],
  ])('refuses a key %s with 400 naming the header', async (_case, idempotencyKey, message) => {
    const key = await newApiKey();
    const res = await post('/events', key, { payload: {} }, { 'idempotency-key': idempotencyKey });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorEnvelope;
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.details?.issues?.[0]?.path).toBe('headers.idempotency-key');
    expect(error.details?.issues?.[0]?.message).toContain(message);
  });

  it(`accepts a key of exactly ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, async () => {
    const key = await newApiKey();
    await sendOne(key, { n: 1 }, 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH));
  });
});

describe('idempotency_key on POST /events/batch', () => {
  it('gives the same key in two batches the same event_id, the one POST /events gives it', async () => {
    const key = await newApiKey();
    const first = await sendInBatch(key, [
      { payload: { n: 1 }, idempotency_key: 'evt-1' },
      { payload: { n: 2 } },
    ]);
    const second = await sendInBatch(key, [
      { payload: { n: 1 }, idempotency_key: 'evt-1' },
      { payload: { n: 2 } },
    ]);
    const id = (results: typeof first, i: number) => {
      const result = results[i];
      if (result?.status !== 'accepted') throw new Error(`item ${i} was not accepted`);
      return result.event_id;
    };
    expect(id(second, 0)).toBe(id(first, 0));
    expect(id(second, 1)).not.toBe(id(first, 1));
    expect(await sendOne(key, { n: 1 }, 'evt-1')).toBe(id(first, 0));
    expect((await queued(id(first, 0))).payload).toEqual({ n: 1 });
  });

  it('rejects only the item whose idempotency_key is invalid, with its path', async () => {
    const key = await newApiKey();
    const results = await sendInBatch(key, [
      { payload: { n: 1 }, idempotency_key: '' },
      { payload: { n: 2 }, idempotency_key: 'fine' },
    ]);
    expect(results[0]).toMatchObject({
      status: 'rejected',
      error: {
        code: 'VALIDATION_ERROR',
        issues: [{ path: 'events.0.idempotency_key', message: 'must not be empty' }],
      },
    });
    expect(results[1]?.status).toBe('accepted');
  });
});
