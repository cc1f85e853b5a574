/**
 * Rows in the tenant stores for the inbox tests, written through the operation the consumer Worker
 * uses (`writeEvents`), each tenant's events into that tenant's own object (TENANTS, hosted in the
 * test runtime by test/worker.ts), and read back the same way.
 */
import { env } from 'cloudflare:workers';
import type { QueuedEvent } from '@triggers/event-schema';
import {
  type EventWrites,
  type TenantStore,
  type TenantStoreHandle,
  tenantStore,
} from '@triggers/event-store';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { vi } from 'vitest';
import { newApiKey, type TestKey } from './ingest.ts';

export type Outcome = 'delivered' | 'pending' | 'failed';

/** When the consumer stored them: before any test ran. */
const STORED_AT = new Date('2026-11-29T12:00:00.000Z');

/** The store of the tenant (API key) `apiKeyId`, as the Workers reach it. */
export const storeOf = (apiKeyId: string): TenantStoreHandle => tenantStore(env.TENANTS, apiKeyId);

/** What the consumer writes for `events` stored with `outcome`. */
function writesOf(outcome: Outcome, events: QueuedEvent[]): EventWrites {
  if (outcome === 'delivered') return { delivered: events.map((event) => ({ event, attempts: 1 })) };
  if (outcome === 'pending') {
    return { retry: events.map((event) => ({ event, attempts: 1, error: 'upstream timeout' })) };
  }
  return { failed: events.map((event) => ({ event, attempts: 4, reason: 'dead on purpose' })) };
}

/**
 * Stores `events` as the consumer would have, each into its own tenant's store: `delivered` on
 * their first attempt, `pending` after one failed attempt, `failed` (dead-lettered) after four.
 */
export async function store(outcome: Outcome, events: QueuedEvent[]): Promise<QueuedEvent[]> {
  const byTenant = new Map<string, QueuedEvent[]>();
  for (const event of events) {
    byTenant.set(event.api_key_id, [...(byTenant.get(event.api_key_id) ?? []), event]);
  }
  for (const [apiKeyId, own] of byTenant) {
    await storeOf(apiKeyId).writeEvents(writesOf(outcome, own), STORED_AT);
  }
  return events;
}

/**
 * Stores what the queue carried as the consumer does, now: delivered on its first attempt, into
 * its tenant's store. Answers the ids each kind of write changed (a duplicate changes none).
 */
export const storeQueued = (message: QueuedEvent) =>
  storeOf(message.api_key_id).writeEvents({ delivered: [{ event: message, attempts: 1 }] }, new Date());

/**
 * Makes every tenant store fail as an unreachable or overloaded object does: each call through a
 * stub rejects. Mocked, because a local Durable Object cannot be made to fail on demand; restored
 * by `vi.restoreAllMocks()`.
 */
export function storesDown(message = 'Durable Object is overloaded. Requests queued for too long.') {
  const fail = () => Promise.reject(new Error(message));
  const stub = { run: fail, size: fail, erase: fail } as unknown as DurableObjectStub<TenantStore>;
  return vi.spyOn(env.TENANTS, 'get').mockReturnValue(stub);
}

/** `n` events of `apiKeyId` received one second apart, oldest first, ending a minute ago. */
export function receivedInOrder(
  apiKeyId: string,
  n: number,
  fields: Partial<QueuedEvent> = {},
): QueuedEvent[] {
  const end = Date.now() - 60_000;
  return Array.from({ length: n }, (_, i) =>
    queuedEvent({
      api_key_id: apiKeyId,
      timestamp: new Date(end - (n - 1 - i) * 1000).toISOString(),
      ...fields,
    }),
  );
}

/** The row of `event` as its tenant's store has it now. */
export const rowOf = (event: QueuedEvent) =>
  storeOf(event.api_key_id).getEvent({ apiKeyId: event.api_key_id, eventId: event.event_id });

/** {@link store} for one new event of `apiKeyId` (see `queuedEvent` for `fields`), answered back. */
export async function storeOne(
  outcome: Outcome,
  apiKeyId: string,
  fields: Partial<QueuedEvent> = {},
): Promise<QueuedEvent> {
  const event = queuedEvent({ api_key_id: apiKeyId, ...fields });
  await store(outcome, [event]);
  return event;
}

/** A new API key and one event of it in each status. */
export interface Tenant {
  key: TestKey;
  delivered: QueuedEvent;
  pending: QueuedEvent;
  failed: QueuedEvent;
}

/** A new API key with one event stored in each status: delivered, pending, failed. */
export async function tenantWithEachStatus(): Promise<Tenant> {
  const key = await newApiKey();
  const delivered = await storeOne('delivered', key.id);
  const pending = await storeOne('pending', key.id);
  const failed = await storeOne('failed', key.id);
  return { key, delivered, pending, failed };
}

/** `n` events as a tuple type, for destructuring what {@link receivedInOrder} answers. */
export type Events<N extends number, R extends QueuedEvent[] = []> = R['length'] extends N
  ? R
  : Events<N, [QueuedEvent, ...R]>;
