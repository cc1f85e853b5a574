/**
 * What the tests of a tenant's eras (src/eras.ts) share: a tenant of their own, an era's start,
 * events, a subscription and a failed attempt, and reads of one store object's own SQLite.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { MAX_SUBSCRIPTIONS_PER_KEY, type QueuedEvent } from '@triggers/event-schema';
import { type TenantStore, tenantStore } from '../src/index.ts';

/** A tenant of its own per test: the handle caches each tenant's eras for the isolate. */
export const tenant = () => `key_era_${crypto.randomUUID().slice(0, 8)}`;
/** An era's start in these tests. */
export const START = '2026-12-05T12:00:00.000Z';
export const NOW = new Date('2026-12-06T10:00:00.000Z');

export const event = (
  apiKeyId: string,
  id: string,
  receivedAt: string,
  payload: unknown = { id },
): QueuedEvent => ({
  event_id: id,
  api_key_id: apiKeyId,
  payload: payload as QueuedEvent['payload'],
  timestamp: receivedAt,
  correlation_id: `cor_${id}`,
});

export const delivered = (...events: QueuedEvent[]) => ({
  delivered: events.map((e) => ({ event: e, attempts: 1 })),
});

/** The rows of `query` in the object named `name`, read from its own SQLite. */
export const sql = <T extends Record<string, SqlStorageValue>>(name: string, query: string) =>
  runInDurableObject(env.TENANTS.get(env.TENANTS.idFromName(name)), (_: TenantStore, state) =>
    state.storage.sql
      .exec<T>(query)
      .toArray()
      .map((r) => ({ ...r })),
  );

/** The event ids the object `name` holds. */
export const heldBy = async (name: string): Promise<string[]> =>
  (await sql<{ event_id: string }>(name, 'SELECT event_id FROM events ORDER BY event_id')).map(
    (r) => r.event_id,
  );

/** The subscriptions the object `name` holds (the head's, or an era's copy). */
export const subscriptionsOf = (name: string) =>
  sql<{ id: string; enabled: number }>(name, 'SELECT id, enabled FROM subscriptions ORDER BY id');

/** Subscribes `key` to every event, through its handle (written in its head). */
export const subscribe = (key: string, id: string) =>
  tenantStore(env.TENANTS, key).createSubscription(
    {
      apiKeyId: key,
      id,
      url: 'https://hooks.example.com/',
      eventTypes: null,
      secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
    },
    NOW,
    MAX_SUBSCRIPTIONS_PER_KEY,
  );

/** The last attempt of a delivery to `sub_1`, failed: it disables the subscription (disableAfter 1). */
export const failedAttempt = (key: string, deliveryId: string) => ({
  apiKeyId: key,
  deliveryId,
  subscriptionId: 'sub_1',
  round: 1,
  attempt: 1,
  attemptedAt: NOW,
  httpStatus: 500,
  error: null,
  latencyMs: 5,
  responseExcerpt: null,
  status: 'failed' as const,
  nextAttemptAt: null,
  disableAfter: 1,
});

/** Which attempt of a delivery `deliveryEnded` asks about: the first, as {@link failedAttempt} made it. */
export const firstAttempt = (key: string, deliveryId: string) => ({
  apiKeyId: key,
  deliveryId,
  round: 1,
  attempt: 1,
});

/**
 * A tenant subscribed (`sub_1`) with an era from {@link START}, its event `id` received at
 * `receivedAt` stored and fanned out: its handle and the delivery's first attempt message.
 */
export async function fannedOut(id: string, receivedAt: string) {
  const key = tenant();
  const store = tenantStore(env.TENANTS, key);
  await subscribe(key, 'sub_1');
  await store.openEra(START);
  await store.writeEvents(delivered(event(key, id, receivedAt)), NOW);
  const [message] = await store.fanOut(key, [id], NOW);
  if (message === undefined) throw new Error('no delivery');
  return { key, store, message };
}
