import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { CloudEvent, eventIdentity, isRfc3339, isUriReference } from '../src/index.ts';

describe('isRfc3339', () => {
  it.each([
    '2026-12-02T04:19:41.631Z',
    '2026-12-02T10:00:00Z',
    '2026-12-02t10:00:00z',
    '2026-12-02T10:00:00+01:00',
    '2026-12-02T10:00:00.123456789-05:30',
  ])('accepts %s', (text) => expect(isRfc3339(text)).toBe(true));

  it.each([
    '2026-12-02',
    '2026-12-02 10:00:00Z',
    '2026-12-02T10:00:00',
    '2026-02-30T10:00:00Z',
    '2026-12-02T24:00:00Z',
    '2026-12-02T10:00:00+25:00',
  ])('refuses %s', (text) => expect(isRfc3339(text)).toBe(false));
});

describe('isUriReference', () => {
  it.each([
    '/orders',
    'https://shop.example/orders?x=1#f',
    'urn:uuid:6e8bc430',
    'orders',
    'a%20b',
    'mailto:a@b.c',
  ])('accepts %s', (text) => expect(isUriReference(text)).toBe(true));

  it.each(['has space', 'é', '1http://x', 'a%zz', '<x>'])('refuses %s', (text) =>
    expect(isUriReference(text)).toBe(false),
  );
});

describe('eventIdentity', () => {
  it('gives an event without type and source the defaults, and keeps those it has', () => {
    expect(eventIdentity({ api_key_id: 'key_1' })).toEqual({
      type: 'triggers.event',
      source: '/api-keys/key_1',
      subject: null,
    });
    expect(eventIdentity({ api_key_id: 'key_1', type: 't', source: '/s', subject: 'x' })).toEqual({
      type: 't',
      source: '/s',
      subject: 'x',
    });
  });
});

describe('CloudEvent', () => {
  it('reports a missing required attribute at its name as required', () => {
    const result = v.safeParse(CloudEvent, { specversion: '1.0', source: '/s', type: 't' });
    expect(result.issues?.map((issue) => [v.getDotPath(issue), issue.message])).toEqual([
      ['id', 'is required'],
    ]);
  });
});
