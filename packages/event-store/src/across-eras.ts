/**
 * How a tenant's eras (eras.ts) answer together what one store answers alone: an inbox page read
 * through them in order, and their counts added up. Pure functions of what each era answered;
 * the handle (client.ts) makes the calls.
 */
import { type EventCounts, jsonBytes, MAX_INBOX_PAGE_BYTES, type StatsWindow } from '@triggers/event-schema';
import type { Era } from './eras.ts';
import type { EventCursor, EventPage, EventQuery } from './list.ts';
import type { StoredEvent } from './read.ts';

/**
 * Bytes of payload and metadata of `event` as a store's page budget counts them (list.ts): the
 * UTF-8 bytes of their JSON text, no metadata counting 0.
 */
export const storedBytes = (event: StoredEvent): number =>
  jsonBytes(event.payload ?? null) +
  (event.metadata === null || event.metadata === undefined ? 0 : jsonBytes(event.metadata));

/**
 * One page of the inbox across eras (`list`, holding disjoint spans of time): each era in the
 * query's order, from the one of its cursor, gives what the page still lacks. The cursor is the
 * same `(received_at, event_id)` as in one store.
 */
export async function pageAcross(
  query: EventQuery,
  list: Era[],
  page: (era: Era, query: EventQuery) => Promise<EventPage>,
): Promise<EventPage> {
  const desc = query.order === 'desc';
  const after = query.after === undefined ? null : Date.parse(query.after.received_at);
  const ordered = (desc ? [...list].reverse() : list).filter(
    (era) => after === null || (desc ? era.from <= after : era.to > after),
  );
  // One budget for the whole page, the store's default when the query names none.
  const budget = query.maxBytes ?? MAX_INBOX_PAGE_BYTES;
  const events: StoredEvent[] = [];
  let bytes = 0;
  for (const [i, era] of ordered.entries()) {
    const limit = query.limit - events.length;
    const part = await page(era, { ...query, limit, maxBytes: budget - bytes });
    events.push(...part.events);
    for (const event of part.events) bytes += storedBytes(event);
    const full = events.length >= query.limit || bytes >= budget;
    if (part.next !== null) return { events, next: part.next };
    if (full) {
      const last = events.at(-1) as StoredEvent;
      const more = i < ordered.length - 1;
      return { events, next: more ? cursorOf(last) : null };
    }
  }
  return { events, next: null };
}

const cursorOf = (event: StoredEvent): EventCursor => ({
  received_at: event.received_at,
  event_id: event.event_id,
});

/** The counts of several eras as one: windows added bucket by bucket. */
export function addCounts(counts: EventCounts[]): EventCounts {
  const addWindow = (a: StatsWindow, b: StatsWindow): StatsWindow => ({
    ...a,
    received: a.received + b.received,
    delivered: a.delivered + b.delivered,
    failed: a.failed + b.failed,
    pending: a.pending + b.pending,
    buckets: a.buckets.map((bucket, i) => {
      const other = b.buckets[i];
      if (other === undefined) return bucket;
      return {
        start: bucket.start,
        received: bucket.received + other.received,
        delivered: bucket.delivered + other.delivered,
        failed: bucket.failed + other.failed,
        pending: bucket.pending + other.pending,
      };
    }),
  });
  return counts.reduce((sum, c) => ({
    last_hour: addWindow(sum.last_hour, c.last_hour),
    last_day: addWindow(sum.last_day, c.last_day),
    last_delivered_at:
      sum.last_delivered_at === null ||
      (c.last_delivered_at !== null && c.last_delivered_at > sum.last_delivered_at)
        ? c.last_delivered_at
        : sum.last_delivered_at,
  }));
}
