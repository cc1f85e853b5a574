import { describeError, type Logger } from '@triggers/log';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { ApiError } from './errors.ts';
import { Expiring } from './expiring.ts';

/**
 * Every rate limit of the API, by the name a 429 gives it (`details.rate_limit`): who it counts
 * (`per`), what it counts, and the Workers rate limiting binding that enforces it. `limit` and
 * `period` restate the binding's `simple = { limit, period }` in wrangler.toml, scaled by
 * `unit` where one binding call stands for several events; a test checks that every environment
 * of wrangler.toml agrees, and docs/api.md's limits table restates this one (a test checks that
 * too). `requests_per_key` is stated from the RATE_LIMIT_* vars instead, as before.
 *
 * Each binding answers only yes or no: it does not say how much budget is left or when its
 * window rolls over. A 429 therefore says which limit, its size and policy, and `Retry-After` set
 * to the whole period, the longest a client can need to wait. Counters are per Cloudflare location
 * and eventually consistent; locally one process holds them all.
 */
export const LIMITS = {
  requests_per_key: {
    binding: 'RATE_LIMITER',
    per: 'API key',
    counts: 'requests to authenticated routes, charged before the body is read',
  },
  lookups_per_address: {
    binding: 'ADDRESS_LIMITER',
    per: 'client address',
    counts: 'API key lookups the isolate has not cached (new, unknown or wrong keys), before AUTH_KV is read',
    limit: 100,
    period: 10,
    unit: 1,
  },
  events_per_key: {
    binding: 'EVENT_LIMITER',
    per: 'API key',
    counts: 'events sent in batches: a batch of 100 is 100, bought by each isolate in units of 100',
    limit: 50_000,
    period: 10,
    unit: 100,
  },
  inbox_pages_per_key: {
    binding: 'INBOX_LIMITER',
    per: 'API key',
    counts: 'GET /inbox pages and POST /subscriptions/test and /subscriptions/{subscription_id}/test calls',
    limit: 100,
    period: 10,
    unit: 1,
  },
  replays_per_key: {
    binding: 'REPLAY_LIMITER',
    per: 'API key',
    counts:
      'POST /dlq/replay, POST /inbox/{event_id}/retry, POST /events/{event_id}/deliveries/{delivery_id}/retry ' +
      'and POST /subscriptions/{subscription_id}/recover calls',
    limit: 60,
    period: 60,
    unit: 1,
  },
} as const;

export type LimitName = keyof typeof LIMITS;
/** The limits whose size is stated here (not from vars). */
export type FixedLimit = Exclude<LimitName, 'requests_per_key'>;
/** The limits a route can spend besides the per-key request budget. */
export type RouteBudget = 'inbox_pages_per_key' | 'replays_per_key';

/** 429 `RATE_LIMITED`, naming the limit and when to retry. */
function rateLimited(name: LimitName, limit: number, period: number, what: string): ApiError {
  return new ApiError(
    'RATE_LIMITED',
    `Rate limit ${name}: ${what} may be at most ${limit} per ${period} seconds. Retry after ${period} seconds.`,
    {
      details: { rate_limit: name, retry_after_seconds: period },
      headers: {
        'retry-after': String(period),
        'ratelimit-limit': String(limit),
        'ratelimit-remaining': '0',
        'ratelimit-policy': `${limit};w=${period}`,
      },
    },
  );
}

/**
 * Makes `calls` calls of the limit's binding for `key` (one per unit: the binding counts calls,
 * and the local runtime refuses the `limit()` options that would weigh one call more). `true`
 * unless one was refused. If the binding itself fails, the request is let through and the
 * failure logged: an outage of the limiter must not stop the API.
 */
async function withinLimit(env: IngestEnv, log: Logger, name: LimitName, key: string, calls = 1) {
  const binding = env[LIMITS[name].binding];
  try {
    const results = await Promise.all(Array.from({ length: calls }, () => binding.limit({ key })));
    return results.every((result) => result.success);
  } catch (err) {
    log.log('warn', 'rate limiter failed; request let through', {
      rate_limit: name,
      error: describeError(err),
    });
    return true;
  }
}

