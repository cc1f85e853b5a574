import { env, exports } from 'cloudflare:workers';
import { type ApiKeyMode, createApiKey, idKey, recordKey } from '@triggers/api-keys';
import type { ErrorEnvelope, QueuedEvent } from '@triggers/event-schema';
import { ErrorEnvelope as ErrorEnvelopeSchema } from '@triggers/event-schema';
import * as v from 'valibot';
import { expect, vi } from 'vitest';

export const BASE = 'https://ingest.test';

/** Stores a fresh API key in AUTH_KV the way `pnpm key:create` does, and returns it. */
export async function seedKey(options: { mode?: ApiKeyMode; revoked?: boolean; name?: string } = {}) {
  const created = await createApiKey({ name: options.name ?? 'test key', mode: options.mode ?? 'test' });
  const record = { ...created.record, revoked: options.revoked ?? false };
  await env.AUTH_KV.put(recordKey(created.hash), JSON.stringify(record));
  await env.AUTH_KV.put(idKey(record.id), created.hash);
  return { ...created, record };
}

/** A request to the ingest Worker through its real fetch handler. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/** `POST /events` with a JSON body and the given key. */
export function postEvent(
  key: string,
  body: unknown,
  options: { query?: string; headers?: Record<string, string> } = {},
) {
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

/** What the queue-spy consumer received for `eventId`, waiting for the batch to be delivered. */
export async function receivedFromQueue(
  eventId: string,
  timeoutMs = 5000,
): Promise<{ body: QueuedEvent; attempts: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await env.QUEUE_SPY.get<{ body: QueuedEvent; attempts: number }>(eventId, 'json');
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`event ${eventId} did not come through event-queue within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Counts messages the spy has received so far. */
export async function queuedCount(): Promise<number> {
  return (await env.QUEUE_SPY.list()).keys.length;
}

/** Gives the queue time to deliver anything that was (wrongly) sent, then counts. */
export async function settledQueueCount(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return queuedCount();
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
