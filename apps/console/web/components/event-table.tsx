import type { InboxEvent } from '@triggers/event-schema';
import type { ComponentChildren } from 'preact';
import { href } from '../route.ts';
import { StatusBadge } from './status.tsx';
import { Time } from './time.tsx';

/** An event with the `type` attribute the API adds with issue 10 (CloudEvents), when it has one. */
const typeOf = (event: InboxEvent): string | undefined => {
  const type = (event as InboxEvent & { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
};

/**
 * A list of events, one row each; the event id opens the event. `actions` adds a last column
 * (the dead letters' Retry button). A Type column appears once the API's events carry a `type`.
 */
export function EventTable({
  events,
  caption,
  actions,
}: {
  events: InboxEvent[];
  caption: string;
  actions?: (event: InboxEvent) => ComponentChildren;
}) {
  const typed = events.some((event) => typeOf(event) !== undefined);
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard.
    <section class="table-scroll" tabIndex={0} aria-label={caption}>
      <table class="events">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Event</th>
            {typed && <th scope="col">Type</th>}
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last error</th>
            {actions && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.event_id} data-event-id={event.event_id}>
              <td>
                <Time iso={event.received_at} />
              </td>
              <td>
                <a
                  class="mono"
                  href={href('events', event.event_id)}
                  aria-label={`Open event ${event.event_id}`}
                >
                  {event.event_id.slice(0, 8)}
                </a>
                {event.debug !== null && <span class="tag">debug: {event.debug}</span>}
              </td>
              {typed && <td class="mono">{typeOf(event) ?? '—'}</td>}
              <td>
                <StatusBadge status={event.status} />
              </td>
              <td>{event.attempts}</td>
              <td class="error-cell">{event.last_error ?? '—'}</td>
              {actions && <td>{actions(event)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
