import type { WebhookEvent } from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { FilterError, trySubscription, webhookBody } from '../src/index.ts';

/**
 * The tester's core: a subscription's rules tried on events with the functions deliveries use.
 * Over HTTP, on a key's stored events: apps/ingest/test/subscription-tester.test.ts.
 */

const event = (type: string, total: number): WebhookEvent => ({
  event_id: crypto.randomUUID(),
  type,
  source: '/shop',
  subject: null,
  timestamp: '2026-12-05T10:00:00.000Z',
  payload: { total },
  metadata: null,
});

describe('trySubscription', () => {
  it('says which events event_types and the filter let through, and the body each of those would carry', async () => {
    const events = [event('order.created', 150), event('order.created', 5), event('user.created', 500)];
    const tried = await trySubscription(
      {
        eventTypes: ['order.*'],
        filter: { payload: { total: { $gte: 100 } } },
        transform: '{"total": payload.total, "type": type}',
      },
      events,
    );
    expect(tried).toEqual([
      { matched: true, body: '{"total":150,"type":"order.created"}' },
      { matched: false, excludedBy: 'filter' },
      { matched: false, excludedBy: 'event_types' },
    ]);
  });

  it('delivers the event itself without a transformation, and a failing one is that event’s error', async () => {
    const e = event('a', 1);
    expect(await trySubscription({ eventTypes: null, filter: null, transform: null }, [e])).toEqual([
      { matched: true, body: JSON.stringify(e) },
    ]);
    const [failed] = await trySubscription({ eventTypes: null, filter: null, transform: '$number("x")' }, [
      e,
    ]);
    expect(failed).toMatchObject({ matched: true, code: 'D3030', error: /^transformation failed: D3030/ });
    const { matched, ...made } = failed as { matched: true; error: string; code: string };
    expect(await webhookBody(e, '$number("x")')).toEqual(made);
  });

  it('throws the filter’s FilterError before trying any event', async () => {
    await expect(
      trySubscription({ eventTypes: null, filter: { payload: { $where: 'x' } }, transform: null }, []),
    ).rejects.toBeInstanceOf(FilterError);
  });
});
