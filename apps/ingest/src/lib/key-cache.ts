import type { ApiKeyRecord } from '@triggers/api-keys';

/**
 * How long an isolate reuses what AUTH_KV said about a key. KV itself serves reads from an edge
 * cache for 60 s by default, so a revocation already takes up to a minute to reach every
 * location; 30 s more in-isolate saves a KV round trip on nearly every request of a busy key.
 */
export const KEY_CACHE_TTL_MS = 30_000;

/** Unknown keys are remembered for less time, so a key used moments before it was created soon works. */
export const UNKNOWN_KEY_CACHE_TTL_MS = 5_000;

/** Entries kept at most; unknown keys are cached too, so a flood of random keys must not grow it without bound. */
export const KEY_CACHE_MAX_ENTRIES = 10_000;

interface Entry {
  record: ApiKeyRecord | null;
  expiresAt: number;
}

/** A small TTL cache of key lookups by key hash, oldest entry evicted first. */
export class KeyCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly ttlMs = KEY_CACHE_TTL_MS,
    readonly unknownTtlMs = UNKNOWN_KEY_CACHE_TTL_MS,
    readonly maxEntries = KEY_CACHE_MAX_ENTRIES,
  ) {}

  /** The cached lookup (`null` = known not to exist), or `undefined` when absent or expired. */
  get(hash: string, now = Date.now()): ApiKeyRecord | null | undefined {
    const entry = this.#entries.get(hash);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(hash);
      return undefined;
    }
    return entry.record;
  }

  set(hash: string, record: ApiKeyRecord | null, now = Date.now()): void {
    this.#entries.delete(hash);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(hash, { record, expiresAt: now + (record === null ? this.unknownTtlMs : this.ttlMs) });
  }

  get size(): number {
    return this.#entries.size;
  }
}
