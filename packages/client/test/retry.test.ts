import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, parseRetryAfter, retryDelay } from '../src/retry.ts';

describe('parseRetryAfter', () => {
  it('reads delay-seconds as milliseconds', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(' 60 ')).toBe(60_000);
  });

  it('reads an HTTP date as the time left until it, never negative', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('gives undefined for an absent or unreadable value', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
  });
});

describe('retryDelay', () => {
  it('waits what Retry-After asks, capped at maxDelayMs', () => {
    expect(retryDelay(DEFAULT_RETRY, 1, 2000)).toBe(2000);
    expect(retryDelay({ ...DEFAULT_RETRY, maxDelayMs: 5000 }, 1, 60_000)).toBe(5000);
  });

  it('backs off exponentially with jitter between half and all of the step when there is no Retry-After', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3].map((n) => retryDelay(policy, n, undefined, () => 0))).toEqual([50, 100, 200]);
    expect([1, 2, 3].map((n) => retryDelay(policy, n, undefined, () => 1))).toEqual([100, 200, 400]);
    expect(retryDelay(policy, 10, undefined, () => 1)).toBe(1000);
  });
});
