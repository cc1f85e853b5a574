/**
 * The one factory of queue messages for tests: a valid `QueuedEvent`, as the ingest Worker
 * enqueues it, with fresh ids. Runtime-neutral (workerd or Node).
 */
import type { QueuedEvent } from '@triggers/event-schema';

/**
 * A valid event with a fresh `event_id`, `correlation_id` and tenant (`api_key_id`), received
 * now, with a small payload and metadata; `fields` replace any of them (`metadata: undefined`
 * for an event sent without).
 *
 * @example
 * const event = queuedEvent({ api_key_id: key.id, debug: 'processing_error' });
 */
export function queuedEvent(fields: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    event_id: crypto.randomUUID(),
    payload: { order: 42, items: ['a', 'b'] },
    metadata: { source: 'shop' },
    timestamp: new Date().toISOString(),
    correlation_id: `corr-${crypto.randomUUID()}`,
    api_key_id: `key_${crypto.randomUUID()}`,
    ...fields,
  };
}
