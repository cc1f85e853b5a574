import type { ApiKeyRecord } from '@triggers/api-keys';
import { Expiring } from './expiring.ts';

/**
 * How long an isolate reuses what AUTH_KV said about a key. KV itself serves reads from an edge
 * cache for 60 s by default, so a revocation already takes up to a minute to reach every
 * location; 30 s more in-isolate saves a KV round trip on nearly every request of a busy key.
 */
export const KEY_CACHE_TTL_MS = 30_000;

/** Unknown keys are remembered for less time, so a key used moments before it was created soon works. */
export const UNKNOWN_KEY_CACHE_TTL_MS = 5_000;

/** Known keys kept at most: real tenants of this isolate. */
export const KEY_CACHE_MAX_ENTRIES = 10_000;

/**
 * Unknown keys kept at most, in their own map: a flood of random keys churns only this one and
 * can never evict a real tenant's cached key (which would send its every request to AUTH_KV).
 */
export const UNKNOWN_KEY_CACHE_MAX_ENTRIES = 1_000;

export interface KeyCacheOptions {
  ttlMs?: number;
  unknownTtlMs?: number;
  maxEntries?: number;
  maxUnknownEntries?: number;
}

/** Key lookups by key hash: known keys and unknown ones in two bounded TTL maps. */
export class KeyCache {
  readonly #known: Expiring<ApiKeyRecord>;
  readonly #unknown: Expiring<null>;

  constructor({
    ttlMs = KEY_CACHE_TTL_MS,
    unknownTtlMs = UNKNOWN_KEY_CACHE_TTL_MS,
    maxEntries = KEY_CACHE_MAX_ENTRIES,
    maxUnknownEntries = UNKNOWN_KEY_CACHE_MAX_ENTRIES,
  }: KeyCacheOptions = {}) {
    this.#known = new Expiring(ttlMs, maxEntries);
    this.#unknown = new Expiring(unknownTtlMs, maxUnknownEntries);
  }

  /** The cached lookup (`null` = known not to exist), or `undefined` when absent or expired. */
  get(hash: string, now = Date.now()): ApiKeyRecord | null | undefined {
    return this.#known.get(hash, now) ?? this.#unknown.get(hash, now);
  }

  set(hash: string, record: ApiKeyRecord | null, now = Date.now()): void {
    if (record === null) {
      this.#known.delete(hash);
      this.#unknown.set(hash, null, now);
    } else {
      this.#unknown.delete(hash);
      this.#known.set(hash, record, now);
    }
  }

  /** Entries held: known keys, unknown ones. */
  get size(): { known: number; unknown: number } {
    return { known: this.#known.size, unknown: this.#unknown.size };
  }
}
