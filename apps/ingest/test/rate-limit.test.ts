import { env } from 'cloudflare:workers';
import type { ErrorEnvelope } from '@triggers/event-schema';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { inOneRateLimitWindow, items, newApiKey, post } from './support/ingest.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

// Each test may first wait for a fresh rate-limit window (up to half a period).
describe('rate limit per API key', { timeout: 120_000 }, () => {
  it('answers 429 RATE_LIMITED with Retry-After and RateLimit headers once a key has used its requests, and another key is unaffected', async () => {
    await inOneRateLimitWindow();
    const limit = env.RATE_LIMIT_REQUESTS;
    const period = env.RATE_LIMIT_PERIOD_SECONDS;
    const flooder = await newApiKey();
    const bystander = await newApiKey();
    const send = vi.spyOn(env.EVENT_QUEUE, 'send');

    for (let i = 0; i < limit; i++) {
      expect((await post('/events', flooder, { payload: { i } })).status).toBe(200);
    }
    const refused = await post('/events', flooder, { payload: { i: limit } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe(String(period));
    expect(refused.headers.get('ratelimit-limit')).toBe(String(limit));
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('ratelimit-policy')).toBe(`${limit};w=${period}`);
    const { error } = (await refused.json()) as ErrorEnvelope;
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.message).toContain(`at most ${limit} per ${period} seconds`);
    expect(error.details).toEqual({ rate_limit: 'requests_per_key', retry_after_seconds: period });
    expect(send).toHaveBeenCalledTimes(limit);

    // The same budget covers the batch route, where a batch counts once.
    expect((await post('/events/batch', flooder, { events: items(1) })).status).toBe(429);
    expect((await post('/events', bystander, { payload: { ok: true } })).status).toBe(200);
    expect((await post('/events/batch', bystander, { events: items(100) })).status).toBe(200);
  });

  it('charges a request before reading its body, so malformed requests count and a refused body is never examined', async () => {
    await inOneRateLimitWindow();
    const key = await newApiKey();
    for (let i = 0; i < env.RATE_LIMIT_REQUESTS; i++) {
      expect((await post('/events', key, 'not json')).status).toBe(400);
    }
    // A text/plain body would get 415 if it were looked at.
    const refused = await post('/events', key, 'hello', { 'content-type': 'text/plain' });
    expect(refused.status).toBe(429);
  });

  it('lets requests through when the rate limiter itself fails', async () => {
    const key = await newApiKey();
    // The binding cannot be made to fail on demand: its failure is mocked.
    vi.spyOn(env.RATE_LIMITER, 'limit').mockRejectedValue(new Error('rate limiter unavailable'));
    const res = await post('/events', key, { payload: { during: 'limiter outage' } });
    expect(res.status).toBe(200);
  });
});
