/**
 * The largest JSON array bound to one statement, in bytes. D1 caps a string (and a row) at
 * 2,000,000 bytes; half of it leaves room for whatever else the request carries. A batch of
 * 100 events of the queue's largest size (128 KB each) becomes 13 statements, still one round
 * trip, where 100 single-row INSERTs would exceed the Free plan's 50 queries per invocation.
 */
export const MAX_JSON_PARAM_BYTES = 1_000_000;

const encoder = new TextEncoder();

/**
 * Serializes `items` into as few JSON arrays as fit in `maxBytes` each, keeping their order.
 * An item larger than `maxBytes` on its own still gets an array of its own: D1 rejects it
 * loudly rather than this function dropping it.
 */
export function jsonChunks(items: readonly unknown[], maxBytes = MAX_JSON_PARAM_BYTES): string[] {
  const chunks: string[] = [];
  let parts: string[] = [];
  let size = 2; // the brackets
  for (const item of items) {
    const text = JSON.stringify(item);
    const bytes = encoder.encode(text).byteLength + 1; // and its comma
    if (parts.length > 0 && size + bytes > maxBytes) {
      chunks.push(`[${parts.join(',')}]`);
      parts = [];
      size = 2;
    }
    parts.push(text);
    size += bytes;
  }
  if (parts.length > 0) chunks.push(`[${parts.join(',')}]`);
  return chunks;
}
