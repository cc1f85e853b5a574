import type { EventStatus } from '@triggers/event-schema';

/** Which events `listInbox` and `inbox` return; each field is a `GET /inbox` query parameter. */
export interface InboxQuery {
  /** Only events in this status, or in any of these; every status when absent. */
  status?: EventStatus | readonly EventStatus[];
  /** `false` (the default): not acknowledged yet; `true`: acknowledged only; `'all'`: both. */
  acked?: boolean | 'all';
  /** Only events received at or after this instant (ISO-8601 with `Z` or an offset, or a date). */
  from?: string | Date;
  /** Only events received before this instant. */
  to?: string | Date;
  /** By time received: `'desc'` (the default) is newest first. */
  order?: 'asc' | 'desc';
  /** Most events per page (1 to 1000; the API's default is 50). */
  limit?: number;
  /** The `next_cursor` of the previous page, with the same filters and order. */
  cursor?: string;
}

const instant = (value: string | Date) => (value instanceof Date ? value.toISOString() : value);

/** `query` as the search part of `GET /inbox`: `?status=failed&status=pending&acked=all…`, or `''`. */
export function inboxSearch(query: InboxQuery): string {
  const params = new URLSearchParams();
  const statuses = query.status === undefined ? [] : [query.status].flat();
  for (const status of statuses) params.append('status', status);
  if (query.acked !== undefined) params.set('acked', String(query.acked));
  if (query.from !== undefined) params.set('from', instant(query.from));
  if (query.to !== undefined) params.set('to', instant(query.to));
  if (query.order !== undefined) params.set('order', query.order);
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.cursor !== undefined) params.set('cursor', query.cursor);
  const search = params.toString();
  return search === '' ? '' : `?${search}`;
}
