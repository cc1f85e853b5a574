import { HealthStatus, type StoreHealth } from '@triggers/event-schema';
import { storeSize } from '@triggers/event-store';
import type { IngestRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { type ApiError, serviceUnavailable } from '../lib/errors.ts';
import { eventQueues } from '../lib/event-queues.ts';
import type { RouteSpec } from '../lib/openapi.ts';
import { isOperator } from '../lib/operator.ts';
import { ok } from '../lib/responses.ts';

/**
 * How long an isolate reuses its last health check, success or failure. However often `GET /health`
 * is called (it needs no key), each isolate reads AUTH_KV for it at most once per this period, and
 * D1 (for the operator's view) at most once too.
 */
export const HEALTH_CACHE_MS = 5_000;

type Check<T = true> = { ok: true; value: T } | { ok: false; error: ApiError };

/** One check per isolate: concurrent callers share it, later ones reuse it for {@link HEALTH_CACHE_MS}. */
class CachedCheck<T> {
  #last: { check: Promise<Check<T>>; expiresAt: number } | undefined;

  get(run: () => Promise<Check<T>>): Promise<Check<T>> {
    const now = Date.now();
    if (this.#last === undefined || this.#last.expiresAt <= now)
      this.#last = { check: run(), expiresAt: now + HEALTH_CACHE_MS };
    return this.#last.check;
  }
}

const bindingsCheck = new CachedCheck<true>();
const storeCheck = new CachedCheck<StoreHealth>();

/** Reads a key from `AUTH_KV` to prove the key store answers, and checks the queue bindings. */
async function checkBindings(env: IngestEnv): Promise<Check> {
  try {
    await env.AUTH_KV.get('health:probe');
  } catch (err) {
    return { ok: false, error: serviceUnavailable('The API key store (AUTH_KV) does not answer.', err) };
  }
  try {
    eventQueues(env);
  } catch (err) {
    return {
      ok: false,
      error: serviceUnavailable('The event queue bindings (EVENT_QUEUE_SHARDS) are not configured.', err),
    };
  }
  return { ok: true, value: true };
}

/**
 * Asks D1 for its size (one trivial query) and compares it with `STORE_WARN_BYTES`. What `store`
 * measures: the D1 database `DB`, as before, which now holds only the dead letters (unreadable
 * messages with no trustworthy tenant) and, until the migration drops them, the old shared tables.
 * Tenants' events, subscriptions and deliveries live in their own objects (TENANTS), each with its
 * own size limit; those sizes are the consumer's business (its retention alarm logs each one), and
 * a request never fans out to every tenant to add them up.
 */
async function checkStore(env: IngestEnv): Promise<Check<StoreHealth>> {
  let size: number | null;
  try {
    size = await storeSize(env.DB);
  } catch (err) {
    return { ok: false, error: serviceUnavailable('The event store (DB) does not answer.', err) };
  }
  const warn = Number(env.STORE_WARN_BYTES);
  return {
    ok: true,
    value: { size_bytes: size, warn_bytes: warn, past_warning: size !== null && size >= warn },
  };
}

export const getHealthRoute: RouteSpec = {
  method: 'GET',
  path: '/health',
  operationId: 'getHealth',
  summary: 'Check that the Worker and its bindings answer',
  description:
    'Reads the API key store and checks the queue binding; 503 when either is missing. Answered from a ' +
    'per-isolate cache of 5 s. With the operator token (Authorization: Bearer <OPERATOR_TOKEN>) it also ' +
    'answers `store`: the size in bytes of the shared D1 database (dead letters; tenants’ events live in ' +
    'their own stores), the warning threshold and whether it is past it (503 when D1 does not answer). Any other caller, a tenant’s API key included, gets no more.',
  authenticated: false,
  operator: true,
  response: HealthStatus,
  errors: ['SERVICE_UNAVAILABLE'],
  handler: health,
};

/**
 * Whether the key store answers and the queue binding is configured (a queue cannot
 * be probed without enqueueing a message, so it is not sent one); 503 when a binding does not
 * answer. The answer comes from a per-isolate cache of {@link HEALTH_CACHE_MS}, concurrent calls
 * sharing one check, so the route cannot be used to hammer the key store. It says nothing an
 * outsider should not know: no environment name, no version, no sizes.
 *
 * With `Authorization: Bearer <OPERATOR_TOKEN>` it also answers `store`: D1's size (see
 * {@link checkStore} for what it holds), the warning threshold and whether it is past it (503 when
 * D1 does not answer), from a cache of its own. Any other bearer (a tenant's API key, a wrong token) gets the outsider's answer.
 */
async function health(request: IngestRequest, env: IngestEnv): Promise<Response> {
  const bindings = await bindingsCheck.get(() => checkBindings(env));
  if (!bindings.ok) throw bindings.error;
  const data: HealthStatus['data'] = {
    status: 'ok',
    checks: { auth_kv: 'ok', event_queue: 'configured' },
  };
  if (await isOperator(request, env)) {
    const store = await storeCheck.get(() => checkStore(env));
    if (!store.ok) throw store.error;
    data.store = store.value;
  }
  return ok(data);
}
