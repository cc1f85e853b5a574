import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { createEventParser, EventParseError } from '../src/index.ts';

const parseEvent = createEventParser({
  'order.paid': v.object({ order_id: v.string(), amount: v.pipe(v.number(), v.minValue(0)) }),
  'order.refunded': v.object({ order_id: v.string() }),
});

/** An event as GET /events/{event_id} answers it. */
const incoming = (type: string, payload: Record<string, unknown>) => ({
  event_id: '0b0e7a3c-6a8e-4f44-9a3c-3b0f4b5d2f10',
  type,
  source: '/shop',
  subject: null,
  cloudevent: null,
  idempotency_conflicts: 0,
  status: 'delivered',
  attempts: 1,
  last_error: null,
  received_at: '2026-11-29T11:00:00.000Z',
  created_at: '2026-11-29T12:00:00.000Z',
  updated_at: '2026-11-29T12:00:00.000Z',
  acked_at: null,
  correlation_id: 'req-1',
  debug: null,
  payload,
  metadata: { source: 'shop' },
});

describe('createEventParser', () => {
  it('answers the event with its payload validated by the schema of its type', () => {
    const event = parseEvent.parse(incoming('order.paid', { order_id: 'o_1', amount: 12 }));
    expect(event).toMatchObject({
      type: 'order.paid',
      payload: { order_id: 'o_1', amount: 12 },
      status: 'delivered',
    });
    expect(parseEvent.types).toEqual(['order.paid', 'order.refunded']);
  });

  it('refuses a payload that does not match its type, naming the field', () => {
    const result = parseEvent.safeParse(incoming('order.paid', { order_id: 'o_1', amount: -1 }));
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error).toBeInstanceOf(EventParseError);
    expect(result.error).toMatchObject({
      code: 'INVALID_PAYLOAD',
      type: 'order.paid',
      eventId: '0b0e7a3c-6a8e-4f44-9a3c-3b0f4b5d2f10',
      issues: [{ path: 'payload.amount' }],
    });
    expect(result.error.message).toMatch(/order\.paid has an invalid payload: payload\.amount/);
  });

  it('refuses a type it has no schema for, listing the known ones, also for inherited names', () => {
    expect(() => parseEvent.parse(incoming('order.lost', {}))).toThrow(
      /type order\.lost, which this service has no schema for \(known: order\.paid, order\.refunded\)/,
    );
    expect(parseEvent.safeParse(incoming('constructor', {}))).toMatchObject({
      error: { code: 'UNKNOWN_TYPE' },
    });
  });

  it('refuses what is not an event, saying which fields are wrong', () => {
    const { type: _, ...untyped } = incoming('order.paid', {});
    const result = parseEvent.safeParse(untyped);
    expect(result).toMatchObject({
      success: false,
      error: { code: 'INVALID_EVENT', issues: [{ path: 'type' }] },
    });
    expect(parseEvent.safeParse('text')).toMatchObject({ error: { code: 'INVALID_EVENT' } });
  });
});
