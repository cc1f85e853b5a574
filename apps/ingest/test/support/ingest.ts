/**
 * Helpers for tests that drive the real ingest Worker in workerd: API keys in the real AUTH_KV,
 * requests through the Worker's own `fetch`, and what crossed the real local queue (QUEUE_SPY).
 */

import { env, exports } from 'cloudflare:workers';
import { type ApiKeyMode, createApiKey, idKey, recordKey } from '@triggers/api-keys';
import type { ErrorEnvelope, QueuedEvent } from '@triggers/event-schema';
import { ErrorEnvelope as ErrorEnvelopeSchema } from '@triggers/event-schema';
import * as v from 'valibot';
import { expect, vi } from 'vitest';
import { HEALTH_CACHE_MS } from '../../src/routes/health.ts';

export const BASE_URL = 'https://ingest.test';

export interface TestKey {
  key: string;
  id: string;
}

/** Stores a fresh API key in AUTH_KV the way `pnpm key:create` does, and returns it with its record. */
export async function seedKey(options: { mode?: ApiKeyMode; revoked?: boolean; name?: string } = {}) {
  const created = await createApiKey({ name: options.name ?? 'test key', mode: options.mode ?? 'test' });
  const record = { ...created.record, revoked: options.revoked ?? false };
  await env.AUTH_KV.put(recordKey(created.hash), JSON.stringify(record));
  await env.AUTH_KV.put(idKey(record.id), created.hash);
  return { ...created, record };
}

/** A new API key, stored in AUTH_KV. Each test takes its own, so each has its own rate-limit budget. */
export async function newApiKey(mode: ApiKeyMode = 'test'): Promise<TestKey> {
  const { key, record } = await seedKey({ mode });
  return { key, id: record.id };
}

/**
 * The Worker's `fetch`, as a client's `fetch`. Each request comes from an address of its own
 * (`CF-Connecting-IP`, as Cloudflare's edge sets it) unless it names one, so that only the tests
 * of the per-address limit ever share one.
 */
export function workerFetch(request: Request): Promise<Response> {
  if (!request.headers.has('cf-connecting-ip')) {
    request = new Request(request);
    request.headers.set('cf-connecting-ip', `test-${crypto.randomUUID()}`);
  }
  return exports.default.fetch(request);
}

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

/**
 * What the queue-spy consumer (vitest.config.ts) received for one event: the event, the message
 * that carried it (its queue, id, attempts, and how many events it packed: 1 when bare), and how
 * many copies of the event came through the queues.
 */
export interface Received {
  body: QueuedEvent;
  queue: string;
  attempts: number;
  message_id: string;
  packed: number;
  copies: number;
}

/** What the queue-spy consumer received for `eventId`, waiting for the batch to be delivered. */
export function receivedFromQueue(eventId: string, timeoutMs = 20_000): Promise<Received> {
  return vi.waitFor(
    async () => {
      const seen = await env.QUEUE_SPY.get<Received>(eventId, 'json');
      if (seen === null) throw new Error(`event ${eventId} has not come through the queue`);
      return seen;
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/** The message the real queue delivered for `eventId`. */
export const queued = async (eventId: string): Promise<QueuedEvent> =>
  (await receivedFromQueue(eventId)).body;

/** A request to the ingest Worker through its real fetch handler. */
export const call = (path: string, init: RequestInit = {}): Promise<Response> =>
  workerFetch(new Request(`${BASE_URL}${path}`, init));

/** `POST /events` with `body` as given (a string goes out verbatim) and the key as a bearer token. */
export function postEvent(
  key: string,
  body: unknown,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return call(`/events${options.query ?? ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Asserts `response` is the error envelope with `status` and `code`, and returns its body. */
export async function expectError(response: Response, status: number, code: string): Promise<ErrorEnvelope> {
  const body = await response.json();
  expect({ status: response.status, code: (body as ErrorEnvelope).error?.code }).toEqual({ status, code });
  const parsed = v.parse(ErrorEnvelopeSchema, body);
  expect(parsed.error.correlation_id).toBe(response.headers.get('x-correlation-id'));
  return parsed;
}

/** Collects every structured log line written while `fn` runs. */
export async function captureLogs<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; lines: Record<string, unknown>[]; raw: string[] }> {
  const raw: string[] = [];
  const spies = (['log', 'warn', 'error'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      raw.push(args.map(String).join(' '));
    }),
  );
  try {
    const result = await fn();
    return { result, raw, lines: raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** `n` small valid batch items, numbered in their payload. */
export function items(n: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  return Array.from({ length: n }, (_, i) => ({ payload: { n: i }, ...extra(i) }));
}

/**
 * The local rate limiter counts in windows aligned to the clock, every `period` seconds. A test
 * that needs its requests in one window waits for a fresh one unless half of the current one is
 * left (a loaded 2-core machine can take tens of seconds for a hundred requests).
 */
export async function inOneRateLimitWindow(
  periodSeconds: number = env.RATE_LIMIT_PERIOD_SECONDS,
): Promise<void> {
  const period = periodSeconds * 1000;
  const left = period - (Date.now() % period);
  if (left < period / 2) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

/**
 * Moves the clock (`Date` only) further past the `/health` caches than any earlier call did, so
 * the next `/health` checks the bindings again; the real clock, restored after each test with
 * `vi.useRealTimers()`, lags behind.
 */
let healthSkew = 0;
export function pastHealthCache(): void {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'] });
  healthSkew += 2 * (HEALTH_CACHE_MS + 1);
  vi.setSystemTime(now + healthSkew);
}
