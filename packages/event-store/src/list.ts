import { type EventStatus, type EventTypeMatch, MAX_INBOX_PAGE_BYTES } from '@triggers/event-schema';
import * as v from 'valibot';
import { type StoredEvent, toStoredEvent } from './read.ts';

/** A position in a key's events: the `(received_at, event_id)` of the last event seen. */
export interface EventCursor {
  received_at: string;
  event_id: string;
}

/** Which of one key's events to read, in which order. */
export interface EventQuery {
  apiKeyId: string;
  /** Only events in one of these statuses; all when absent or empty. */
  statuses?: readonly EventStatus[];
  /** `false`: only events not acknowledged; `true`: only acknowledged ones; absent: both. */
  acked?: boolean;
  /** Only events of this type (`exact`), or whose type starts with `prefix` (see `eventTypeMatch`). */
  type?: EventTypeMatch;
  /** Only events from this source. */
  source?: string;
  /** Only events received at or after this instant (fixed-width ISO-8601 UTC). */
  from?: string;
  /** Only events received before this instant (fixed-width ISO-8601 UTC). */
  to?: string;
  /** Only events past this position, in `order`. */
  after?: EventCursor;
  /** By `(received_at, event_id)`: `desc` is newest first. */
  order: 'asc' | 'desc';
  limit: number;
  /**
   * Stop once the events read carry this many bytes of payload and metadata (always read at
   * least one): see {@link MAX_INBOX_PAGE_BYTES}.
   */
  maxBytes?: number;
}

/** A page of events, and where the next one starts (null when nothing matched beyond it). */
export interface EventPage {
  events: StoredEvent[];
  next: EventCursor | null;
}

/** SQL text with its `?` parameters, in order. */
export interface Sql {
  text: string;
  params: unknown[];
}

/**
 * The least string above every string that starts with `prefix` (`order.` → `order/`), which
 * D1's binary text order puts right after them: `prefix` with its last character's code raised
 * by one. (UTF-8 byte order is code point order, which this follows.)
 */
export function prefixEnd(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

const DIRECTION = { asc: 'ASC', desc: 'DESC' } as const;
const BEYOND = { asc: '>', desc: '<' } as const;

/**
 * `WITH page …, fitting …`: the events of `query` (their keys and sizes only), then each with the
 * bytes of the events before it in the page (`bytes_before`) and the page's size (`matched`).
 * The statement that follows keeps `fitting` rows `WHERE bytes_before < <maxBytes>`: a prefix
 * of the page that fits, and never empty. Every filter is a bound parameter; only the
 * direction, taken from a closed set, is written into the text.
 *
 * `(received_at, event_id)` is unique and never changes for a row, so pages keyed on it neither
 * skip nor repeat a row; ordering and the cursor use the indexes of the migrations.
 */
export function pageOf(query: EventQuery): Sql {
  const where = ['api_key_id = ?'];
  const params: unknown[] = [query.apiKeyId];
  const statuses = [...new Set(query.statuses ?? [])];
  if (statuses.length > 0) {
    where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
    params.push(...statuses);
  }
  if (query.type !== undefined) {
    if ('exact' in query.type) {
      where.push('type = ?');
      params.push(query.type.exact);
    } else {
      // A range rather than LIKE or GLOB, whose wildcards a type may contain: the index on
      // (api_key_id, type, …) serves it.
      where.push('type >= ? AND type < ?');
      params.push(query.type.prefix, prefixEnd(query.type.prefix));
    }
  }
  if (query.source !== undefined) {
    where.push('source = ?');
    params.push(query.source);
  }
  if (query.acked !== undefined) where.push(query.acked ? 'acked_at IS NOT NULL' : 'acked_at IS NULL');
  if (query.from !== undefined) {
    where.push('received_at >= ?');
    params.push(query.from);
  }
  if (query.to !== undefined) {
    where.push('received_at < ?');
    params.push(query.to);
  }
  if (query.after !== undefined) {
    where.push(`(received_at, event_id) ${BEYOND[query.order]} (?, ?)`);
    params.push(query.after.received_at, query.after.event_id);
  }
  const order = `received_at ${DIRECTION[query.order]}, event_id ${DIRECTION[query.order]}`;
  params.push(query.limit);
  // Every step carries the tenant: the outer statements join and update on (event_id,
  // api_key_id), never on event_id alone (defence in depth, see write.ts).
  const text = `WITH page AS (
  SELECT event_id, api_key_id, received_at,
         length(CAST(payload AS BLOB)) + coalesce(length(CAST(metadata AS BLOB)), 0) AS bytes
  FROM events
  WHERE ${where.join(' AND ')}
  ORDER BY ${order}
  LIMIT ?
),
fitting AS (
  SELECT event_id, api_key_id, received_at,
         sum(bytes) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) - bytes AS bytes_before,
         count(*) OVER () AS matched
  FROM page
)`;
  return { text, params };
}

/** The full rows of the `fitting` prefix of {@link pageOf}, in its order. */
export function fittingEvents(query: EventQuery): Sql {
  const page = pageOf(query);
  const direction = DIRECTION[query.order];
  return {
    text: `${page.text}
SELECT events.*, fitting.matched AS matched
FROM fitting JOIN events ON events.event_id = fitting.event_id AND events.api_key_id = fitting.api_key_id
WHERE fitting.bytes_before < ?
ORDER BY events.received_at ${direction}, events.event_id ${direction}`,
    params: [...page.params, query.maxBytes ?? MAX_INBOX_PAGE_BYTES],
  };
}

const Matched = v.object({ matched: v.number() });

/**
 * One page of a key's events, newest or oldest first, from `after` on: at most `limit` events,
 * fewer when their payloads pass `maxBytes`. `next` is the position to ask for the following page
 * with, null when no event matched beyond this one at the time of reading.
 */
export async function listEvents(db: D1Database, query: EventQuery): Promise<EventPage> {
  // One more than asked, to learn whether anything lies beyond the page.
  const { text, params } = fittingEvents({ ...query, limit: query.limit + 1 });
  const { results } = await db
    .prepare(text)
    .bind(...params)
    .all();
  const matched = results[0] === undefined ? 0 : v.parse(Matched, results[0]).matched;
  const events = results.slice(0, query.limit).map(toStoredEvent);
  const last = events.at(-1);
  const more = matched > events.length && last !== undefined;
  return {
    events,
    next: more ? { received_at: last.received_at, event_id: last.event_id } : null,
  };
}
