import type { EventStatus, InboxEvent } from '@triggers/event-schema';
import { EventDetails, InboxPage } from '@triggers/event-schema';
import { type Call, once, path, type RequestOptions, Resource, safe } from '../transport.ts';

/** Which events `inbox.list` and `inbox.iterate` return; each field is a `GET /inbox` query parameter. */
export interface InboxQuery {
  /** Only events in this status, or in any of these; every status when absent. */
  status?: EventStatus | readonly EventStatus[];
  /** `false` (the default): not acknowledged yet; `true`: acknowledged only; `'all'`: both. */
  acked?: boolean | 'all';
  /** Only events of this type (`order.created`), or, ending in `*`, of types starting so (`order.*`). */
  type?: string;
  /** Only events from this source, exactly. */
  source?: string;
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

/** A page of the inbox: its events, and the cursor of the next page (null after the last). */
export type InboxPageData = InboxPage['data'];

/**
 * `/inbox`: this key's events page by page, acknowledging one, and queueing a failed one again.
 */
export class Inbox extends Resource {
  /**
   * `GET /inbox`: one page of this key's events, by default those not acknowledged, newest first.
   * Pass the page's `next_cursor` as `cursor` (with the same filters) for the next; or let
   * {@link Inbox.iterate} do that.
   */
  async list(query: InboxQuery = {}, options: RequestOptions = {}): Promise<InboxPageData> {
    const call: Call = { method: 'GET', path: `/inbox${inboxSearch(query)}`, ...safe(options) };
    return (await this.transport.request(call, InboxPage)).data;
  }

  /**
   * Every event of the inbox that matches `query`, page after page, fetched as the loop asks for
   * them: `for await (const event of triggers.inbox.iterate({ status: 'failed' })) …`. Stopping
   * the loop early fetches no further page.
   */
  async *iterate(query: InboxQuery = {}, options: RequestOptions = {}): AsyncGenerator<InboxEvent, void> {
    let cursor = query.cursor;
    do {
      const page = await this.list({ ...query, cursor }, options);
      yield* page.events;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * `POST /inbox/{event_id}/ack`: marks a delivered or failed event handled. Acknowledging again
   * answers the same (with the first time), so it is retried like a read. 409 `INVALID_STATE` for
   * a pending event.
   */
  async ack(eventId: string, options: RequestOptions = {}): Promise<InboxEvent> {
    const call: Call = { method: 'POST', path: path`/inbox/${eventId}/ack`, ...safe(options) };
    return (await this.transport.request(call, EventDetails)).data;
  }

  /**
   * `POST /inbox/{event_id}/retry`: queues a failed event again; resolves to it, `pending`. 409
   * `INVALID_STATE` for an event that is not failed. Not sent again after a failure in transit
   * (it may have been queued already; a second call would answer 409): check with `events.get`.
   */
  async retry(eventId: string, options: RequestOptions = {}): Promise<InboxEvent> {
    const call: Call = { method: 'POST', path: path`/inbox/${eventId}/retry`, ...once(options) };
    return (await this.transport.request(call, EventDetails)).data;
  }
}

const instant = (value: string | Date) => (value instanceof Date ? value.toISOString() : value);

/** `query` as the search part of `GET /inbox`: `?status=failed&status=pending&acked=all…`, or `''`. */
function inboxSearch(query: InboxQuery): string {
  const params = new URLSearchParams();
  const statuses = query.status === undefined ? [] : [query.status].flat();
  for (const status of statuses) params.append('status', status);
  if (query.acked !== undefined) params.set('acked', String(query.acked));
  if (query.type !== undefined) params.set('type', query.type);
  if (query.source !== undefined) params.set('source', query.source);
  if (query.from !== undefined) params.set('from', instant(query.from));
  if (query.to !== undefined) params.set('to', instant(query.to));
  if (query.order !== undefined) params.set('order', query.order);
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  if (query.cursor !== undefined) params.set('cursor', query.cursor);
  const search = params.toString();
  return search === '' ? '' : `?${search}`;
}
