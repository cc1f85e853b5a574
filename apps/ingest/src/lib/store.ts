import { EVENT_QUEUE_CONSUMER, type EventStatus, type InboxEvent } from '@triggers/event-schema';
import type { StoredEvent } from '@triggers/event-store';
import { ApiError, serviceUnavailable } from './errors.ts';

/**
 * Runs a call to the event store (D1); any failure of it is answered 503 (`serviceUnavailable`),
 * its cause kept for the log. Like the queue, the store is a dependency that can be down.
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
