/**
 * The inbox API's reading and acknowledging routes, against the real Worker and the real local
 * tenant stores, seeded through the consumer's own write.
 */
import { type EventDetails, InboxPage, MAX_INBOX_PAGE_BYTES } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectError, newApiKey, send, type TestKey } from './support/ingest.ts';
import {
  type Events,
  receivedInOrder,
  rowOf,
  store,
  storeOne,
  storeQueued,
  storesDown,
} from './support/store.ts';

afterEach(() => vi.restoreAllMocks());

async function page(key: TestKey, query = ''): Promise<InboxPage['data']> {
  const response = await send('GET', `/inbox${query}`, key);
  expect(response.status).toBe(200);
  return v.parse(InboxPage, await response.json()).data;
}

const idsOf = (data: InboxPage['data']) => data.events.map((e) => e.event_id);
const newestFirst = (events: { event_id: string }[]) => events.map((e) => e.event_id).reverse();

/** Every page of `query`, following next_cursor; `between` runs after each page but the last. */
async function walk(key: TestKey, query: string, between: () => Promise<void> = async () => {}) {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const data = await page(key, `${query}${cursor === null ? '' : `&cursor=${cursor}`}`);
    seen.push(...idsOf(data));
    cursor = data.next_cursor;
    if (cursor === null) return seen;
    await between();
  }
  throw new Error('the walk did not end');
}

describe('GET /events/{event_id}', () => {
  it('answers the event with status, attempts, last error, timestamps, ack, identity, payload and metadata, without the tenant', async () => {
    const key = await newApiKey();
    const event = await storeOne('failed', key.id, {
      debug: 'processing_error',
      timestamp: '2026-11-29T11:00:00.000Z',
    });
    const response = await send('GET', `/events/${event.event_id}`, key);
    expect(response.status).toBe(200);
    const body = (await response.json()) as EventDetails;
    expect(body.data).toEqual({
      event_id: event.event_id,
      status: 'failed',
      attempts: 4,
      last_error: 'dead on purpose',
      received_at: '2026-11-29T11:00:00.000Z',
      created_at: '2026-11-29T12:00:00.000Z',
      updated_at: '2026-11-29T12:00:00.000Z',
      acked_at: null,
      correlation_id: event.correlation_id,
      debug: 'processing_error',
      type: 'triggers.event',
      source: `/api-keys/${key.id}`,
      subject: null,
      cloudevent: null,
      payload: { order: 42, items: ['a', 'b'] },
      metadata: { source: 'shop' },
      idempotency_conflicts: 0,
    });
  });

  it('shows how often the event’s idempotency key was reused with another body, the first event kept', async () => {
    const key = await newApiKey();
    const event = queuedEvent({ api_key_id: key.id, payload: { amount: 10 } });
    await storeQueued(event);
    const reused = { ...event, payload: { amount: 99 } };
    await storeQueued(reused);
    const response = await send('GET', `/events/${event.event_id}`, key);
    expect(((await response.json()) as EventDetails).data).toMatchObject({
      payload: { amount: 10 },
      idempotency_conflicts: 1,
    });
  });

  it('finds an event whose id is written in upper case', async () => {
    const key = await newApiKey();
    const event = await storeOne('delivered', key.id);
    const response = await send('GET', `/events/${event.event_id.toUpperCase()}`, key);
    expect(((await response.json()) as EventDetails).data.event_id).toBe(event.event_id);
  });

  it('answers 404 alike for an event that does not exist and for another key’s event', async () => {
    const owner = await newApiKey();
    const other = await newApiKey();
    const event = await storeOne('delivered', owner.id);
    const missingId = crypto.randomUUID();
    const theirs = await expectError(await send('GET', `/events/${event.event_id}`, other), 404, 'NOT_FOUND');
    const missing = await expectError(await send('GET', `/events/${missingId}`, other), 404, 'NOT_FOUND');
    expect(theirs.error.message.replace(event.event_id, 'ID')).toBe(
      missing.error.message.replace(missingId, 'ID'),
    );
    expect(Object.keys(theirs.error).sort()).toEqual(Object.keys(missing.error).sort());
  });

  it('answers 400 naming path.event_id for an id that is not a UUID', async () => {
    const key = await newApiKey();
    const { error } = await expectError(
      await send('GET', '/events/not-a-uuid', key),
      400,
      'VALIDATION_ERROR',
    );
    expect(error.details?.issues).toEqual([{ path: 'path.event_id', message: 'must be a UUID' }]);
  });

  it('answers 401 to a key the store does not know', async () => {
    const response = await send('GET', `/events/${crypto.randomUUID()}`, { key: 'sk_test_nope', id: '' });
    await expectError(response, 401, 'UNAUTHORIZED');
  });

  it('answers 503 with Retry-After when the event store does not answer', async () => {
    const key = await newApiKey();
    storesDown('Network connection lost.');
    const response = await send('GET', `/events/${crypto.randomUUID()}`, key);
    const { error } = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toBe('2');
    expect(error.message).not.toContain('Network connection lost');
  });
});

