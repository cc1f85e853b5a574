const encoder = new TextEncoder();

/**
 * A UUID v8 (RFC 9562, the name-based layout of its appendix B.2) from SHA-256 of `name`: the same
 * name always gives the same id. How an event that may be produced twice gets one `event_id`, so
 * that the store's `ON CONFLICT (event_id)` keeps it once: events sent with an idempotency key or
 * as CloudEvents (the ingest Worker), operational events (the consumer Worker, operational.ts).
 * Callers version and delimit their names so that no two of them hash the same text.
 */
export async function nameBasedUuid(name: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(name));
  const bytes = new Uint8Array(digest, 0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80; // version 8
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // variant 10 (RFC 9562)
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
