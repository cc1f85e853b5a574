import { type IdempotencyKey, nameBasedUuid } from '@triggers/event-schema';

/**
 * The `event_id` of an event sent with an idempotency key: a UUID v8 (RFC 9562, the name-based
 * layout of its appendix B.2) built from SHA-256 of the API key's id and the client's key. The same
 * pair always gives the same id, so a retried event lands on the consumer's
 * `ON CONFLICT (event_id) DO NOTHING` and is stored once, with no lookup on the request path;
 * another API key's identical key gives another id.
 */
export async function idempotentEventId(apiKeyId: string, key: IdempotencyKey): Promise<string> {
  // Versioned, newline-separated input: neither part can contain a newline, so no two
  // (apiKeyId, key) pairs hash the same text.
  return nameBasedUuid(`event_id/v1\n${apiKeyId}\n${key}`);
}

/**
 * The `event_id` of a CloudEvent: derived, like {@link idempotentEventId}, from the API key's id
 * and what identifies the event, its `source` and `id` (CloudEvents 1.0: "producers MUST ensure
 * that source + id is unique for each distinct event"). A resent event gets the same event_id
 * and is stored once; the same id from another source, or from another API key, is another event.
 */
export async function cloudEventId(apiKeyId: string, source: string, id: string): Promise<string> {
  // A CloudEvent id may hold any character, newlines included: JSON keeps the parts apart.
  return nameBasedUuid(JSON.stringify(['cloudevent/v1', apiKeyId, source, id]));
}
