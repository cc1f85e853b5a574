import type { EventStatus } from '@triggers/event-schema';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { EventPages, useCursors } from '../components/event-pages.tsx';
import { fromLocalInput } from '../components/time.tsx';
import { TimeRangeFields } from '../components/time-range.tsx';
import { useFocusOnMount, useLoad } from '../hooks.ts';
import type { ViewProps } from './view.ts';

const STATUSES: EventStatus[] = ['pending', 'delivered', 'failed'];
const PAGE_SIZE = 25;

interface Filters {
  status: EventStatus[];
  acked: 'false' | 'true' | 'all';
  from: string;
  to: string;
  order: 'desc' | 'asc';
  /** Event type (issue 10), offered once the API filters on it. */
  type: string;
}

const NO_FILTERS: Filters = { status: [], acked: 'false', from: '', to: '', order: 'desc', type: '' };

/** `GET /inbox` with its filters, page by page (cursor paging: next, and back to pages seen). */
export function Inbox({ apiKey, caps }: ViewProps) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const cursors = useCursors();
  const { cursor } = cursors;
  const typed = caps.has('GET /inbox?type');

  const page = useLoad(
    (signal) =>
      api(apiKey).inbox.list(
        {
          status: applied.status,
          acked: applied.acked === 'all' ? 'all' : applied.acked === 'true',
          from: fromLocalInput(applied.from),
          to: fromLocalInput(applied.to),
          order: applied.order,
          type: typed && applied.type !== '' ? applied.type : undefined,
          limit: PAGE_SIZE,
          cursor,
        },
        { signal },
      ),
    [apiKey, applied, cursor],
  );

  const apply = (event: Event) => {
    event.preventDefault();
    setApplied(draft);
    cursors.reset();
  };
  const toggleStatus = (status: EventStatus, on: boolean) =>
    setDraft((d) => ({ ...d, status: on ? [...d.status, status] : d.status.filter((s) => s !== status) }));

  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Inbox
      </h1>
      <form class="filters card" onSubmit={apply} aria-label="Inbox filters">
        <fieldset>
          <legend>Status</legend>
          {STATUSES.map((status) => (
            <label key={status} class="check">
              <input
                type="checkbox"
                name="status"
                value={status}
                checked={draft.status.includes(status)}
                onChange={(e) => toggleStatus(status, e.currentTarget.checked)}
              />
              {status}
            </label>
          ))}
        </fieldset>
        <label>
          Acknowledged
          <select
            name="acked"
            value={draft.acked}
            onChange={(e) => setDraft((d) => ({ ...d, acked: e.currentTarget.value as Filters['acked'] }))}
          >
            <option value="false">Not yet</option>
            <option value="true">Only acknowledged</option>
            <option value="all">Both</option>
          </select>
        </label>
        <TimeRangeFields value={draft} onChange={(range) => setDraft((d) => ({ ...d, ...range }))} />
        <label>
          Order
          <select
            name="order"
            value={draft.order}
            onChange={(e) => setDraft((d) => ({ ...d, order: e.currentTarget.value as Filters['order'] }))}
          >
            <option value="desc">Newest first</option>
            <option value="asc">Oldest first</option>
          </select>
        </label>
        {typed && (
          <label>
            Event type
            <input
              name="type"
              placeholder="order.created or order.*"
              value={draft.type}
              onInput={(e) => setDraft((d) => ({ ...d, type: e.currentTarget.value }))}
            />
          </label>
        )}
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(NO_FILTERS);
              setApplied(NO_FILTERS);
              cursors.reset();
            }}
          >
            Clear
          </button>
        </div>
      </form>

      <EventPages loaded={page} cursors={cursors} caption="Inbox" empty="No events match these filters." />
    </>
  );
}
