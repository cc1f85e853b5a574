export type {
  BatchItem,
  BatchItemResult,
  Delivery,
  EventRequest,
  Subscription,
  SubscriptionWithSecret,
} from '@triggers/event-schema';
export {
  createClient,
  type SendOptions,
  type SentEvent,
  TriggersClient,
  type TriggersClientOptions,
} from './client.ts';
export { type ClientErrorCode, TriggersError } from './errors.ts';
export type { RetryPolicy } from './retry.ts';
// Subscriptions and webhook deliveries (issue 11), in a file of their own.
export { createWebhooksClient, WebhooksClient } from './webhooks.ts';
