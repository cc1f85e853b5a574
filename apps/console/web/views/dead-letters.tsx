import { MAX_INBOX_LIMIT } from '@triggers/event-schema';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ConfirmDialog } from '../components/confirm.tsx';
import { EventPages, useCursors } from '../components/event-pages.tsx';
import { Notice } from '../components/notice.tsx';
import { fromLocalInput } from '../components/time.tsx';
import { TimeRangeFields, type TimeRangeValue } from '../components/time-range.tsx';
import { useChange, useFocusOnMount, useLoad } from '../hooks.ts';
import type { ViewProps } from './view.ts';

const PAGE_SIZE = 25;

type Range = TimeRangeValue;

/** The API's bounds of a range typed in local time. */
const bounds = (range: Range) => ({ from: fromLocalInput(range.from), to: fromLocalInput(range.to) });

/**
 * How many failed, unacknowledged events `POST /dlq/replay` would take in `range`: what the
 * confirmation states. Pages through `GET /inbox` and stops at the most one replay takes.
 */
async function countFailed(apiKey: string, range: Range): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await api(apiKey).inbox.list({
      status: 'failed',
      acked: false,
      ...bounds(range),
      limit: MAX_INBOX_LIMIT,
      cursor,
    });
    count += page.events.length;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined && count < MAX_INBOX_LIMIT);
  return Math.min(count, MAX_INBOX_LIMIT);
}

/**
 * Failed events with their reasons: retry one (`POST /inbox/{id}/retry`), or replay every one in
 * a time range (`POST /dlq/replay`) after a confirmation that says how many.
 */
export function DeadLetters({ apiKey }: ViewProps) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [draft, setDraft] = useState<Range>({ from: '', to: '' });
  const [applied, setApplied] = useState<Range>({ from: '', to: '' });
  const cursors = useCursors();
  const { cursor } = cursors;
  // The replay the dialog asks to confirm: how many, in which range (the one counted).
  const [pending, setPending] = useState<{ count: number; range: Range } | null>(null);

  const page = useLoad(
    (signal) =>
      api(apiKey).inbox.list(
        { status: 'failed', acked: false, ...bounds(applied), limit: PAGE_SIZE, cursor },
        { signal },
      ),
    [apiKey, applied, cursor],
  );

  const { busy, outcome, run } = useChange(page.reload);

  const retry = (eventId: string) =>
    run(async () => {
      await api(apiKey).inbox.retry(eventId);
      return `Event ${eventId.slice(0, 8)} was sent to the queue again.`;
    });

  // The range in the fields is the one replayed, applied first so the list shows it too: a
  // range typed but not applied was ignored, and every failed event replayed.
  const askReplay = () => {
    const range = draft;
    setApplied(range);
    cursors.reset();
    return run(async () => {
      const count = await countFailed(apiKey, range);
      if (count === 0) return { kind: 'info', text: 'No failed event to replay in this range.' };
      setPending({ count, range });
      return null;
    });
  };

  const replay = () => {
    if (pending === null) return;
    const { count: limit, range } = pending;
    setPending(null);
    return run(async () => {
      const result = await api(apiKey).dlq.replay({ ...bounds(range), limit });
      return `Replayed ${result.replayed} ${result.replayed === 1 ? 'event' : 'events'}: back on the queue, pending.`;
    });
  };

  // " received from 2026-12-01 10:00 before 2026-12-02 10:00", or nothing without a range.
  const rangeText = [
    applied.from === '' ? '' : ` from ${applied.from.replace('T', ' ')}`,
    applied.to === '' ? '' : ` before ${applied.to.replace('T', ' ')}`,
  ].join('');
  const received = rangeText === '' ? '' : ` received${rangeText}`;

  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Dead letters
      </h1>
      <p class="lede">
        Events that failed every attempt, or were routed to the dead-letter queue, and are not acknowledged. A
        replay sends them to the queue again as they were first sent.
      </p>
      <form
        class="filters card"
        aria-label="Dead letter filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(draft);
          cursors.reset();
        }}
      >
        <TimeRangeFields value={draft} onChange={setDraft} />
        <div class="actions">
          <button type="submit" class="secondary">
            Apply range
          </button>
          <button type="button" disabled={busy} onClick={askReplay}>
            Replay all in range…
          </button>
        </div>
      </form>

      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      <EventPages
        loaded={page}
        cursors={cursors}
        caption="Dead letters"
        empty={`No dead letters${received}.`}
        actions={(event) => (
          <button
            type="button"
            class="small"
            disabled={busy}
            aria-label={`Retry event ${event.event_id}`}
            onClick={() => retry(event.event_id)}
          >
            Retry
          </button>
        )}
      />

      <ConfirmDialog
        id="replay"
        open={pending !== null}
        title="Replay dead letters?"
        confirm={`Replay ${pending?.count} ${pending?.count === 1 ? 'event' : 'events'}`}
        onConfirm={replay}
        onClose={() => setPending(null)}
      >
        <p>
          This sends <strong data-testid="replay-count">{pending?.count}</strong> failed{' '}
          {pending?.count === 1 ? 'event' : 'events'}
          {received} back to the queue, oldest first
          {pending?.count === MAX_INBOX_LIMIT ? ` (at most ${MAX_INBOX_LIMIT} per replay)` : ''}. Each shows
          as pending until the consumer stores it or it fails again.
        </p>
      </ConfirmDialog>
    </>
  );
}
