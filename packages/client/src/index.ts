export type { BatchItem, BatchItemResult, EventRequest } from '@triggers/event-schema';
export { type Chunk, chunkBatch } from './chunk.ts';
export {
  createClient,
  type SendOptions,
  type SentEvent,
  TriggersClient,
  type TriggersClientOptions,
} from './client.ts';
export { type ClientErrorCode, TriggersError } from './errors.ts';
export { DEFAULT_RETRY, parseRetryAfter, type RetryPolicy, retryDelay } from './retry.ts';
