import { describe, expect, it } from 'vitest';
import { DEFAULT_REQUEST_RETRY, requestRetryDelayMs, retryAfterMs } from '../src/request-retry.ts';

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates through the shared parser, in milliseconds', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(retryAfterMs(' 60 ', now)).toBe(60_000);
    expect(retryAfterMs('Sun, 29 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Sun, 29 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('-1', now)).toBeUndefined();
  });
});

describe('requestRetryDelayMs', () => {
  it('waits what Retry-After asks, capped at maxDelayMs', () => {
    expect(requestRetryDelayMs(DEFAULT_REQUEST_RETRY, 1, 2000)).toBe(2000);
    expect(requestRetryDelayMs({ ...DEFAULT_REQUEST_RETRY, maxDelayMs: 5000 }, 1, 60_000)).toBe(5000);
  });

  it('backs off exponentially with jitter between half and all of the step when there is no Retry-After', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3].map((n) => requestRetryDelayMs(policy, n, undefined, () => 0))).toEqual([50, 100, 200]);
    expect([1, 2, 3].map((n) => requestRetryDelayMs(policy, n, undefined, () => 1))).toEqual([100, 200, 400]);
    expect(requestRetryDelayMs(policy, 10, undefined, () => 1)).toBe(1000);
  });
});
