/**
 * The limits by address, by cost and by route (LIMITS in src/lib/rate-limits.ts), against
 * the real local rate limiting bindings. What only production shows: the counters there are per
 * Cloudflare location and eventually consistent, so a client spread over locations, or a burst
 * faster than the counters converge, gets somewhat more than the stated budget; locally one
 * process holds every counter and the limits are exact.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import api from '../../../docs/api.md?raw';
import { EventLeases, LIMITS } from '../src/lib/rate-limits.ts';
import {
  BASE_URL,
  expectError,
  inOneRateLimitWindow,
  items,
  newApiKey,
  post,
  send,
  type TestKey,
  workerFetch,
} from './support/ingest.ts';

afterEach(() => vi.restoreAllMocks());

const fromAddress = (address: string, key: string) =>
  workerFetch(
    new Request(`${BASE_URL}/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'cf-connecting-ip': address,
      },
      body: JSON.stringify({ payload: {} }),
    }),
  );

/** What inOneRateLimitWindow(60) may wait (half a window) before a test's own work starts. */
const WINDOW_WAIT_MS = 30_000;

const unknownKey = () => `sk_test_${crypto.randomUUID().replaceAll('-', '')}`;

async function expectLimited(response: Response, name: keyof typeof LIMITS, period: number) {
  const { error } = await expectError(response, 429, 'RATE_LIMITED');
  expect(error.details).toEqual({ rate_limit: name, retry_after_seconds: period });
  expect(error.message).toContain(name);
  expect(response.headers.get('retry-after')).toBe(String(period));
}

describe('key lookups per client address', () => {
  it('refuses an address that keeps sending unknown keys before AUTH_KV is read, while cached tenants and other addresses go on', async () => {
    const { limit, period } = LIMITS.lookups_per_address;
    const tenant = await newApiKey();
    // The tenant's key is cached by its first request (from another address).
    expect((await fromAddress('203.0.113.9', tenant.key)).status).toBe(200);
    await inOneRateLimitWindow(period);
    const get = vi.spyOn(env.AUTH_KV, 'get'); // watches only
    for (let i = 0; i < limit; i++) expect((await fromAddress('203.0.113.7', unknownKey())).status).toBe(401);
    const lookups = get.mock.calls.length;
    await expectLimited(await fromAddress('203.0.113.7', unknownKey()), 'lookups_per_address', period);
    await expectLimited(await fromAddress('203.0.113.7', unknownKey()), 'lookups_per_address', period);
    expect(get.mock.calls.length).toBeLessThanOrEqual(lookups + 1);

    expect((await fromAddress('203.0.113.7', tenant.key)).status).toBe(200);
    expect((await fromAddress('203.0.113.8', unknownKey())).status).toBe(401);
  }, 30_000);
});

