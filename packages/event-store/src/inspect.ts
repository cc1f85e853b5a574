import { EventStatus } from '@triggers/event-schema';
import * as v from 'valibot';

/**
 * SQL for looking at the store by hand: `pnpm events:list`, and the end-to-end tests, which run
 * it over the local tenant stores' SQLite files (and D1's dead letters). It is text run as is, not
 * bound, so these builders validate their arguments and inline them as quoted SQL literals.
 */

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

const Limit = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000));

/** Which events to show. */
export interface EventFilter {
  apiKeyId?: string;
  status?: EventStatus;
  eventIds?: readonly string[];
}

function where({ apiKeyId, status, eventIds }: EventFilter): string {
  const clauses = [
    apiKeyId === undefined ? undefined : `api_key_id = ${literal(apiKeyId)}`,
    status === undefined ? undefined : `status = ${literal(v.parse(EventStatus, status))}`,
    eventIds === undefined ? undefined : `event_id IN (${eventIds.map(literal).join(', ') || 'NULL'})`,
  ].filter((clause) => clause !== undefined);
  return clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`;
}

/** The newest events matching `filter`, without their payloads. */
export function recentEventsSql(filter: EventFilter = {}, limit = 20): string {
  return `SELECT event_id, api_key_id, status, attempts, last_error, debug, received_at, updated_at, acked_at
FROM events${where(filter)}
ORDER BY received_at DESC, event_id DESC
LIMIT ${v.parse(Limit, limit)}`;
}

/** How many events matching `filter` are in each status, and when the last one changed. */
export function statusCountsSql(filter: EventFilter = {}): string {
  return `SELECT status, count(*) AS events, max(updated_at) AS last_updated_at
FROM events${where(filter)}
GROUP BY status ORDER BY status`;
}

/** The newest unreadable dead letters, with the start of their bodies. */
export function recentDeadLettersSql(limit = 20): string {
  return `SELECT message_id, queue, attempts, reason, substr(body, 1, 80) AS body_start, created_at
FROM dead_letters
ORDER BY created_at DESC
LIMIT ${v.parse(Limit, limit)}`;
}
