import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  DeprecatedInboxTypeFilter,
  EventTypePattern,
  eventTypeMatch,
  matchesEventType,
  matchesEventTypes,
} from '../src/index.ts';

describe('event type patterns', () => {
  it('match an exact type, or every type under a prefix ending in .* (at the dot)', () => {
    expect(matchesEventType('order.created', 'order.created')).toBe(true);
    expect(matchesEventType('order.created', 'order.created.v2')).toBe(false);
    expect(matchesEventType('order.*', 'order.created')).toBe(true);
    expect(matchesEventType('order.*', 'order.refund.issued')).toBe(true);
    expect(matchesEventType('order.*', 'order')).toBe(false);
    expect(matchesEventType('order.*', 'orders.created')).toBe(false);
  });

  it('match a subscription’s list when any pattern matches, and every type when it is null', () => {
    expect(matchesEventTypes(null, 'anything')).toBe(true);
    expect(matchesEventTypes(['user.created', 'order.*'], 'order.paid')).toBe(true);
    expect(matchesEventTypes(['user.created', 'order.*'], 'invoice.paid')).toBe(false);
  });

  it('accept only exact types and .* prefixes; * anywhere else is refused with the form to use', () => {
    for (const ok of ['order.created', 'order.*', 'a.b.*', '_%.*']) {
      expect(v.safeParse(EventTypePattern, ok).success, ok).toBe(true);
    }
    for (const bad of ['*', 'order*', 'order.*.created', '.*x', '', 'a'.repeat(1_025)]) {
      expect(v.safeParse(EventTypePattern, bad).success, bad).toBe(false);
    }
    expect(v.safeParse(EventTypePattern, 'order*').issues?.[0]?.message).toMatch(/order\.\*/);
  });

  it('still read the inbox’s deprecated prefix* form as a plain prefix, dot or not', () => {
    expect(v.safeParse(DeprecatedInboxTypeFilter, 'order*').success).toBe(true);
    expect(v.safeParse(DeprecatedInboxTypeFilter, '*').success).toBe(false);
    expect(eventTypeMatch('order*')).toEqual({ prefix: 'order' });
    expect(eventTypeMatch('order.*')).toEqual({ prefix: 'order.' });
    expect(eventTypeMatch('order.created')).toEqual({ exact: 'order.created' });
    expect(matchesEventType('order*', 'orders.created')).toBe(true);
    expect(matchesEventType('order*', 'order')).toBe(true);
  });
});