describe('events per key', () => {
  it('charges a single event to the request budget only (one limiter call) and a batch to the events budget, buying 100 events a call and spending what the isolate bought first', async () => {
    const key = await newApiKey();
    // The first request caches the key; a lookup is charged to the address only when uncached.
    expect((await post('/events', key, { payload: {} })).status).toBe(200);
    const requests = vi.spyOn(env.RATE_LIMITER, 'limit'); // watches only
    const events = vi.spyOn(env.EVENT_LIMITER, 'limit');
    const lookups = vi.spyOn(env.ADDRESS_LIMITER, 'limit');
    const calls = () => [requests, events, lookups].map((spy) => spy.mock.calls.length);

    expect((await post('/events', key, { payload: { single: true } })).status).toBe(200);
    expect(calls()).toEqual([1, 0, 0]);

    // 25 events buy one unit of 100; the next 75 spend the rest of it without a call.
    expect((await post('/events/batch', key, { events: items(25) })).status).toBe(200);
    expect(calls()).toEqual([2, 1, 0]);
    expect((await post('/events/batch', key, { events: items(75) })).status).toBe(200);
    expect(calls()).toEqual([3, 1, 0]);
    // 1 buys a unit (99 left); 100 spend those 99 and buy one more unit for the last event.
    expect((await post('/events/batch', key, { events: items(1) })).status).toBe(200);
    expect((await post('/events/batch', key, { events: items(100) })).status).toBe(200);
    expect(calls()).toEqual([5, 3, 0]);
    expect(events.mock.calls.every(([options]) => options.key === key.id)).toBe(true);

    // What one key bought is its own: another key's first batch buys for itself.
    const other = await newApiKey();
    expect((await post('/events/batch', other, { events: items(1) })).status).toBe(200);
    expect(events.mock.calls.at(-1)?.[0].key).toBe(other.id);
  });

  it(
    'counts a batch of 100 as 100 events, refuses the batch past the budget whole, leaves other keys alone, and still takes single events',
    async () => {
      // The test runtime's EVENT_LIMITER takes 12 calls of 100 events per 60 s (vitest.config.ts).
      await inOneRateLimitWindow(60);
      const key = await newApiKey();
      const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch'); // watches only
      for (let i = 0; i < 12; i++)
        expect((await post('/events/batch', key, { events: items(100) })).status).toBe(200);
      const calls = sendBatch.mock.calls.length;
      await expectLimited(
        await post('/events/batch', key, { events: items(100) }),
        'events_per_key',
        LIMITS.events_per_key.period,
      );
      expect(sendBatch.mock.calls.length).toBe(calls);
      // A single event spends only the request budget (docs/api.md, "Rate limits").
      expect((await post('/events', key, { payload: {} })).status).toBe(200);

      const other = await newApiKey();
      expect((await post('/events/batch', other, { events: items(100) })).status).toBe(200);
    },
    WINDOW_WAIT_MS + 30_000,
  );

  it(
    'keeps what a refused batch took from the events bought, so a smaller batch can still spend them',
    async () => {
      await inOneRateLimitWindow(60);
      const key = await newApiKey();
      // 11 full units, then 50 events that buy the 12th and last call of the window: 50 left.
      for (let i = 0; i < 11; i++)
        expect((await post('/events/batch', key, { events: items(100) })).status).toBe(200);
      expect((await post('/events/batch', key, { events: items(50) })).status).toBe(200);
      // 100 take the 50 left and need one more unit, which the limiter refuses: nothing is queued
      // and the 50 go back.
      const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch'); // watches only
      await expectLimited(
        await post('/events/batch', key, { events: items(100) }),
        'events_per_key',
        LIMITS.events_per_key.period,
      );
      expect(sendBatch).not.toHaveBeenCalled();
      const events = vi.spyOn(env.EVENT_LIMITER, 'limit'); // watches only
      expect((await post('/events/batch', key, { events: items(50) })).status).toBe(200);
      expect(events).not.toHaveBeenCalled();
      await expectLimited(
        await post('/events/batch', key, { events: items(1) }),
        'events_per_key',
        LIMITS.events_per_key.period,
      );
    },
    WINDOW_WAIT_MS + 30_000,
  );
});

describe('the events an isolate bought', () => {
  it('lasts the period from the last purchase, then is dropped', () => {
    const leases = new EventLeases(100, 10_000, 10);
    leases.bought('key_a', 1, 30, 0);
    expect(leases.take('key_a', 50, 9_999)).toBe(50);
    expect(leases.take('key_a', 50, 10_000)).toBe(0);
    // A purchase carries what is left into a new period.
    leases.bought('key_b', 1, 90, 0);
    leases.bought('key_b', 1, 5, 9_000);
    expect(leases.take('key_b', 1_000, 18_999)).toBe(105);
  });

  it('keeps at most its bound of keys, dropping the one that bought longest ago', () => {
    const leases = new EventLeases(100, 10_000, 2);
    leases.bought('key_a', 1, 0, 0);
    leases.bought('key_b', 1, 0, 1);
    leases.bought('key_c', 1, 0, 2);
    expect(['key_a', 'key_b', 'key_c'].map((key) => leases.take(key, 100, 3))).toEqual([0, 100, 100]);
  });

  it('buys whole units for what the events taken leave short', () => {
    const leases = new EventLeases(100, 10_000, 10);
    expect([
      leases.unitsFor(1, 0),
      leases.unitsFor(100, 0),
      leases.unitsFor(101, 0),
      leases.unitsFor(100, 99),
    ]).toEqual([1, 1, 2, 1]);
  });
});

