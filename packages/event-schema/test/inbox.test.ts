import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REPLAY_LIMIT, EventId, MAX_INBOX_LIMIT, ReplayRequest, TimeBound } from '../src/index.ts';

const messages = (schema: v.GenericSchema, input: unknown) =>
  v.safeParse(schema, input).issues?.map((issue) => `${v.getDotPath(issue) ?? ''} ${issue.message}`.trim());

describe('TimeBound', () => {
  it('normalizes any offset, precision or a bare date to the store’s fixed-width UTC form', () => {
    expect(v.parse(TimeBound, '2026-11-29T11:00:00+01:00')).toBe('2026-11-29T10:00:00.000Z');
    expect(v.parse(TimeBound, '2026-11-29T10:00Z')).toBe('2026-11-29T10:00:00.000Z');
    expect(v.parse(TimeBound, '2026-11-29T10:00:00.123456789Z')).toBe('2026-11-29T10:00:00.123Z');
    expect(v.parse(TimeBound, '2026-11-29')).toBe('2026-11-29T00:00:00.000Z');
  });

  it('refuses a time without a zone, a day that does not exist, and what is not a timestamp', () => {
    for (const bad of [
      '2026-11-29T10:00:00',
      '2026-02-30',
      '2026-11-29T25:00:00Z',
      'yesterday',
      '1764410000',
    ]) {
      expect(v.is(TimeBound, bad), bad).toBe(false);
    }
    expect(messages(TimeBound, 5)).toEqual(['must be an ISO-8601 timestamp']);
  });
});

describe('EventId', () => {
  it('accepts a UUID in either case and answers it in lower case', () => {
    expect(v.parse(EventId, '3B241101-E2BB-4255-8CAF-4136C566A962')).toBe(
      '3b241101-e2bb-4255-8caf-4136c566a962',
    );
    expect(messages(EventId, 'not-a-uuid')).toEqual(['must be a UUID']);
  });
});

describe('ReplayRequest', () => {
  it('defaults the limit and leaves the range open', () => {
    expect(v.parse(ReplayRequest, {})).toEqual({ limit: DEFAULT_REPLAY_LIMIT });
  });

  it('names each bad field, unknown ones included', () => {
    expect(messages(ReplayRequest, { limit: MAX_INBOX_LIMIT + 1, to: 'soon', status: 'failed' })).toEqual([
      'to must be an ISO-8601 timestamp with Z or an offset (2026-11-29T10:00:00Z), or a date',
      `limit must be at most ${MAX_INBOX_LIMIT}`,
      'status is not a recognised field',
    ]);
  });
});
