import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { ApiError } from './errors.ts';
import { keyStore } from './stored-events.ts';

/**
 * Room left in the tenant's store: new events are refused (507 `STORE_FULL`) once the key's
 * Durable Object holds `STORE_FULL_BYTES`, so that nothing is accepted that the store could no
 * longer keep. Past the platform's 10 GB an object's writes fail, and events accepted then would be
 * retried, dead-lettered and in the end dropped: an answer now is better than a loss later
 * (docs/scaling.md#capacity-as-built).
 *
 * The size is the object's own (`databaseSize`, which falls as soon as retention drops a day),
 * asked of the tenant's store receiving events now (its newest era that has started, event-store
 * eras.ts), never of a global table. Each isolate keeps what it learned for
 * {@link STORE_SIZE_TTL_MS}: a tenant's first send in an isolate waits for that call (and, once in
 * two hours, one to its head for its list of eras),
 * a stale size is used once more while it is asked again in the background. So a store that
 * crosses the threshold is refused within about a minute per isolate, and the margin to 10 GB
 * (1 GB by default) holds the events accepted meanwhile: at one object's write rate, minutes of
 * them.
 */

/** How long an isolate uses a store size before asking the store again. */
export const STORE_SIZE_TTL_MS = 60_000;

/** Tenants whose size an isolate keeps at most; the one learned longest ago goes first. */
export const STORE_SIZE_MAX_ENTRIES = 10_000;

interface Known {
  bytes: number;
  askedAt: number;
}

/** Store sizes by tenant, as this isolate last learned them. */
export class StoreSizes {
  readonly #known = new Map<string, Known>();
  /**
   * Tenants whose size is being asked again in the background, so that an isolate refreshes a
   * store once at a time. A flag, not the promise: a request never awaits another request's I/O
   * (the runtime ties each to its own request), so concurrent first sends each ask for themselves.
   */
  readonly #refreshing = new Set<string>();

  constructor(
    readonly ttlMs = STORE_SIZE_TTL_MS,
    readonly maxEntries = STORE_SIZE_MAX_ENTRIES,
  ) {}

  /**
   * The size of `tenant`'s store: asked with `ask` when unknown (awaited), or when older than the
   * TTL (in the background, through `waitUntil`, answering the size known until then). `null`
   * when the store could not say: the caller decides without it.
   */
  async bytes(
    tenant: string,
    ask: () => Promise<number>,
    waitUntil: (promise: Promise<unknown>) => void,
    now = Date.now(),
  ): Promise<number | null> {
    const known = this.#known.get(tenant);
    if (known === undefined) return this.#ask(tenant, ask, now);
    if (now - known.askedAt >= this.ttlMs && !this.#refreshing.has(tenant)) {
      this.#refreshing.add(tenant);
      waitUntil(this.#ask(tenant, ask, now).finally(() => this.#refreshing.delete(tenant)));
    }
    return known.bytes;
  }

  async #ask(tenant: string, ask: () => Promise<number>, now: number): Promise<number | null> {
    let bytes: number;
    try {
      bytes = await ask();
    } catch {
      // Not known now: the next send asks again (an unknown tenant) or uses the old size.
      return null;
    }
    this.#known.delete(tenant);
    if (this.#known.size >= this.maxEntries) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
    this.#known.set(tenant, { bytes, askedAt: now });
    return bytes;
  }

  /** Tenants held. */
  get size(): number {
    return this.#known.size;
  }
}

const sizes = new StoreSizes();

/**
 * Throws 507 `STORE_FULL` when the key's store holds `STORE_FULL_BYTES` or more. A store that
 * does not answer refuses nothing: the event is queued and waits for it like any other
 * (`SERVICE_UNAVAILABLE` is for what the request itself needs).
 */
export async function refuseIfStoreFull(
  request: AuthedRequest,
  env: IngestEnv,
  ctx: ExecutionContext,
): Promise<void> {
  // The store's handle is made only when it is asked: most sends answer from memory.
  const bytes = await sizes.bytes(
    request.apiKey.id,
    () => keyStore(request, env).size(),
    (promise) => ctx.waitUntil(promise),
  );
  if (bytes === null) {
    request.log.log('warn', 'store size unknown', { limit: 'STORE_FULL_BYTES' });
    return;
  }
  if (bytes < Number(env.STORE_FULL_BYTES)) return;
  throw new ApiError(
    'STORE_FULL',
    "This API key's event store is full: new events are refused until retention makes room. " +
      'Nothing was accepted. Acknowledge the events you have handled, or ask the operator.',
  );
}