describe('budgets of expensive routes', () => {
  async function exhaust(key: TestKey, path: string, method: 'GET' | 'POST', count: number) {
    for (let i = 0; i < count; i++)
      expect((await send(method, path, key)).status, `${method} ${path} #${i}`).toBe(200);
  }

  it(
    'refuses GET /inbox pages past their own budget, while the key can still send events',
    async () => {
      // The test runtime's INBOX_LIMITER takes 20 pages per 60 s (vitest.config.ts).
      await inOneRateLimitWindow(60);
      const key = await newApiKey();
      await exhaust(key, '/inbox', 'GET', 20);
      await expectLimited(
        await send('GET', '/inbox', key),
        'inbox_pages_per_key',
        LIMITS.inbox_pages_per_key.period,
      );
      // The subscription tester reads a page of events too: the same budget.
      await expectLimited(
        await post('/subscriptions/test', key, {}),
        'inbox_pages_per_key',
        LIMITS.inbox_pages_per_key.period,
      );
      expect((await post('/events', key, { payload: {} })).status).toBe(200);
    },
    WINDOW_WAIT_MS + 30_000,
  );

  it('refuses replays past their budget, retries of one event included', async () => {
    const { limit, period } = LIMITS.replays_per_key;
    await inOneRateLimitWindow(period);
    const key = await newApiKey();
    await exhaust(key, '/dlq/replay', 'POST', limit);
    await expectLimited(await send('POST', '/dlq/replay', key), 'replays_per_key', period);
    await expectLimited(
      await send('POST', `/inbox/${crypto.randomUUID()}/retry`, key),
      'replays_per_key',
      period,
    );
    await expectLimited(
      await post(`/subscriptions/sub_${'0'.repeat(24)}/recover`, key, { since: '2026-12-01T00:00:00Z' }),
      'replays_per_key',
      period,
    );
    expect((await send('GET', '/inbox', key)).status).toBe(200);
  }, 80_000);
});

describe('LIMITS restates wrangler.toml and docs/api.md restates LIMITS', () => {
  it('every environment binds each limit with the size and period LIMITS states', () => {
    const environments = Object.entries(env.WRANGLER_RATELIMITS);
    expect(environments.map(([name]) => name).sort()).toEqual(['staging', 'top level']);
    for (const [name, bindings] of environments) {
      for (const [limitName, spec] of Object.entries(LIMITS)) {
        const binding = bindings.find((b) => b.name === spec.binding);
        expect(binding, `${name}: ${spec.binding}`).toBeDefined();
        if (!('limit' in spec)) continue;
        expect(
          { limit: binding?.simple.limit, period: binding?.simple.period },
          `${name}: ${limitName}`,
        ).toEqual({
          limit: spec.limit / spec.unit,
          period: spec.period,
        });
      }
    }
  });

  it('docs/api.md has a row per limit, with its scope, size and period', () => {
    const start = api.indexOf('<!-- docs-tables: rate-limits.');
    expect(start).toBeGreaterThan(-1);
    const lines = api.slice(start).split('\n');
    const first = lines.findIndex((line) => line.startsWith('|'));
    const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
    const rows = lines.slice(first + 2, end).map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.replaceAll('`', '').trim()),
    );
    const documented = Object.fromEntries(rows.map(([name, per, _counts, size]) => [name, { per, size }]));
    // The per-key request limit is stated from vars; its size is the top level's binding.
    const requests = env.WRANGLER_RATELIMITS['top level']?.find((b) => b.name === 'RATE_LIMITER')?.simple;
    const size = (limit = 0, period = 0) => `${limit.toLocaleString('en-US')} per ${period} s`;
    const expected = Object.fromEntries(
      Object.entries(LIMITS).map(([name, spec]) => [
        name,
        {
          per: spec.per,
          size: 'limit' in spec ? size(spec.limit, spec.period) : size(requests?.limit, requests?.period),
        },
      ]),
    );
    expect(documented).toEqual(expected);
  });
});
