import {
  type ErrorCode,
  EVENT_QUEUE_CONSUMER,
  type EventStatus,
  type InboxEvent,
} from '@triggers/event-schema';
import { type StoredEvent, type TenantStoreHandle, tenantStore } from '@triggers/event-store';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { ApiError, serviceUnavailable } from './errors.ts';
import { EVENT_ID, readParameter } from './parameters.ts';

/**
 * What the routes that read or change stored events share: the authenticated key's store, reading
 * the `{event_id}` of their paths, the 503 around every call to the event store, the API's view of
 * a stored event, and the 404 and 409 answers about one event.
 */

/**
 * The store of the key that authenticated `request`: its own Durable Object (TENANTS), the only
 * tenant store a request ever reaches. Every route reads and changes tenant data through it.
 */
export function keyStore(request: AuthedRequest, env: IngestEnv): TenantStoreHandle {
  return tenantStore(env.TENANTS, request.apiKey.id);
}

/** What a route reading one stored event by its path's `{event_id}` can answer. */
export const STORED_EVENT_ERRORS = [
  'VALIDATION_ERROR',
  'NOT_FOUND',
  'SERVICE_UNAVAILABLE',
] as const satisfies readonly ErrorCode[];

/** The path's `event_id`, checked (400 at `path.event_id`) and put on the request's log lines. */
export function eventIdOf(request: AuthedRequest): string {
  const eventId = readParameter(request, EVENT_ID);
  request.eventId = eventId;
  request.log = request.log.with({ event_id: eventId });
  return eventId;
}

/**
 * Runs a call to the event store (the key's object, {@link keyStore}); any failure of it is
 * answered 503 (`serviceUnavailable`), its cause kept for the log. Like the queue, the store is a
 * dependency that can be down.
 */
export async function fromStore<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw serviceUnavailable('The event store does not answer. Retry later.', err);
  }
}

/** A stored event as the API shows it: without the tenant, which is the caller. */
export function inboxEvent({ api_key_id: _tenant, ...event }: StoredEvent): InboxEvent {
  return event;
}

/**
 * 404 for an event the key does not have: missing and another key's look the same. An event
 * just accepted is not in the store yet either: the consumer stores it when its batch closes.
 */
export function eventNotFound(eventId: string): ApiError {
  return new ApiError(
    'NOT_FOUND',
    `This API key has no stored event ${eventId}. An event just accepted is stored once the ` +
      `consumer's batch closes (within ${EVENT_QUEUE_CONSUMER.maxBatchTimeout} s).`,
  );
}

/** 409: the event exists but is not in a state the operation applies to. */
export function invalidState(status: EventStatus, message: string): ApiError {
  return new ApiError('INVALID_STATE', message, { details: { status } });
}