describe('GET /inbox', () => {
  it('lists the key’s events not yet acknowledged, newest first, whatever their status', async () => {
    const key = await newApiKey();
    const [a, b, c, d] = receivedInOrder(key.id, 4) as Events<4>;
    await store('delivered', [a, d]);
    await store('pending', [b]);
    await store('failed', [c]);
    expect((await send('POST', `/inbox/${a.event_id}/ack`, key)).status).toBe(200);

    const data = await page(key);
    expect(idsOf(data)).toEqual([d, c, b].map((e) => e.event_id));
    expect(data.events.map((e) => e.status)).toEqual(['delivered', 'failed', 'pending']);
    expect(data.events[0]?.payload).toEqual({ order: 42, items: ['a', 'b'] });
    expect(data.next_cursor).toBeNull();
  });

  it('filters by one or several statuses, by ack, by [from, to), and lists oldest first on request', async () => {
    const key = await newApiKey();
    const events = receivedInOrder(key.id, 5);
    const [d0, p1, f2, d3, f4] = events as Events<5>;
    await store('delivered', [d0, d3]);
    await store('pending', [p1]);
    await store('failed', [f2, f4]);
    await send('POST', `/inbox/${d3.event_id}/ack`, key);
    const ids = async (query: string) => idsOf(await page(key, query));

    expect(await ids('?status=failed')).toEqual([f4, f2].map((e) => e.event_id));
    expect(await ids('?status=failed&status=pending')).toEqual([f4, f2, p1].map((e) => e.event_id));
    expect(await ids('?acked=true')).toEqual([d3.event_id]);
    expect(await ids('?acked=all&order=asc')).toEqual(events.map((e) => e.event_id));
    // `from` is inclusive, `to` exclusive; an offset is read as the instant it names.
    const plusOne = (iso: string) => new Date(iso).toISOString().replace('Z', '+00:00');
    expect(
      await ids(`?acked=all&from=${encodeURIComponent(plusOne(p1.timestamp))}&to=${d3.timestamp}`),
    ).toEqual([f2, p1].map((e) => e.event_id));
    expect(await ids(`?status=delivered&acked=all&to=${p1.timestamp}`)).toEqual([d0.event_id]);
  });

  it('pages 50 events by default, and at most limit events per page', async () => {
    const key = await newApiKey();
    const events = await store('delivered', receivedInOrder(key.id, 53));
    const first = await page(key);
    expect(idsOf(first)).toEqual(newestFirst(events).slice(0, 50));
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await page(key, `?cursor=${first.next_cursor}`);
    expect(idsOf(second)).toEqual(newestFirst(events).slice(50));
    expect(second.next_cursor).toBeNull();
    expect(idsOf(await page(key, '?limit=2'))).toHaveLength(2);
  });

  it('never skips nor repeats an event present at the start while new events arrive between pages', async () => {
    const key = await newApiKey();
    const present = await store('delivered', receivedInOrder(key.id, 23));
    const arrived: string[] = [];
    const seen = await walk(key, '?limit=4', async () => {
      // New events, as the consumer stores them during the walk: later received_at, so they sort
      // ahead of the cursor; and a burst sharing one timestamp, as a batch does.
      const timestamp = new Date().toISOString();
      const more = await store('delivered', [
        queuedEvent({ api_key_id: key.id }),
        queuedEvent({ api_key_id: key.id, timestamp }),
      ]);
      await store('failed', [queuedEvent({ api_key_id: key.id, timestamp })]);
      arrived.push(...more.map((e) => e.event_id));
    });
    expect(arrived.length).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(newestFirst(present));
  });

  it('walks events that share one received_at across page boundaries, each once, in both orders', async () => {
    const key = await newApiKey();
    const timestamp = '2026-11-29T10:00:00.000Z';
    const events = await store(
      'delivered',
      Array.from({ length: 9 }, () => queuedEvent({ api_key_id: key.id, timestamp })),
    );
    const byId = events.map((e) => e.event_id).sort();
    expect(await walk(key, '?limit=2&order=asc')).toEqual(byId);
    expect(await walk(key, '?limit=4')).toEqual([...byId].reverse());
  });

  it(`ends a page early once its payloads pass ${MAX_INBOX_PAGE_BYTES} bytes, and next_cursor goes on from there`, async () => {
    const key = await newApiKey();
    const big = { text: 'x'.repeat(120_000) };
    const count = Math.ceil(MAX_INBOX_PAGE_BYTES / 120_000) + 3;
    const events = await store(
      'delivered',
      receivedInOrder(key.id, count, { payload: big, metadata: undefined }),
    );
    const first = await page(key, '?limit=1000');
    expect(first.events.length).toBeLessThan(count);
    expect(first.events.length).toBeGreaterThanOrEqual(Math.floor(MAX_INBOX_PAGE_BYTES / 120_000));
    expect(first.next_cursor).not.toBeNull();
    expect(await walk(key, '?limit=1000')).toEqual(newestFirst(events));
  });

  it('answers 400 listing every bad parameter with its path, unknown ones included', async () => {
    const key = await newApiKey();
    const response = await send(
      'GET',
      '/inbox?status=archived&limit=0&from=yesterday&order=up&acked=maybe&page=2',
      key,
    );
    const { error } = await expectError(response, 400, 'VALIDATION_ERROR');
    expect(error.details?.issues).toEqual(
      expect.arrayContaining([
        { path: 'query.status.0', message: 'must be one of pending, delivered, failed' },
        { path: 'query.limit', message: 'must be at least 1' },
        {
          path: 'query.from',
          message: 'must be an ISO-8601 timestamp with Z or an offset (2026-11-29T10:00:00Z), or a date',
        },
        { path: 'query.order', message: 'must be desc or asc' },
        { path: 'query.acked', message: 'must be false, true or all' },
        { path: 'query.page', message: 'is not a recognised parameter' },
      ]),
    );
    expect(error.details?.issues).toHaveLength(6);
  });

  it.each([
    ['?limit=1001', 'query.limit', 'must be at most 1000'],
    ['?limit=ten', 'query.limit', 'must be a whole number'],
    ['?limit=5&limit=6', 'query.limit', 'must be given once'],
    ['?status=failed,pending', 'query.status.0', 'must be one of pending, delivered, failed'],
    ['?from=2026-11-29T10:00:00', 'query.from', expect.stringContaining('with Z or an offset')],
    ['?from=2026-11-29T10:00:00Z&to=2026-11-29T10:00:00Z', 'query.from', 'must be before to'],
    ['?cursor=bm9wZQ', 'query.cursor', 'is not a cursor this API issued'],
    ['?cursor=%E2%9C%93', 'query.cursor', 'is not a cursor this API issued'],
  ])('answers 400 for %s', async (query, path, message) => {
    const key = await newApiKey();
    const { error } = await expectError(await send('GET', `/inbox${query}`, key), 400, 'VALIDATION_ERROR');
    expect(error.details?.issues).toEqual([{ path, message }]);
  });
});

