import * as v from 'valibot';

/**
 * Where a stored event stands: `pending` until the consumer has stored it (or while its
 * delivery is retried), then `delivered`, or `failed` once it was dead-lettered. The transitions
 * between them are the event store's (packages/event-store, status.ts); this is the vocabulary
 * the HTTP API and the store share.
 */
export const EventStatus = v.picklist(
  ['pending', 'delivered', 'failed'],
  'must be one of pending, delivered, failed',
);
export type EventStatus = v.InferOutput<typeof EventStatus>;
