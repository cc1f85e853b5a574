import type { QueuedEvent } from '@triggers/event-schema';

/** A valid event of `api_key_id` (a fresh tenant per call unless given), with fresh ids. */
export function queuedEvent(overrides: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    event_id: crypto.randomUUID(),
    payload: { order: 42, items: ['a', 'b'], nested: { ok: true } },
    timestamp: '2026-11-29T10:00:00.000Z',
    correlation_id: `corr-${crypto.randomUUID()}`,
    api_key_id: `key_${crypto.randomUUID()}`,
    ...overrides,
  };
}
