import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from '../src/index.ts';

const now = Date.parse('2026-12-02T00:00:00Z');

describe('retryAfterSeconds', () => {
  it('reads delay-seconds as they are, surrounding spaces allowed, with no ceiling of its own', () => {
    expect(retryAfterSeconds('30', now)).toBe(30);
    expect(retryAfterSeconds(' 0 ', now)).toBe(0);
    expect(retryAfterSeconds('999999', now)).toBe(999_999);
  });

  it('reads each of the three HTTP date forms as the whole seconds until that date', () => {
    expect(retryAfterSeconds('Wed, 02 Dec 2026 00:01:00 GMT', now)).toBe(60);
    expect(retryAfterSeconds('Wednesday, 02-Dec-26 00:01:00 GMT', now)).toBe(60);
  });

  it('reads an asctime date (which names no zone) as GMT, also on a machine in another zone', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      expect(new Date(now).getHours()).not.toBe(0);
      expect(retryAfterSeconds('Wed Dec  2 00:01:00 2026', now)).toBe(60);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('rounds a date part-way through a second up, and answers 0 for a date already past', () => {
    expect(retryAfterSeconds('Wed, 02 Dec 2026 00:00:30 GMT', now + 100)).toBe(30);
    expect(retryAfterSeconds('Tue, 01 Dec 2026 23:00:00 GMT', now)).toBe(0);
  });

  it('gives undefined for an absent header and for values that are neither form', () => {
    expect(retryAfterSeconds(null, now)).toBeUndefined();
    for (const value of ['', 'soon', '-1', '1.5', '+5', '2026-12-02T00:01:00Z', 'Wed, 99 Foo 2026 GMT']) {
      expect(retryAfterSeconds(value, now), value).toBeUndefined();
    }
  });
});
