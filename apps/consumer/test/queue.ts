import { env, exports } from 'cloudflare:workers';
import type { QueuedEvent } from '@triggers/event-schema';
import { type StoredEvent, tenantStore } from '@triggers/event-store';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { vi } from 'vitest';

/** What the queue learns from a handler: what it acked and what it must redeliver, and when. */
export interface QueueResult {
  outcome: string;
  ackAll: boolean;
  retryBatch: { retry: boolean; delaySeconds?: number };
  explicitAcks: string[];
  retryMessages: { msgId: string; delaySeconds?: number }[];
}

/** A message as a queue hands it over (not a webhook delivery: see docs/webhooks.md for those). */
export interface QueueMessage {
  id: string;
  body: unknown;
  attempts: number;
}

/** `exports.default` with the `queue()` that `service_binding_extra_handlers` adds. */
interface QueueInvoker {
  queue(queue: string, messages: (QueueMessage & { timestamp: Date })[]): Promise<QueueResult>;
}

function canQueue(fetcher: object): fetcher is QueueInvoker {
  return typeof (fetcher as Partial<QueueInvoker>).queue === 'function';
}

/**
 * Delivers `messages` to the Worker's real queue handler the way the queue does, and answers
 * the acks and retries (with their delays) it made.
 */
export async function deliver(queue: string, messages: QueueMessage[]): Promise<QueueResult> {
  const worker = exports.default;
  if (!canQueue(worker))
    throw new Error('exports.default.queue needs the service_binding_extra_handlers flag');
  return worker.queue(
    queue,
    messages.map((m) => ({ ...m, timestamp: new Date('2026-11-29T10:00:00.000Z') })),
  );
}

/** A message of `body`, with a fresh id, on its first attempt unless told otherwise. */
export const message = (body: unknown, attempts = 1): QueueMessage => ({
  id: crypto.randomUUID(),
  body,
  attempts,
});

/** Seen in every payload and metadata: it must never appear in a log line. */
export const PAYLOAD_SECRET = 'payload-secret-do-not-log';

/** A valid event (see `queuedEvent`) whose payload and metadata carry {@link PAYLOAD_SECRET}. */
export const event = (fields: Partial<QueuedEvent> = {}): QueuedEvent =>
  queuedEvent({ payload: { secret: PAYLOAD_SECRET, n: 1 }, metadata: { source: PAYLOAD_SECRET }, ...fields });

/** The store of `apiKeyId`: how tests read and seed a tenant's data, as the Workers do. */
export const storeOf = (apiKeyId: string) => tenantStore(env.TENANTS, apiKeyId);

/** The stub of `apiKeyId`'s store object, for `runInDurableObject` and `runDurableObjectAlarm`. */
export const stubOf = (apiKeyId: string) => env.TENANTS.get(env.TENANTS.idFromName(apiKeyId));

/** The stored row of `e` in its tenant's store, or null. */
export const row = (e: QueuedEvent): Promise<StoredEvent | null> =>
  storeOf(e.api_key_id).getEvent({ apiKeyId: e.api_key_id, eventId: e.event_id });

/**
 * Makes the store of `apiKeyId` fail: `env.TENANTS.get` throws for that tenant's object, and only
 * for it, until `vi.restoreAllMocks()`. A mock: a local Durable Object cannot be made to fail on
 * demand. The Worker sees it (it runs on this same `env`), so `deliver()` goes through it.
 */
export function failStoreOf(apiKeyId: string): void {
  const broken = env.TENANTS.idFromName(apiKeyId);
  const get = env.TENANTS.get.bind(env.TENANTS);
  vi.spyOn(env.TENANTS, 'get').mockImplementation((id, options) => {
    if (id.equals(broken)) throw new Error('tenant store unavailable (test)');
    return get(id, options);
  });
}

/** Waits until `e`'s row exists and satisfies `check` (a dead letter travels through event-dlq first). */
export async function rowWhen(e: QueuedEvent, check: (r: StoredEvent) => boolean): Promise<StoredEvent> {
  return vi.waitFor(
    async () => {
      const found = await row(e);
      if (found === null || !check(found)) throw new Error(`row of ${e.event_id} not there yet`);
      return found;
    },
    { timeout: 5_000, interval: 50 },
  );
}
