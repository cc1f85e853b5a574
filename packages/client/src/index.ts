export type {
  BatchItem,
  BatchItemResult,
  CloudEventJson,
  Delivery,
  DeliveryExhaustedPayload,
  EventRequest,
  EventStatus,
  InboxEvent,
  Subscription,
  SubscriptionDisabledPayload,
  SubscriptionTestRequest,
  SubscriptionTestSample,
  SubscriptionWithSecret,
  TestedEvent,
} from '@triggers/event-schema';
export type { Deliveries } from './api/deliveries.ts';
export type { Dlq, Replayed, ReplayOptions } from './api/dlq.ts';
export type { Events, SendOptions, SentEvent } from './api/events.ts';
export type { Inbox, InboxPageData, InboxQuery } from './api/inbox.ts';
export type { EventStatsData, Stats } from './api/stats.ts';
export type {
  Recovered,
  RecoverOptions,
  Subscriptions,
  SubscriptionTested,
} from './api/subscriptions.ts';
export { createClient, TriggersClient, type TriggersClientOptions } from './client.ts';
export { type ClientErrorCode, TriggersError } from './errors.ts';
export type { RequestRetryPolicy } from './request-retry.ts';
export type { RequestOptions } from './transport.ts';
