/**
 * A tenant whose store holds STORE_FULL_BYTES gets 507 STORE_FULL for new events, and nothing it
 * sends then is queued: the real ingest Worker, the tenants' real objects (sizes as SQLite reports
 * them) and the real local queue. The threshold is set per request, at a size the test measured.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { CLOUDEVENTS_BATCH_JSON } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IngestEnv } from '../src/env.ts';
import worker from '../src/index.ts';
import { STORE_SIZE_TTL_MS } from '../src/lib/store-room.ts';
import {
  BASE_URL,
  expectError,
  items,
  newApiKey,
  receivedFromQueue,
  type TestKey,
} from './support/ingest.ts';
import { storeOf, storesDown } from './support/store.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** Fills `key`'s store with `n` events of about 1 KB, as the consumer writes them; answers its size. */
async function fill(key: TestKey, n = 200): Promise<number> {
  const events = Array.from({ length: n }, (_, i) =>
    queuedEvent({ api_key_id: key.id, payload: { n: i, pad: 'x'.repeat(1000) } }),
  );
  await storeOf(key.id).writeEvents(
    { delivered: events.map((event) => ({ event, attempts: 1 })) },
    new Date(),
  );
  return storeOf(key.id).size();
}

/** A POST through the Worker's own fetch with STORE_FULL_BYTES = `full`; waits for what it left running. */
async function send(
  path: string,
  key: TestKey,
  body: unknown,
  full: number,
  headers: Record<string, string> = {},
): Promise<Response> {
  const request = new Request(`${BASE_URL}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key.key}`,
      'content-type': 'application/json',
      'cf-connecting-ip': `test-${crypto.randomUUID()}`,
      ...headers,
    },
    body: JSON.stringify(body),
  }) as Parameters<typeof worker.fetch>[0];
  const ctx = createExecutionContext();
  const vars: Partial<IngestEnv> = { STORE_FULL_BYTES: full };
  const response = await worker.fetch(request, { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe('a store at STORE_FULL_BYTES', () => {
  it('refuses POST /events, /events/batch and a CloudEvents batch with 507 STORE_FULL', async () => {
    const key = await newApiKey();
    const bytes = await fill(key);
    const single = await send('/events', key, { payload: { a: 1 } }, bytes);
    const body = await expectError(single, 507, 'STORE_FULL');
    expect(body.error.message).toContain('event store is full');
    expect(body.error.message).not.toMatch(/bytes|Durable|SQLITE/);
    await expectError(await send('/events/batch', key, { events: items(3) }, bytes), 507, 'STORE_FULL');
    const cloudEvents = [
      { specversion: '1.0', id: 'ce-1', source: '/shop', type: 'order.created', data: {} },
    ];
    await expectError(
      await send('/events/batch', key, cloudEvents, bytes, { 'content-type': CLOUDEVENTS_BATCH_JSON }),
      507,
      'STORE_FULL',
    );
  });

  it('queues nothing it refused: the same idempotency key, sent again once there is room, crosses the queue once', async () => {
    const key = await newApiKey();
    const bytes = await fill(key);
    const event = { payload: { order: 7 } };
    const headers = { 'idempotency-key': `full-${crypto.randomUUID()}` };
    await expectError(await send('/events', key, event, bytes, headers), 507, 'STORE_FULL');
    const accepted = await send('/events', key, event, bytes + 1, headers);
    expect(accepted.status).toBe(200);
    const { data } = (await accepted.json()) as { data: { event_id: string } };
    const seen = await receivedFromQueue(data.event_id);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a second copy would come in the same batch or the next
    expect((await receivedFromQueue(data.event_id)).copies).toBe(1);
    expect(seen.body.payload).toEqual({ order: 7 });
  });

  it("accepts another key's events meanwhile: one tenant's full store refuses only that tenant", async () => {
    const full = await newApiKey();
    const other = await newApiKey();
    const bytes = await fill(full);
    expect(await storeOf(other.id).size()).toBeLessThan(bytes);
    await expectError(await send('/events', full, { payload: {} }, bytes), 507, 'STORE_FULL');
    const accepted = await send('/events', other, { payload: {} }, bytes);
    expect(accepted.status).toBe(200);
  });

  it('accepts again once the store has room: the size is asked again after STORE_SIZE_TTL_MS', async () => {
    const key = await newApiKey();
    const bytes = await fill(key);
    await expectError(await send('/events', key, { payload: {} }, bytes), 507, 'STORE_FULL');
    await storeOf(key.id).erase(); // what retention dropping its days does to the size, at once
    expect(await storeOf(key.id).size()).toBeLessThan(bytes);
    // Within the TTL the isolate still knows the old size.
    await expectError(await send('/events', key, { payload: {} }, bytes), 507, 'STORE_FULL');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + STORE_SIZE_TTL_MS + 1);
    // The first send past the TTL answers from the old size while it asks the store again.
    await expectError(await send('/events', key, { payload: {} }, bytes), 507, 'STORE_FULL');
    const accepted = await send('/events', key, { payload: {} }, bytes);
    expect(accepted.status).toBe(200);
  });

  it('still accepts when the store cannot say its size: the event waits on the queue like any other', async () => {
    const key = await newApiKey();
    const down = storesDown(); // mocked: a local Durable Object cannot be made to fail on demand
    const accepted = await send('/events', key, { payload: { kept: true } }, 1);
    down.mockRestore();
    expect(accepted.status).toBe(200);
    const { data } = (await accepted.json()) as { data: { event_id: string } };
    expect((await receivedFromQueue(data.event_id)).body.payload).toEqual({ kept: true });
  });

  it('answers 400 before STORE_FULL: a client mistake is told first', async () => {
    const key = await newApiKey();
    const bytes = await fill(key);
    await expectError(await send('/events', key, { nope: 1 }, bytes), 400, 'VALIDATION_ERROR');
  });
});