/** Charges `units` of a fixed limit to `key`, or throws its 429. */
export async function charge(
  env: IngestEnv,
  log: Logger,
  name: FixedLimit,
  key: string,
  units = 1,
): Promise<void> {
  if (await withinLimit(env, log, name, key, units)) return;
  const { limit, period, counts } = LIMITS[name];
  throw rateLimited(name, limit, period, `${counts}, per ${LIMITS[name].per}`);
}

/**
 * Charges the request to its API key's budget of `RATE_LIMIT_REQUESTS` requests per
 * `RATE_LIMIT_PERIOD_SECONDS` (the `RATE_LIMITER` binding), or refuses it with 429. Each key has
 * its own counter, so one key's flood never slows another.
 */
export async function chargeRequest(request: AuthedRequest, env: IngestEnv): Promise<void> {
  if (await withinLimit(env, request.log, 'requests_per_key', request.apiKey.id)) return;
  const limit = env.RATE_LIMIT_REQUESTS;
  const period = env.RATE_LIMIT_PERIOD_SECONDS;
  throw rateLimited('requests_per_key', limit, period, 'requests per API key');
}

/** Keys an isolate holds bought events for at most; the key that bought longest ago goes first. */
export const EVENT_LEASE_MAX_KEYS = 10_000;

/**
 * The events budget an isolate has bought and not yet spent, by key. The binding counts calls, so
 * each call buys {@link LIMITS}.events_per_key.unit events at once: a batch spends what its key
 * has left here and buys only what it lacks, in whole units. A batch of 100 makes one call; ten
 * batches of 10 in one isolate make one between them. What is bought lasts the limit's period
 * from the last purchase, then is dropped: at most one unit less one event per key and isolate
 * goes unspent in a period, or is spent just after it. A ledger of numbers, changed only between
 * awaits: no request waits on another's call.
 */
export class EventLeases {
  readonly #left: Expiring<{ events: number }>;

  constructor(
    readonly unit: number = LIMITS.events_per_key.unit,
    periodMs: number = LIMITS.events_per_key.period * 1000,
    maxKeys: number = EVENT_LEASE_MAX_KEYS,
  ) {
    this.#left = new Expiring(periodMs, maxKeys);
  }

  /** Takes up to `count` bought events of `key`; answers how many it took. */
  take(key: string, count: number, now: number): number {
    const lease = this.#left.get(key, now);
    if (lease === undefined) return 0;
    const taken = Math.min(lease.events, count);
    lease.events -= taken;
    return taken;
  }

  /** Gives back events taken for a request that was refused, while they last. */
  giveBack(key: string, events: number, now: number): void {
    const lease = this.#left.get(key, now);
    if (lease !== undefined) lease.events += events;
  }

  /** Records `units` bought for `key` of which `spent` events were spent at once. */
  bought(key: string, units: number, spent: number, now: number): void {
    const left = (this.#left.get(key, now)?.events ?? 0) + units * this.unit - spent;
    this.#left.set(key, { events: left }, now);
  }

  /** Binding calls to buy what `count` events lack once `left` are taken. */
  unitsFor(count: number, left: number): number {
    return Math.ceil((count - left) / this.unit);
  }
}

/** This isolate's bought events budget. */
export const eventLeases = new EventLeases();

/**
 * Charges the `count` events of a batch to the key's events budget, spending first what this
 * isolate has bought for the key ({@link EventLeases}) and buying the rest, one binding call per
 * started unit. Called once the events are validated and before any is queued; a refused batch
 * spends nothing it took from the isolate's lease. A single event (`POST /events`) is not charged
 * here: the request budget it has already spent bounds single events far below this one, so it
 * makes one limiter call, not two (docs/api.md, "Rate limits", says how far that lets a key go).
 */
export async function chargeEvents(
  request: AuthedRequest,
  env: IngestEnv,
  count: number,
  leases: EventLeases = eventLeases,
): Promise<void> {
  const key = request.apiKey.id;
  const taken = leases.take(key, count, Date.now());
  if (taken === count) return;
  const units = leases.unitsFor(count, taken);
  try {
    await charge(env, request.log, 'events_per_key', key, units);
  } catch (err) {
    leases.giveBack(key, taken, Date.now());
    throw err;
  }
  leases.bought(key, units, count - taken, Date.now());
}
