import { env } from 'cloudflare:workers';
import { createClient, type TriggersClientOptions, TriggersError } from '@triggers/client';
import type { BatchItem } from '@triggers/event-schema';
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from '@triggers/event-schema';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { idempotentEventId } from '../src/lib/idempotency.ts';
import { ROUTES } from '../src/routes/index.ts';
import {
  BASE_URL,
  inOneRateLimitWindow,
  items,
  newApiKey,
  post,
  queued,
  type TestKey,
  workerFetch,
} from './support/ingest.ts';
import { storeQueued } from './support/store.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A client of the real ingest Worker: its `fetch` is the Worker's own (each request recorded on
 * its way through), and its waits are recorded instead of slept.
 */
function clientFor(key: TestKey, options: Partial<TriggersClientOptions> = {}) {
  const requests: { path: string; idempotencyKey: string | null; body: string }[] = [];
  const sleeps: number[] = [];
  const client = createClient({
    baseUrl: BASE_URL,
    apiKey: key.key,
    fetch: async (request) => {
      requests.push({
        path: new URL(request.url).pathname,
        idempotencyKey: request.headers.get('idempotency-key'),
        body: await request.clone().text(),
      });
      return workerFetch(request);
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, requests, sleeps };
}

const acceptedId = (result: { status: string; event_id?: string } | undefined) => {
  if (result?.status !== 'accepted' || result.event_id === undefined) throw new Error('expected accepted');
  return result.event_id;
};

describe('client.events.send', () => {
  it('sends an event with a generated idempotency key and resolves once it is queued', async () => {
    const key = await newApiKey();
    const { client, requests } = clientFor(key);
    const sent = await client.events.send({ payload: { via: 'client' } });
    expect(sent.status).toBe('accepted');
    const generated = requests[0]?.idempotencyKey;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.event_id).toBe(await idempotentEventId(key.id, generated as string));
    expect((await queued(sent.event_id)).payload).toEqual({ via: 'client' });
  });

  it('retries a 503 after the Retry-After the API gave, with the same idempotency key', async () => {
    const key = await newApiKey();
    const { client, requests, sleeps } = clientFor(key);
    // The queue cannot be made to fail on demand: its first send is mocked to fail.
    vi.spyOn(env.EVENT_QUEUE, 'send').mockRejectedValueOnce(
      new Error('Queue send failed: Too Many Requests'),
    );
    const sent = await client.events.send({ payload: { n: 1 } }, { idempotencyKey: 'order-42' });
    expect(requests.map((r) => r.idempotencyKey)).toEqual(['order-42', 'order-42']);
    expect(sleeps).toEqual([2_000]);
    expect(sent.event_id).toBe(await idempotentEventId(key.id, 'order-42'));
    expect((await queued(sent.event_id)).payload).toEqual({ n: 1 });
  });

  it('retries a real 429 after its Retry-After and gives up after maxAttempts with RATE_LIMITED', async () => {
    await inOneRateLimitWindow();
    const key = await newApiKey();
    for (let i = 0; i < env.RATE_LIMIT_REQUESTS; i++) await post('/events', key, 'not json');
    const { client, requests, sleeps } = clientFor(key, { retry: { maxAttempts: 3 } });
    const error = await client.events.send({ payload: {} }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TriggersError);
    expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(requests).toHaveLength(3);
    expect(sleeps).toEqual([env.RATE_LIMIT_PERIOD_SECONDS * 1000, env.RATE_LIMIT_PERIOD_SECONDS * 1000]);
  });

  it('does not retry what a retry cannot fix (401), and names the correlation id the API logged it under', async () => {
    const { client, requests, sleeps } = clientFor({ key: 'sk_test_notakeyatall123', id: 'none' });
    const error = await client.events.send({ payload: {} }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect((error as TriggersError).correlationId).toBe(
      (error as TriggersError).envelope?.error.correlation_id,
    );
    expect((error as TriggersError).correlationId).toMatch(/\S/);
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('reads an HTTP-date Retry-After and takes the correlation id from the header when no envelope came', async () => {
    // A proxy in front of the API answering 503 with HTML cannot be produced by the Worker: a
    // fetch stands in for it once, then the real Worker answers.
    const key = await newApiKey();
    const answers = [
      () =>
        new Response('<h1>Service Unavailable</h1>', {
          status: 503,
          headers: {
            'retry-after': new Date(Date.now() + 30_000).toUTCString(),
            'x-correlation-id': 'edge-1',
          },
        }),
    ];
    const { client, sleeps } = clientFor(key, {
      retry: { maxAttempts: 2 },
      fetch: async (request) => answers.shift()?.() ?? workerFetch(request),
    });
    expect((await client.events.send({ payload: {} })).status).toBe('accepted');
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(28_000);
    expect(sleeps[0]).toBeLessThanOrEqual(30_000);

    const gateway = clientFor(key, {
      retry: { maxAttempts: 1 },
      fetch: async () =>
        new Response('bad gateway', { status: 502, headers: { 'x-correlation-id': 'edge-2' } }),
    });
    expect(await gateway.client.events.get(crypto.randomUUID()).catch((err: unknown) => err)).toMatchObject({
      status: 502,
      code: 'UNEXPECTED_RESPONSE',
      correlationId: 'edge-2',
    });
  });
});

describe('client.events.sendBatch', () => {
  it(`splits 250 events into requests of ${MAX_BATCH_EVENTS}, ${MAX_BATCH_EVENTS} and 50, answering in input order`, async () => {
    const key = await newApiKey();
    const { client, requests } = clientFor(key);
    const results = await client.events.sendBatch(items(250));
    expect(requests.map((r) => JSON.parse(r.body).events.length)).toEqual([
      MAX_BATCH_EVENTS,
      MAX_BATCH_EVENTS,
      50,
    ]);
    expect(results.map((r) => [r.index, r.status])).toEqual(items(250).map((_, i) => [i, 'accepted']));
    const sentKeys = requests.flatMap((r) =>
      JSON.parse(r.body).events.map((e: BatchItem) => e.idempotency_key),
    );
    expect(new Set(sentKeys).size).toBe(250);
    expect(acceptedId(results[249])).toBe(await idempotentEventId(key.id, sentKeys[249]));
    expect((await queued(acceptedId(results[249]))).payload).toEqual({ n: 249 });
    // 250 events through the real queue: over 5 s on a loaded two-core machine (it failed so on main).
  }, 30_000);

  it(`splits by bytes so that no request exceeds ${MAX_BATCH_BYTES} bytes`, async () => {
    const key = await newApiKey();
    const { client, requests } = clientFor(key);
    const results = await client.events.sendBatch(
      items(12, () => ({ metadata: { pad: 'x'.repeat(100_000) } })),
    );
    expect(requests.length).toBeGreaterThan(1);
    for (const r of requests)
      expect(new TextEncoder().encode(r.body).byteLength).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
  });

  it('reports rejected events at their index in the input, also from a request where none was valid', async () => {
    const key = await newApiKey();
    const { client } = clientFor(key);
    const events = items(MAX_BATCH_EVENTS + 1) as BatchItem[];
    events[3] = { payload: 'oops' } as unknown as BatchItem;
    events[MAX_BATCH_EVENTS] = { payload: [] } as unknown as BatchItem;
    const results = await client.events.sendBatch(events);
    expect(results[3]).toMatchObject({
      index: 3,
      status: 'rejected',
      error: { issues: [{ path: 'events.3.payload' }] },
    });
    expect(results[MAX_BATCH_EVENTS]).toMatchObject({
      index: MAX_BATCH_EVENTS,
      status: 'rejected',
      error: { code: 'VALIDATION_ERROR', issues: [{ path: `events.${MAX_BATCH_EVENTS}.payload` }] },
    });
    expect(results.filter((r) => r.status === 'accepted')).toHaveLength(MAX_BATCH_EVENTS - 1);
  });

  it('rejects an event too large for any batch request without sending it, and sends the others around it', async () => {
    const key = await newApiKey();
    const { client, requests } = clientFor(key);
    const events = items(3) as BatchItem[];
    events[1] = { payload: { pad: 'x'.repeat(MAX_BATCH_BYTES) } };
    const results = await client.events.sendBatch(events);
    expect(results.map((r) => [r.index, r.status])).toEqual([
      [0, 'accepted'],
      [1, 'rejected'],
      [2, 'accepted'],
    ]);
    expect(results[1]).toMatchObject({
      error: { code: 'PAYLOAD_TOO_LARGE', issues: [{ path: 'events.1' }] },
    });
    expect(requests.map((r) => JSON.parse(r.body).events.length)).toEqual([1, 1]);
  });

  it('retries a batch the queue refused with the same keys, and reports what completed when a later request fails for good', async () => {
    const key = await newApiKey();
    const { client, requests, sleeps } = clientFor(key, { retry: { maxAttempts: 2 } });
    const original = env.EVENT_QUEUE.sendBatch.bind(env.EVENT_QUEUE);
    // The queue cannot be made to fail on demand: the first request's sendBatch fails once (then
    // succeeds on the retry), and every sendBatch of the second request fails.
    vi.spyOn(env.EVENT_QUEUE, 'sendBatch')
      .mockRejectedValueOnce(new Error('Queue sendBatch failed'))
      .mockImplementationOnce(original)
      .mockRejectedValue(new Error('Queue sendBatch failed'));

    const error = await client.events.sendBatch(items(150)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TriggersError);
    expect(error).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(requests.map((r) => JSON.parse(r.body).events.length)).toEqual([100, 100, 50, 50]);
    expect(requests[1]?.body).toBe(requests[0]?.body);
    expect(sleeps).toEqual([2_000, 2_000]);
    const results = (error as TriggersError).results ?? [];
    expect(results.slice(0, 100).every((r) => r?.status === 'accepted')).toBe(true);
    expect(results.slice(100).every((r) => r === undefined)).toBe(true);
    expect(results).toHaveLength(150);
  });
});

describe('client CloudEvents', () => {
  it('sends a CloudEvent in structured mode, the same event_id when resent, and reads it back equal once stored', async () => {
    const key = await newApiKey();
    const { client, requests } = clientFor(key);
    const event = {
      specversion: '1.0' as const,
      id: crypto.randomUUID(),
      source: '/client-test',
      type: 'order.created',
      traceparent: '00-abc-01',
      data: { order: 42 },
    };
    const sent = await client.events.sendCloudEvent(event);
    expect((await client.events.sendCloudEvent(event)).event_id).toBe(sent.event_id);
    expect(requests[0]?.idempotencyKey).toBeNull();

    const message = await queued(sent.event_id);
    await storeQueued(message);
    expect(await client.events.getCloudEvent(sent.event_id)).toEqual(event);
  });

  it('throws NOT_FOUND reading back an event the key does not have', async () => {
    const { client } = clientFor(await newApiKey());
    await expect(client.events.getCloudEvent(crypto.randomUUID())).rejects.toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
    });
  });
});

describe('the client and the route list', () => {
  /** `METHOD /path/:param` of the route `request` matches, as the router picks it (first in ROUTES). */
  function routeOf(request: Request): string {
    const { pathname } = new URL(request.url);
    const route = ROUTES.find(
      (r) =>
        r.method === request.method && new RegExp(`^${r.path.replaceAll(/:\w+/g, '[^/]+')}$`).test(pathname),
    );
    return route === undefined ? `${request.method} ${pathname} (no route)` : `${route.method} ${route.path}`;
  }

  it('reaches every route that takes an API key, and no other', async () => {
    const key = await newApiKey();
    const reached = new Set<string>();
    const client = createClient({
      baseUrl: BASE_URL,
      apiKey: key.key,
      retry: { maxAttempts: 1 },
      fetch: (request) => {
        reached.add(routeOf(request));
        return workerFetch(request);
      },
    });
    const eventId = crypto.randomUUID();
    const subscriptionId = 'sub_000000000000000000000000';
    const cloudEvent = {
      specversion: '1.0' as const,
      id: eventId,
      source: '/client-test',
      type: 'client.test',
    };
    // Most of these are refused (404 for ids the key does not have): only the request matters here.
    const calls = [
      () => client.events.send({ payload: {} }),
      () => client.events.sendBatch([{ payload: {} }]),
      () => client.events.sendCloudEvent(cloudEvent),
      () => client.events.get(eventId),
      () => client.events.getCloudEvent(eventId),
      () => client.inbox.list(),
      () => client.inbox.ack(eventId),
      () => client.inbox.retry(eventId),
      () => client.dlq.replay(),
      () => client.stats.get(),
      () => client.deliveries.list(eventId),
      () => client.deliveries.retry(eventId, 'msg_000000000000000000000000'),
      () => client.subscriptions.create({ url: 'http://127.0.0.1:8788/hook' }),
      () => client.subscriptions.list(),
      () => client.subscriptions.get(subscriptionId),
      () => client.subscriptions.update(subscriptionId, { enabled: true }),
      () => client.subscriptions.rotateSecret(subscriptionId),
      () => client.subscriptions.test({}),
      () => client.subscriptions.testStored(subscriptionId),
      () => client.subscriptions.recover(subscriptionId, { since: '2026-12-01T00:00:00Z' }),
      () => client.subscriptions.delete(subscriptionId),
    ];
    for (const call of calls) await call().catch(() => {});
    const authenticated = ROUTES.filter((route) => route.authenticated).map((r) => `${r.method} ${r.path}`);
    expect([...reached].sort()).toEqual(authenticated.sort());
  });
});
