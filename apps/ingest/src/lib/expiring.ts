/**
 * What an isolate remembers for a while and within a bound (API keys it looked up, events budget
 * it bought): a map whose entries expire `ttlMs` after they were set.
 */
interface Entry<T> {
  value: T;
  expiresAt: number;
}

/** A bounded map whose entries expire; the oldest entry is evicted first once it is full. */
export class Expiring<T> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get(key: string, now: number): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > now) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, now: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAt: now + this.ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