describe('POST /inbox/{event_id}/ack', () => {
  it('marks a delivered event handled: it leaves the default view, and acking again answers the same', async () => {
    const key = await newApiKey();
    const event = await storeOne('delivered', key.id);
    const id = event.event_id;
    const first = await send('POST', `/inbox/${id}/ack`, key);
    expect(first.status).toBe(200);
    const acked = ((await first.json()) as EventDetails).data;
    expect(acked).toMatchObject({ event_id: id, status: 'delivered', acked_at: expect.any(String) });
    expect(Date.now() - Date.parse(String(acked.acked_at))).toBeLessThan(60_000);

    const second = await send('POST', `/inbox/${id}/ack`, key);
    expect(second.status).toBe(200);
    expect(((await second.json()) as EventDetails).data).toEqual(acked);

    expect(idsOf(await page(key))).toEqual([]);
    expect(idsOf(await page(key, '?acked=true'))).toEqual([id]);
    expect((await rowOf(event))?.acked_at).toBe(acked.acked_at);
  });

  it('acknowledges a failed event too: handled by giving up on it', async () => {
    const key = await newApiKey();
    const event = await storeOne('failed', key.id);
    const response = await send('POST', `/inbox/${event.event_id}/ack`, key);
    expect(((await response.json()) as EventDetails).data).toMatchObject({
      status: 'failed',
      acked_at: expect.any(String),
    });
  });

  it('answers 409 INVALID_STATE for a pending event, which stays unacknowledged', async () => {
    const key = await newApiKey();
    const event = await storeOne('pending', key.id);
    const { error } = await expectError(
      await send('POST', `/inbox/${event.event_id}/ack`, key),
      409,
      'INVALID_STATE',
    );
    expect(error.details?.status).toBe('pending');
    expect((await rowOf(event))?.acked_at).toBeNull();
  });

  it('answers 404 for an unknown event and 400 for an id that is not a UUID', async () => {
    const key = await newApiKey();
    await expectError(await send('POST', `/inbox/${crypto.randomUUID()}/ack`, key), 404, 'NOT_FOUND');
    await expectError(await send('POST', '/inbox/42/ack', key), 400, 'VALIDATION_ERROR');
  });
});
