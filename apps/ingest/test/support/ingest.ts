/**
 * Helpers for tests that drive the real ingest Worker in workerd: API keys in the real AUTH_KV,
 * requests through the Worker's own `fetch`, and what crossed the real local queue (QUEUE_SPY).
 */

import { env, exports } from 'cloudflare:workers';
import { type ApiKeyMode, createApiKey, recordKey } from '@triggers/api-keys';
import type { QueuedEvent } from '@triggers/event-schema';
import { vi } from 'vitest';

export const BASE_URL = 'https://ingest.test';

export interface TestKey {
  key: string;
  id: string;
}

/** A new API key, stored in AUTH_KV. Each test takes its own, so each has its own rate-limit budget. */
export async function newApiKey(mode: ApiKeyMode = 'test'): Promise<TestKey> {
  const { key, hash, record } = await createApiKey({ name: 'test', mode });
  await env.AUTH_KV.put(recordKey(hash), JSON.stringify(record));
  return { key, id: record.id };
}

/** The Worker's `fetch`, as a client's `fetch`. */
export const workerFetch = (request: Request): Promise<Response> => exports.default.fetch(request);

/** POSTs `body` (serialized when it is not bytes or a stream) as JSON, with `key`. */
export function post(
  path: string,
  key: TestKey,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const raw = body instanceof Uint8Array || body instanceof ReadableStream ? body : JSON.stringify(body);
  return workerFetch(
    new Request(`${BASE_URL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json', ...headers },
      body: raw,
      ...(raw instanceof ReadableStream ? { duplex: 'half' } : {}),
    }),
  );
}

/** A request with `key` and no body: a GET, or a POST that takes none. */
export function send(method: 'GET' | 'POST', path: string, key: TestKey): Promise<Response> {
  return workerFetch(
    new Request(`${BASE_URL}${path}`, { method, headers: { authorization: `Bearer ${key.key}` } }),
  );
}

/** The message the real queue delivered for `eventId`, as the queue-spy consumer recorded it. */
export function queued(eventId: string): Promise<QueuedEvent> {
  return vi.waitFor(
    async () => {
      const seen = await env.QUEUE_SPY.get<{ body: QueuedEvent }>(eventId, 'json');
      if (seen === null) throw new Error(`event ${eventId} has not come through the queue`);
      return seen.body;
    },
    { timeout: 5_000, interval: 20 },
  );
}

/** `n` small valid batch items, numbered in their payload. */
export function items(n: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  return Array.from({ length: n }, (_, i) => ({ payload: { n: i }, ...extra(i) }));
}

/**
 * The local rate limiter counts in windows aligned to the clock, every `period` seconds. A test
 * that needs its requests in one window waits for a fresh one when the current one is ending.
 */
export async function inOneRateLimitWindow(): Promise<void> {
  const period = env.RATE_LIMIT_PERIOD_SECONDS * 1000;
  const left = period - (Date.now() % period);
  if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}
