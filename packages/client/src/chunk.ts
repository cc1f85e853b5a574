import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from '@triggers/event-schema';

const encoder = new TextEncoder();

/** `{"events":[` and `]}` around the items of a batch body. */
const BODY_OVERHEAD_BYTES = encoder.encode('{"events":[]}').byteLength;

/** A run of consecutive items that fits one `POST /events/batch` request. */
export interface Chunk {
  /** Index of the run's first item in the whole list. */
  offset: number;
  /** The request body, ready to send. */
  body: string;
  count: number;
}

/** Items too large for any batch request, by index: they are not sent. */
export type Oversized = number[];

/**
 * Splits items into consecutive runs of at most {@link MAX_BATCH_EVENTS} items whose request body
 * is at most {@link MAX_BATCH_BYTES} bytes. Each item is serialized once; an item that could not
 * fit even a batch of its own is left out and reported in `oversized`.
 */
export function chunkBatch(items: readonly unknown[]): { chunks: Chunk[]; oversized: Oversized } {
  const chunks: Chunk[] = [];
  const oversized: Oversized = [];
  let parts: string[] = [];
  let offset = 0;
  let bytes = BODY_OVERHEAD_BYTES;
  const flush = () => {
    if (parts.length > 0)
      chunks.push({ offset, body: `{"events":[${parts.join(',')}]}`, count: parts.length });
    parts = [];
    bytes = BODY_OVERHEAD_BYTES;
  };
  items.forEach((item, index) => {
    const json = JSON.stringify(item);
    const size = encoder.encode(json).byteLength;
    if (BODY_OVERHEAD_BYTES + size > MAX_BATCH_BYTES) {
      // Chunks are runs of consecutive items: end this one so that indexes stay contiguous.
      flush();
      oversized.push(index);
      return;
    }
    const comma = parts.length > 0 ? 1 : 0;
    if (parts.length === MAX_BATCH_EVENTS || bytes + comma + size > MAX_BATCH_BYTES) flush();
    if (parts.length === 0) offset = index;
    bytes += (parts.length > 0 ? 1 : 0) + size;
    parts.push(json);
  });
  flush();
  return { chunks, oversized };
}
