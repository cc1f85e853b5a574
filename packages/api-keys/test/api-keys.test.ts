import { describe, expect, it } from 'vitest';
import { createApiKey, hashApiKey, idKey, parseApiKey, recordKey } from '../src/index.ts';

describe('parseApiKey', () => {
  it.each([
    ['sk_test_abc123xyz789', 'test'],
    ['sk_live_ABCdef12', 'live'],
  ])('reads the mode of %s', (key, mode) => {
    expect(parseApiKey(key)).toBe(mode);
  });

  it.each([
    '',
    'sk_test_',
    'sk_test_short',
    'sk_prod_abc123xyz789',
    'sk_test_abc-123xyz789',
    ' sk_test_abc123xyz789',
    `sk_test_${'a'.repeat(129)}`,
  ])('refuses %j', (key) => {
    expect(parseApiKey(key)).toBeUndefined();
  });
});

describe('hashApiKey', () => {
  it('is the lowercase hex SHA-256 of the key', async () => {
    // echo -n sk_test_abc123xyz789 | sha256sum
    expect(await hashApiKey('sk_test_abc123xyz789')).toBe(
      '3d107f88eadee030b9b0d254174ad1dc4aea9c16dc304d44edfab2d7f669bc4e',
    );
  });
});

describe('createApiKey', () => {
  it('makes a random key of the requested mode whose record never contains the key', async () => {
    const { key, hash, record } = await createApiKey({ name: 'billing', mode: 'live' });
    expect(parseApiKey(key)).toBe('live');
    expect(hash).toBe(await hashApiKey(key));
    expect(JSON.stringify(record)).not.toContain(key);
    expect(record).toMatchObject({ name: 'billing', mode: 'live', revoked: false });
    expect(record.id).toMatch(/^key_[A-Za-z0-9]{16}$/);
  });

  it('makes a different key and id every time', async () => {
    const a = await createApiKey({ name: 'a', mode: 'test' });
    const b = await createApiKey({ name: 'b', mode: 'test' });
    expect(a.key).not.toBe(b.key);
    expect(a.record.id).not.toBe(b.record.id);
  });

  it('registers a given key under a given id (local seeding)', async () => {
    const { key, record } = await createApiKey({
      name: 'seed',
      mode: 'test',
      key: 'sk_test_abc123xyz789',
      id: 'key_local',
    });
    expect(key).toBe('sk_test_abc123xyz789');
    expect(record.id).toBe('key_local');
  });

  it('refuses a given key whose prefix does not match the mode', async () => {
    await expect(createApiKey({ name: 'x', mode: 'live', key: 'sk_test_abc123xyz789' })).rejects.toThrow();
  });

  it("refuses a given id that could name another tenant's store (an @, a space) or is empty", async () => {
    for (const id of ['key_a@2026-12-05T12:00:00.000Z', 'key a', '']) {
      await expect(createApiKey({ name: 'x', mode: 'test', id })).rejects.toThrow(/a key id holds/);
    }
  });

  it('names the store keys by hash and by id', () => {
    expect(recordKey('ab')).toBe('key:ab');
    expect(idKey('key_1')).toBe('key-id:key_1');
  });
});
