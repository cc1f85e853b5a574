/**
 * The client's reads and inbox resources (`events.get`, `inbox`, `dlq`, `stats`) against the real
 * ingest Worker and the real local tenant stores: each method reaches its route, pages are followed
 * to the end, results are typed and checked, and retries happen only where repeating the request
 * is safe.
 */
import { createClient, type InboxQuery, type TriggersClientOptions, TriggersError } from '@triggers/client';
import { describe, expect, it } from 'vitest';
import { BASE_URL, newApiKey, receivedFromQueue, type TestKey, workerFetch } from './support/ingest.ts';
import { receivedInOrder, store, storeOne, tenantWithEachStatus } from './support/store.ts';

/** A client of the real Worker that records the path and query of every request it sends. */
function clientFor(key: TestKey, options: Partial<TriggersClientOptions> = {}) {
  const requests: string[] = [];
  const client = createClient({
    baseUrl: BASE_URL,
    apiKey: key.key,
    fetch: (request) => {
      const url = new URL(request.url);
      requests.push(`${request.method} ${url.pathname}${url.search}`);
      return workerFetch(request);
    },
    sleep: async () => {},
    ...options,
  });
  return { client, requests };
}

/** The error `promise` rejects with, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('client.events.get', () => {
  it('answers a stored event with its status and payload, and NOT_FOUND for an unknown id', async () => {
    const tenant = await tenantWithEachStatus();
    const { client } = clientFor(tenant.key);
    const event = await client.events.get(tenant.failed.event_id);
    expect(event).toMatchObject({
      event_id: tenant.failed.event_id,
      status: 'failed',
      attempts: 4,
      payload: tenant.failed.payload,
    });
    const missing = await rejection(client.events.get(crypto.randomUUID()));
    expect(missing).toBeInstanceOf(TriggersError);
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});

describe('client.inbox.iterate and client.inbox.list', () => {
  it('iterates over every page, in order, with the filters on every request', async () => {
    const key = await newApiKey();
    const failed = await store('failed', receivedInOrder(key.id, 7));
    await storeOne('delivered', key.id);
    const { client, requests } = clientFor(key);
    const seen: string[] = [];
    for await (const event of client.inbox.iterate({ status: 'failed', order: 'asc', limit: 3 })) {
      expect(event.status).toBe('failed');
      seen.push(event.event_id);
    }
    expect(seen).toEqual(failed.map((event) => event.event_id));
    expect(requests).toHaveLength(3);
    for (const request of requests) expect(request).toMatch(/^GET \/inbox\?status=failed&order=asc&limit=3/);
    expect(requests.slice(1).every((request) => request.includes('&cursor='))).toBe(true);
  });

  it('fetches no further page once the loop stops', async () => {
    const key = await newApiKey();
    await store('delivered', receivedInOrder(key.id, 5));
    const { client, requests } = clientFor(key);
    for await (const event of client.inbox.iterate({ limit: 2 })) {
      expect(event.status).toBe('delivered');
      break;
    }
    expect(requests).toHaveLength(1);
  });

  it('list answers one page and its cursor, several statuses and acked as query parameters', async () => {
    const tenant = await tenantWithEachStatus();
    const { client, requests } = clientFor(tenant.key);
    const page = await client.inbox.list({ status: ['failed', 'pending'], acked: 'all', limit: 1 });
    expect(page.events).toHaveLength(1);
    expect(page.next_cursor).toEqual(expect.any(String));
    expect(requests[0]).toBe('GET /inbox?status=failed&status=pending&acked=all&limit=1');
  });

  it('filters by type (exact or a prefix ending in *) and by source', async () => {
    const key = await newApiKey();
    const [created, paid] = await Promise.all([
      storeOne('delivered', key.id, { type: 'order.created', source: '/shop' }),
      storeOne('delivered', key.id, { type: 'order.paid', source: '/billing' }),
      storeOne('delivered', key.id, { type: 'invoice.sent', source: '/billing' }),
    ]);
    const { client, requests } = clientFor(key);
    const ids = async (query: InboxQuery) =>
      (await client.inbox.list({ ...query, order: 'asc' })).events.map((event) => event.event_id).sort();
    expect(await ids({ type: 'order.created' })).toEqual([created.event_id]);
    expect(await ids({ type: 'order.*' })).toEqual([created.event_id, paid.event_id].sort());
    expect(await ids({ type: 'order.*', source: '/billing' })).toEqual([paid.event_id]);
    expect(requests.at(-1)).toBe('GET /inbox?type=order.*&source=%2Fbilling&order=asc');
  });
});

describe('client.inbox.ack', () => {
  it('acknowledges an event, which leaves the default inbox; acking again answers the first time', async () => {
    const tenant = await tenantWithEachStatus();
    const { client } = clientFor(tenant.key);
    const acked = await client.inbox.ack(tenant.delivered.event_id);
    expect(acked.acked_at).toEqual(expect.any(String));
    expect((await client.inbox.ack(tenant.delivered.event_id)).acked_at).toBe(acked.acked_at);
    const left: string[] = [];
    for await (const event of client.inbox.iterate()) left.push(event.event_id);
    expect(left).not.toContain(tenant.delivered.event_id);
    expect(left).toContain(tenant.failed.event_id);
  });

  it('rejects with INVALID_STATE for a pending event, without retrying', async () => {
    const tenant = await tenantWithEachStatus();
    const { client, requests } = clientFor(tenant.key);
    const error = await rejection(client.inbox.ack(tenant.pending.event_id));
    expect(error).toMatchObject({ status: 409, code: 'INVALID_STATE' });
    expect(requests).toHaveLength(1);
  });
});

describe('client.inbox.retry and client.dlq.replay', () => {
  it('retry queues a failed event again and answers it pending', async () => {
    const tenant = await tenantWithEachStatus();
    const { client } = clientFor(tenant.key);
    const retried = await client.inbox.retry(tenant.failed.event_id);
    expect(retried).toMatchObject({ event_id: tenant.failed.event_id, status: 'pending', attempts: 0 });
    expect((await receivedFromQueue(tenant.failed.event_id)).body.event_id).toBe(tenant.failed.event_id);
  });

  it('dlq.replay queues the failed events again and names them', async () => {
    const key = await newApiKey();
    const failed = await store('failed', receivedInOrder(key.id, 3));
    const { client } = clientFor(key);
    const replayed = await client.dlq.replay({ limit: 2 });
    expect(replayed).toEqual({ replayed: 2, event_ids: failed.slice(0, 2).map((event) => event.event_id) });
    expect(await client.dlq.replay()).toEqual({ replayed: 1, event_ids: [failed[2]?.event_id] });
  });
});

describe('client.stats.get', () => {
  it("answers the key's counts by status over the last hour and day", async () => {
    const key = await newApiKey();
    await store('delivered', receivedInOrder(key.id, 2));
    await store('failed', receivedInOrder(key.id, 1));
    const { client, requests } = clientFor(key);
    const stats = await client.stats.get();
    expect(stats.last_hour).toMatchObject({ received: 3, delivered: 2, failed: 1, pending: 0 });
    expect(stats.last_day.buckets).toHaveLength(24);
    expect(requests).toEqual(['GET /stats']);
  });
});

describe('client retries and cancellation', () => {
  // A connection that drops cannot be produced on demand between the client and workerd: these
  // tests put a fetch that fails once in transit in front of the real Worker.
  function flakyClient(key: TestKey) {
    const { client, requests } = clientFor(key, {
      fetch: async (request) => {
        const url = new URL(request.url);
        requests.push(`${request.method} ${url.pathname}`);
        if (requests.length === 1) throw new TypeError('fetch failed: connection reset');
        return workerFetch(request);
      },
    });
    return { client, requests };
  }

  it('sends a read or an ack again after a failure in transit', async () => {
    const tenant = await tenantWithEachStatus();
    const reader = flakyClient(tenant.key);
    expect((await reader.client.events.get(tenant.failed.event_id)).status).toBe('failed');
    expect(reader.requests).toHaveLength(2);
    const acker = flakyClient(tenant.key);
    expect((await acker.client.inbox.ack(tenant.delivered.event_id)).acked_at).not.toBeNull();
    expect(acker.requests).toHaveLength(2);
  });

  it('does not send a retry or a replay again after a failure in transit', async () => {
    const tenant = await tenantWithEachStatus();
    const retrier = flakyClient(tenant.key);
    expect(await rejection(retrier.client.inbox.retry(tenant.failed.event_id))).toMatchObject({
      status: 0,
      code: 'NETWORK_ERROR',
    });
    expect(retrier.requests).toHaveLength(1);
    const replayer = flakyClient(tenant.key);
    expect(await rejection(replayer.client.dlq.replay())).toMatchObject({ code: 'NETWORK_ERROR' });
    expect(replayer.requests).toHaveLength(1);
  });

  it('an aborted signal sends nothing; aborting during the wait before a retry rejects with its reason', async () => {
    const tenant = await tenantWithEachStatus();
    const before = clientFor(tenant.key);
    const error = await rejection(
      before.client.events.get(tenant.failed.event_id, { signal: AbortSignal.abort() }),
    );
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(before.requests).toHaveLength(0);

    const controller = new AbortController();
    let waiting = () => {};
    const waited = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const { client, requests } = clientFor(tenant.key, {
      fetch: async () => {
        requests.push('fetch');
        throw new TypeError('fetch failed: connection reset');
      },
      // Never wakes: only the abort can end the wait.
      sleep: () => {
        waiting();
        return new Promise(() => {});
      },
    });
    const call = rejection(client.events.get(tenant.failed.event_id, { signal: controller.signal }));
    await waited;
    controller.abort(new Error('caller gave up'));
    expect(await call).toMatchObject({ message: 'caller gave up' });
    expect(requests).toHaveLength(1);
  });
});
