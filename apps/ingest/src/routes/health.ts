import type { HealthStatus } from '@triggers/event-schema';
import type { IngestEnv } from '../env.ts';
import { serviceUnavailable } from '../lib/errors.ts';
import { ok } from '../lib/responses.ts';

/**
 * `GET /health`: reads a key from `AUTH_KV` to prove the key store answers, and checks the queue
 * binding is configured. A queue cannot be probed without enqueueing a message, so it is not sent
 * one. 503 when a binding does not answer.
 */
export async function health(_request: unknown, env: IngestEnv): Promise<Response> {
  try {
    await env.AUTH_KV.get('health:probe');
  } catch (err) {
    throw serviceUnavailable('The API key store (AUTH_KV) does not answer.', err);
  }
  if (typeof env.EVENT_QUEUE?.send !== 'function') {
    throw serviceUnavailable('The event queue binding (EVENT_QUEUE) is not configured.');
  }
  return ok<HealthStatus['data']>({
    status: 'ok',
    environment: env.ENVIRONMENT,
    checks: { auth_kv: 'ok', event_queue: 'configured' },
  });
}
