import { env } from 'cloudflare:workers';
import { hashApiKey, recordKey } from '@triggers/api-keys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, expectError, postEvent, seedKey } from './support/ingest.ts';

const body = { payload: { hello: 'world' } };

afterEach(() => vi.restoreAllMocks());

describe('API key authentication', () => {
  it('accepts a stored, unrevoked key', async () => {
    const { key } = await seedKey();
    expect((await postEvent(key, body)).status).toBe(200);
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty Authorization header', ''],
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['Bearer without a token', 'Bearer '],
    ['a token without the sk_ prefix', 'Bearer abc123xyz789abc'],
    ['an unknown mode', 'Bearer sk_prod_abc123xyz789'],
    ['a secret that is too short', 'Bearer sk_test_abc'],
    ['a secret with forbidden characters', 'Bearer sk_test_abc123-xyz789'],
    ['a well-formed key that was never issued', 'Bearer sk_test_neverissued12345'],
  ])('answers 401 with the same message for %s', async (_case, header) => {
    const response = await call('/events', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(header === undefined ? {} : { authorization: header }),
      },
      body: JSON.stringify(body),
    });
    const error = await expectError(response, 401, 'UNAUTHORIZED');
    expect(error.error.message).toBe('A valid API key is required: send "Authorization: Bearer <key>".');
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers 401 for a revoked key, indistinguishable from an unknown one', async () => {
    const { key } = await seedKey({ revoked: true });
    const revoked = await expectError(await postEvent(key, body), 401, 'UNAUTHORIZED');
    const unknown = await expectError(await postEvent('sk_test_neverissued12345', body), 401, 'UNAUTHORIZED');
    expect(revoked.error.message).toBe(unknown.error.message);
  });

  it('answers 401 when the key prefix does not match the stored mode', async () => {
    const { hash, record } = await seedKey({ mode: 'live' });
    // Store the live record under the hash of a test-prefixed key.
    const forged = 'sk_test_forgedkey123456';
    await env.AUTH_KV.put(recordKey(await hashApiKey(forged)), JSON.stringify(record));
    expect(hash).not.toBe(await hashApiKey(forged));
    await expectError(await postEvent(forged, body), 401, 'UNAUTHORIZED');
  });

  it('accepts the scheme name in any case', async () => {
    const { key } = await seedKey();
    expect((await postEvent(key, body, { headers: { authorization: `bearer ${key}` } })).status).toBe(200);
  });

  it('stores keys only by SHA-256 hash, never in plaintext', async () => {
    const { key, hash } = await seedKey();
    const { keys } = await env.AUTH_KV.list();
    const stored = await Promise.all(keys.map(async ({ name }) => `${name}=${await env.AUTH_KV.get(name)}`));
    expect(stored.some((entry) => entry.includes(key))).toBe(false);
    expect(await env.AUTH_KV.get(recordKey(hash))).not.toBeNull();
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers 503 with Retry-After when the key store is down', async () => {
    // Mocked: a local KV namespace cannot be made to fail on demand.
    vi.spyOn(env.AUTH_KV, 'get').mockRejectedValue(new Error('KV unavailable'));
    const response = await postEvent('sk_test_abc123xyz789', body);
    await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('answers a bare 500 without internals when a stored key record is corrupt', async () => {
    const key = 'sk_test_corruptrecord123';
    await env.AUTH_KV.put(recordKey(await hashApiKey(key)), JSON.stringify({ id: 42, mode: 'sideways' }));
    const response = await postEvent(key, body);
    const error = await expectError(response, 500, 'INTERNAL_ERROR');
    const text = JSON.stringify(error);
    expect(text).not.toMatch(/ValiError|stack|at |sideways|Invalid type/);
  });
});
