export type {
  BatchItem,
  BatchItemResult,
  CloudEventJson,
  Delivery,
  EventRequest,
  EventStatus,
  InboxEvent,
  Subscription,
  SubscriptionWithSecret,
} from '@triggers/event-schema';
export {
  createClient,
  type InboxPageData,
  type Replayed,
  type ReplayOptions,
  type RequestOptions,
  type SendOptions,
  type SentEvent,
  TriggersClient,
  type TriggersClientOptions,
} from './client.ts';
export { type ClientErrorCode, TriggersError } from './errors.ts';
export type { InboxQuery } from './inbox-query.ts';
export type { RetryPolicy } from './retry.ts';
