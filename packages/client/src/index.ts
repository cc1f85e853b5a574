export type { BatchItem, BatchItemResult, CloudEventJson, EventRequest } from '@triggers/event-schema';
export {
  createClient,
  type SendOptions,
  type SentEvent,
  TriggersClient,
  type TriggersClientOptions,
} from './client.ts';
export { type ClientErrorCode, TriggersError } from './errors.ts';
export type { RetryPolicy } from './retry.ts';
