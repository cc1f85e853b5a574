import { SEND_BATCH_LIMIT_BYTES, SEND_BATCH_MAX_MESSAGES } from './limits.ts';

/**
 * Splits messages, in order, into runs that each fit one `Queue.sendBatch()` call: at most
 * {@link SEND_BATCH_MAX_MESSAGES} messages and {@link SEND_BATCH_LIMIT_BYTES} bytes, where
 * `bytesOf` gives one message's size as the queue counts it (platform overhead included). A
 * message larger than a whole call still gets a run of its own; refusing it is the caller's job.
 */
export function sendBatchChunks<T>(messages: readonly T[], bytesOf: (message: T) => number): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = bytesOf(message);
    if (
      chunk.length === SEND_BATCH_MAX_MESSAGES ||
      (chunk.length > 0 && bytes + size > SEND_BATCH_LIMIT_BYTES)
    ) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
