import type { HealthStatus } from '@triggers/event-schema';
import type { IngestEnv } from '../env.ts';
import { type ApiError, serviceUnavailable } from '../lib/errors.ts';
import { ok } from '../lib/responses.ts';

/**
 * How long an isolate reuses its last health check, success or failure. However often `GET /health`
 * is called (it needs no key), each isolate reads AUTH_KV for it at most once per this period.
 */
export const HEALTH_CACHE_MS = 5_000;

type Check = { ok: true } | { ok: false; error: ApiError };

let last: { check: Promise<Check>; expiresAt: number } | undefined;

/** Reads a key from `AUTH_KV` to prove the key store answers, and checks the queue binding. */
async function check(env: IngestEnv): Promise<Check> {
  try {
    await env.AUTH_KV.get('health:probe');
  } catch (err) {
    return { ok: false, error: serviceUnavailable('The API key store (AUTH_KV) does not answer.', err) };
  }
  if (typeof env.EVENT_QUEUE?.send !== 'function') {
    return {
      ok: false,
      error: serviceUnavailable('The event queue binding (EVENT_QUEUE) is not configured.'),
    };
  }
  return { ok: true };
}

/**
 * `GET /health`: whether the key store answers and the queue binding is configured (a queue cannot
 * be probed without enqueueing a message, so it is not sent one); 503 when a binding does not
 * answer. The answer comes from a per-isolate cache of {@link HEALTH_CACHE_MS}, concurrent calls
 * sharing one check, so the route cannot be used to hammer the key store. It says nothing an
 * outsider should not know: no environment name, no version, no sizes.
 */
export async function health(_request: unknown, env: IngestEnv): Promise<Response> {
  const now = Date.now();
  if (last === undefined || last.expiresAt <= now)
    last = { check: check(env), expiresAt: now + HEALTH_CACHE_MS };
  const result = await last.check;
  if (!result.ok) throw result.error;
  return ok<HealthStatus['data']>({ status: 'ok', checks: { auth_kv: 'ok', event_queue: 'configured' } });
}
