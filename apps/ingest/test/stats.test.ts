/**
 * `GET /stats` through the Worker's real fetch, over rows in the real local tenant stores: the overview
 * counts of the console, for the calling key only.
 */
import { env } from 'cloudflare:workers';
import { EventStats } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, expectError, newApiKey, send } from './support/ingest.ts';
import { store, storeOf, storesDown } from './support/store.ts';

afterEach(() => vi.restoreAllMocks());

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('GET /stats', () => {
  it('counts the key’s events by status over the last hour and day, in minute and hour buckets', async () => {
    const [key, other] = await Promise.all([newApiKey(), newApiKey()]);
    await store('delivered', [
      queuedEvent({ api_key_id: key.id, timestamp: ago(1_000) }),
      queuedEvent({ api_key_id: key.id }),
    ]);
    await store('failed', [queuedEvent({ api_key_id: key.id, timestamp: ago(5 * 3_600_000) })]);
    await store('pending', [queuedEvent({ api_key_id: key.id, timestamp: ago(2_000) })]);
    await store('delivered', [queuedEvent({ api_key_id: other.id })]);

    const response = await send('GET', '/stats', key);
    expect(response.status).toBe(200);
    const { data } = v.parse(EventStats, await response.json());

    expect(data.last_hour).toMatchObject({
      bucket_seconds: 60,
      received: 3,
      delivered: 2,
      pending: 1,
      failed: 0,
    });
    expect(data.last_hour.buckets).toHaveLength(60);
    expect(data.last_hour.buckets.at(-1)?.received).toBeGreaterThanOrEqual(1);
    expect(data.last_day).toMatchObject({
      bucket_seconds: 3600,
      received: 4,
      delivered: 2,
      pending: 1,
      failed: 1,
    });
    expect(data.last_day.buckets).toHaveLength(24);
    expect(data.last_delivered_at).toEqual(expect.any(String));
  });

  it('says how full the key’s own store is: its size now, and the size at which new events are refused', async () => {
    const key = await newApiKey();
    const before = v.parse(EventStats, await (await send('GET', '/stats', key)).json()).data.store;
    await store(
      'delivered',
      Array.from({ length: 100 }, (_, n) =>
        queuedEvent({ api_key_id: key.id, payload: { n, pad: 'x'.repeat(1000) } }),
      ),
    );
    const after = v.parse(EventStats, await (await send('GET', '/stats', key)).json()).data.store;
    expect(before.full_bytes).toBe(env.STORE_FULL_BYTES);
    expect(after.size_bytes).toBe(await storeOf(key.id).size());
    expect(after.size_bytes - before.size_bytes).toBeGreaterThan(100_000); // 100 events of over 1 KB
  });

  it('refuses a request without a valid key, with the 401 envelope', async () => {
    await expectError(await call('/stats'), 401, 'UNAUTHORIZED');
    await expectError(
      await call('/stats', { headers: { authorization: 'Bearer sk_test_nope' } }),
      401,
      'UNAUTHORIZED',
    );
  });

  it('answers 503 with Retry-After when the event store does not answer', async () => {
    // A tenant store cannot be made to fail on demand locally: the one mock of these tests.
    storesDown();
    const key = await newApiKey();
    const response = await send('GET', '/stats', key);
    await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toBe('2');
  });
});
