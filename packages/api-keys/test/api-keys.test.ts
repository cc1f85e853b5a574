import { describe, expect, it } from 'vitest';
import { createApiKey, hashApiKey, idKey, parseApiKey, recordKey } from '../src/index.ts';

describe('API keys', () => {
  it('reads the mode of a well-formed key and nothing from anything else', () => {
    expect(parseApiKey('sk_test_abc123xyz789')).toBe('test');
    expect(parseApiKey('sk_live_ABCdef12')).toBe('live');
    expect(parseApiKey('sk_live_short')).toBeUndefined();
    expect(parseApiKey('sk_prod_abc123xyz789')).toBeUndefined();
    expect(parseApiKey('sk_test_abc-123xyz789')).toBeUndefined();
  });

  it('stores a key only as the lowercase hex SHA-256 of it', async () => {
    const hash = await hashApiKey('sk_test_abc123xyz789');
    expect(hash).toBe('3d107f88eadee030b9b0d254174ad1dc4aea9c16dc304d44edfab2d7f669bc4e');
    expect(recordKey(hash)).toBe(`key:${hash}`);
    expect(idKey('key_1')).toBe('key-id:key_1');
  });

  it('creates a key of the requested mode whose record carries no secret', async () => {
    const { key, hash, record } = await createApiKey({ name: 'billing', mode: 'live' });
    expect(parseApiKey(key)).toBe('live');
    expect(hash).toBe(await hashApiKey(key));
    expect(record).toMatchObject({ name: 'billing', mode: 'live', revoked: false });
    expect(JSON.stringify(record)).not.toContain(key);
  });

  it('refuses to register a given key whose mode does not match', async () => {
    await expect(createApiKey({ name: 'x', mode: 'live', key: 'sk_test_abc123xyz789' })).rejects.toThrow();
  });
});
