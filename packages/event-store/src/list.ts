import { type EventStatus, type EventTypeMatch, MAX_INBOX_PAGE_BYTES } from '@triggers/event-schema';
import * as v from 'valibot';
import { indexUnacked, storedDays } from './days.ts';
import { addDays, dayOf, dayStart, dayTable, KEPT_EVENTS } from './partitions.ts';
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

/** The conditions of `query` on an events row, as SQL with bound parameters. */
function conditions(query: EventQuery): Sql {
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
      // A range rather than LIKE or GLOB, whose wildcards a type may contain.
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
  return { text: where.join(' AND '), params };
}

/**
 * One day's share of a page: the events of `query` received on `day`, from its table (when it
 * has one) and from kept_events (an index range). Each arm reads at most `limit` rows in
 * `(received_at, event_id)` order through its own index, so the merge sorts at most twice the
 * page, never the day. Each row comes with the bytes of the rows before it (`bytes_before`) and
 * the share's size before the byte bound (`matched`): the statement keeps the rows
 * `WHERE bytes_before < ?`, `budget` bytes.
 */
export function daySegment(
  query: EventQuery,
  day: string,
  hasTable: boolean,
  limit: number,
  budget: number,
): Sql {
  const where = conditions(query);
  const order = `received_at ${DIRECTION[query.order]}, event_id ${DIRECTION[query.order]}`;
  const bytes = 'length(CAST(payload AS BLOB)) + coalesce(length(CAST(metadata AS BLOB)), 0) AS bytes';
  const arm = (table: string, extra = '') =>
    `SELECT * FROM (SELECT *, ${bytes} FROM ${table} WHERE ${where.text}${extra} ORDER BY ${order} LIMIT ?)`;
  const kept = arm(
    KEPT_EVENTS,
    ` AND received_at >= '${dayStart(day)}' AND received_at < '${dayStart(addDays(day, 1))}'`,
  );
  const arms = hasTable ? [arm(dayTable(day)), kept] : [kept];
  const params = arms.flatMap(() => [...where.params, limit]);
  return {
    text: `WITH page AS (
  SELECT * FROM (${arms.join(' UNION ALL ')}) ORDER BY ${order} LIMIT ?
),
fitting AS (
  SELECT *, sum(bytes) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) - bytes AS bytes_before,
         count(*) OVER () AS matched
  FROM page
)
SELECT * FROM fitting WHERE bytes_before < ? ORDER BY ${order}`,
    params: [...params, limit, budget],
  };
}

const Matched = v.object({ matched: v.number() });
const At = v.object({ at: v.nullable(v.string()) });

/** The events of a page and whether any matched beyond them. */
export interface PageRead {
  events: StoredEvent[];
  more: boolean;
}

/**
 * Reads a page of `query` day by day (partitions.ts), in its order from the cursor's day (or
 * `to`'s, `from`'s, or the newest or oldest held), until the page is full: a day holds its table
 * and the rows of kept_events received that day. The next day is the nearest that has a table or
 * a kept row (one index probe of kept_events per day walked). The unacknowledged view reads its
 * own index (days.ts, `indexUnacked`); filters on status, type or source read a day in key order
 * until the page fills: their cost is the rows of the days walked.
 */
export async function readPage(db: D1Database, query: EventQuery): Promise<PageRead> {
  const tables = await storedDays(db);
  if (query.acked === false) await indexUnacked(db, tables);
  const held = new Set(tables);
  const desc = query.order === 'desc';
  const maxBytes = query.maxBytes ?? MAX_INBOX_PAGE_BYTES;
  // One more than asked, to learn whether anything lies beyond the page.
  const want = query.limit + 1;
  const bounds = [query.after?.received_at, desc ? query.to : query.from].filter((b) => b !== undefined);
  const bound = bounds.length === 0 ? undefined : bounds.reduce((a, b) => (desc === a < b ? a : b));
  const stop = desc ? query.from : query.to;
  // The day to look at next: days beyond it are done (desc: after it; asc: before it).
  let next: string | null = bound === undefined ? null : dayOf(bound);
  const rows: unknown[] = [];
  let bytes = 0;
  let cut = false;
  while (rows.length < want && !cut) {
    const keptAt = await db
      .prepare(
        desc
          ? `SELECT max(received_at) AS at FROM ${KEPT_EVENTS} WHERE received_at < ?1`
          : `SELECT min(received_at) AS at FROM ${KEPT_EVENTS} WHERE received_at >= ?1`,
      )
      .bind(next === null ? (desc ? '9' : '0') : dayStart(desc ? addDays(next, 1) : next))
      .first();
    const keptDay = v.parse(At, keptAt ?? { at: null }).at;
    const candidates = [
      keptDay === null ? null : dayOf(keptDay),
      (desc
        ? tables.filter((d) => next === null || d <= next).at(-1)
        : tables.find((d) => next === null || d >= next)) ?? null,
    ].filter((d): d is string => d !== null);
    // The nearer of the two in the walk's direction.
    const day = candidates.sort().at(desc ? -1 : 0);
    if (day === undefined) break;
    if (stop !== undefined && (desc ? dayStart(addDays(day, 1)) <= stop : dayStart(day) >= stop)) break;
    const segment = daySegment(query, day, held.has(day), want - rows.length, maxBytes - bytes);
    const { results } = await db
      .prepare(segment.text)
      .bind(...segment.params)
      .all<{ bytes: number }>();
    const matched = results[0] === undefined ? 0 : v.parse(Matched, results[0]).matched;
    for (const row of results) {
      rows.push(row);
      bytes += row.bytes;
    }
    // Cut by the byte budget: within this day, or at its end, when no later day could add a row.
    cut = matched > results.length || bytes >= maxBytes;
    next = addDays(day, desc ? -1 : 1);
  }
  const events = rows.slice(0, query.limit).map(toStoredEvent);
  return { events, more: events.length > 0 && (rows.length > query.limit || cut) };
}

/**
 * One page of a key's events, newest or oldest first, from `after` on: at most `limit` events,
 * fewer when their payloads pass `maxBytes`. `next` is the position to ask for the following page
 * with, null when no event matched beyond this one at the time of reading.
 */
export async function listEvents(db: D1Database, query: EventQuery): Promise<EventPage> {
  const { events, more } = await readPage(db, query);
  const last = events.at(-1);
  return {
    events,
    next: more && last !== undefined ? { received_at: last.received_at, event_id: last.event_id } : null,
  };
}
