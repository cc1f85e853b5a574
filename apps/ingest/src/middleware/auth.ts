import { ApiKeyRecord, hashApiKey, parseApiKey, recordKey } from '@triggers/api-keys';
import * as v from 'valibot';
import type { IngestRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { bearerToken } from '../lib/bearer.ts';
import { ApiError, serviceUnavailable } from '../lib/errors.ts';
import { KeyCache } from '../lib/key-cache.ts';
import { chargeLookup } from './rate-limit.ts';

/** Lookups this isolate has made recently; see KEY_CACHE_TTL_MS for the revocation delay. */
const keyCache = new KeyCache();

// One answer for a missing, malformed, unknown or revoked key, so the response never tells an
// attacker which of those it was.
const unauthorized = () =>
  new ApiError('UNAUTHORIZED', 'A valid API key is required: send "Authorization: Bearer <key>".', {
    headers: { 'www-authenticate': 'Bearer' },
  });

/**
 * Looks a key up by its hash, cached per isolate; `null` when the store has no such key. A lookup
 * that would reach AUTH_KV is first charged to the client's address (429 past its limit).
 */
async function findKey(request: IngestRequest, env: IngestEnv, key: string): Promise<ApiKeyRecord | null> {
  const hash = await hashApiKey(key);
  const cached = keyCache.get(hash);
  if (cached !== undefined) return cached;
  await chargeLookup(request, env);
  let raw: unknown;
  try {
    raw = await env.AUTH_KV.get(recordKey(hash), 'json');
  } catch (err) {
    throw serviceUnavailable('API keys cannot be checked right now. Retry later.', err);
  }
  // A record we cannot read is our fault, not the client's: let it surface as a 500 (uncached).
  const record = raw === null ? null : v.parse(ApiKeyRecord, raw);
  keyCache.set(hash, record);
  return record;
}

/**
 * Authenticates `Authorization: Bearer sk_<mode>_…` against `AUTH_KV`. The key's declared mode
 * must match the stored one, and revoked keys are refused.
 */
export async function withApiKey(request: IngestRequest, env: IngestEnv): Promise<void> {
  const key = bearerToken(request.headers.get('authorization'));
  const mode = key === undefined ? undefined : parseApiKey(key);
  if (key === undefined || mode === undefined) throw unauthorized();
  const record = await findKey(request, env, key);
  if (record === null || record.revoked || record.mode !== mode) throw unauthorized();
  request.apiKey = record;
  request.log = request.log.with({ api_key_id: record.id });
}
