import { env } from 'cloudflare:workers';
import type { ApiKeyRecord } from '@triggers/api-keys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KeyCache } from '../src/lib/key-cache.ts';
import { postEvent, seedKey } from './support/ingest.ts';

const record: ApiKeyRecord = {
  id: 'key_1',
  name: 'k',
  mode: 'test',
  revoked: false,
  created_at: '2026-01-01T00:00:00.000Z',
};

afterEach(() => vi.restoreAllMocks());

describe('KeyCache', () => {
  it('returns a known key until its TTL passes', () => {
    const cache = new KeyCache({ ttlMs: 1_000, unknownTtlMs: 100 });
    cache.set('h', record, 0);
    expect(cache.get('h', 999)).toEqual(record);
    expect(cache.get('h', 1_000)).toBeUndefined();
  });

  it('remembers unknown keys for the shorter TTL', () => {
    const cache = new KeyCache({ ttlMs: 1_000, unknownTtlMs: 100 });
    cache.set('h', null, 0);
    expect(cache.get('h', 99)).toBeNull();
    expect(cache.get('h', 100)).toBeUndefined();
  });

  it('evicts the oldest entry once full', () => {
    const cache = new KeyCache({ maxEntries: 2 });
    cache.set('a', record, 0);
    cache.set('b', record, 0);
    cache.set('c', record, 0);
    expect(cache.size.known).toBe(2);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('c', 1)).toEqual(record);
  });

  it('keeps unknown keys apart, with their own bound, so a flood of them never evicts a known key', () => {
    const cache = new KeyCache({ maxEntries: 2, maxUnknownEntries: 3 });
    cache.set('tenant', record, 0);
    for (let i = 0; i < 10_000; i++) cache.set(`random-${i}`, null, 0);
    expect(cache.size).toEqual({ known: 1, unknown: 3 });
    expect(cache.get('tenant', 1)).toEqual(record);
    expect(cache.get('random-9999', 1)).toBeNull();
    expect(cache.get('random-0', 1)).toBeUndefined();
  });
});

describe('API key lookups on the request path', () => {
  it('read AUTH_KV once for repeated requests with the same key', async () => {
    const { key } = await seedKey();
    const get = vi.spyOn(env.AUTH_KV, 'get'); // watches only
    for (let i = 0; i < 3; i++) expect((await postEvent(key, { payload: { i } })).status).toBe(200);
    expect(get).toHaveBeenCalledTimes(1);
  });
});
