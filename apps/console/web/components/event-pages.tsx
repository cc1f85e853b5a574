import type { InboxEvent, InboxPage } from '@triggers/event-schema';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { describeFailure } from '../api.ts';
import type { Loaded } from '../hooks.ts';
import { EventTable } from './event-table.tsx';
import { Notice } from './notice.tsx';

/**
 * The cursors of the pages of a list walked so far: the last is the page shown (undefined: the
 * first page). Cursor paging only goes forward; going back returns to a cursor already seen.
 */
export function useCursors() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors.at(-1),
    page: cursors.length,
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    back: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    reset: () => setCursors([undefined]),
  };
}

/** A page of events (loading, failed, empty or a table) with Previous, Next and Refresh below. */
export function EventPages({
  loaded,
  cursors,
  caption,
  empty,
  actions,
}: {
  loaded: Loaded<InboxPage['data']>;
  cursors: ReturnType<typeof useCursors>;
  caption: string;
  empty: string;
  actions?: (event: InboxEvent) => ComponentChildren;
}) {
  const { data, error } = loaded;
  const next = data?.next_cursor ?? null;
  return (
    <>
      {error !== undefined && <Notice kind="error">{describeFailure(error)}</Notice>}
      {data === undefined ? (
        error === undefined && <p>Loading…</p>
      ) : data.events.length === 0 ? (
        <p class="empty">{empty}</p>
      ) : (
        <EventTable events={data.events} caption={`${caption}, page ${cursors.page}`} actions={actions} />
      )}
      <nav class="pager" aria-label={`${caption} pages`}>
        <button type="button" class="secondary" disabled={cursors.page === 1} onClick={cursors.back}>
          Previous page
        </button>
        <span>Page {cursors.page}</span>
        <button
          type="button"
          class="secondary"
          disabled={loaded.loading || next === null}
          onClick={() => next !== null && cursors.next(next)}
        >
          Next page
        </button>
        <button type="button" class="secondary" onClick={loaded.reload}>
          Refresh
        </button>
      </nav>
    </>
  );
}
