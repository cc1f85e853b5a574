/**
 * Rows in the event store for the inbox tests, written through the event store's own writes (the
 * ones the consumer Worker uses) into the test runtime's real local D1.
 */
import { env } from 'cloudflare:workers';
import type { QueuedEvent } from '@triggers/event-schema';
import { commit, getEvent, recordFailed, recordRetry, storeDelivered } from '@triggers/event-store';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { newApiKey, type TestKey } from './ingest.ts';

export type Outcome = 'delivered' | 'pending' | 'failed';

/** When the consumer stored them: before any test ran. */
const STORED_AT = new Date('2026-11-29T12:00:00.000Z');

/**
 * Stores `events` as the consumer would have: `delivered` on their first attempt, `pending`
 * after one failed attempt, `failed` (dead-lettered) after four.
 */
export async function store(outcome: Outcome, events: QueuedEvent[]): Promise<QueuedEvent[]> {
  const write =
    outcome === 'delivered'
      ? storeDelivered(
          env.DB,
          events.map((event) => ({ event, attempts: 1 })),
          STORED_AT,
        )
      : outcome === 'pending'
        ? recordRetry(
            env.DB,
            events.map((event) => ({ event, attempts: 1, error: 'upstream timeout' })),
            STORED_AT,
          )
        : recordFailed(
            env.DB,
            events.map((event) => ({ event, attempts: 4, reason: 'dead on purpose' })),
            STORED_AT,
          );
  await commit(env.DB, [write]);
  return events;
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

/** The row of `event` as the store has it now. */
export const rowOf = (event: QueuedEvent) =>
  getEvent(env.DB, { apiKeyId: event.api_key_id, eventId: event.event_id });

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
